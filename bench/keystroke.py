#!/usr/bin/env python3
"""keystroke.py N -- CMD...: run CMD on a fresh pseudo-terminal, wait until
it has started, then type N single keys one at a time and time each from
the write to its echo coming back (the echo of the innermost terminal's
line discipline, through every relay in between). Prints the median, the
90th percentile and the mean in microseconds, as `median p90 mean`."""
import os
import pty
import select
import signal
import statistics
import sys
import time


def main():
    n = int(sys.argv[1])
    cmd = sys.argv[3:] if sys.argv[2] == "--" else sys.argv[2:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    # let it start, and throw away what it printed
    end = time.monotonic() + 3.0
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            os.read(fd, 65536)
    samples = []
    keys = b"abcdefghijklmnopqrstuvwxyz"
    for i in range(n):
        k = keys[i % len(keys):i % len(keys) + 1]
        t0 = time.perf_counter_ns()
        os.write(fd, k)
        got = b""
        while k not in got:
            r, _, _ = select.select([fd], [], [], 5.0)
            if not r:
                sys.exit("keystroke.py: no echo within 5 s")
            got += os.read(fd, 4096)
        samples.append((time.perf_counter_ns() - t0) / 1000.0)
        if i % 50 == 49:
            os.write(fd, b"\x15")  # ^U: keep the line short
            time.sleep(0.05)
            while select.select([fd], [], [], 0.05)[0]:
                os.read(fd, 65536)
    os.kill(pid, signal.SIGTERM)
    samples.sort()
    print("%.0f %.0f %.0f" % (statistics.median(samples), samples[int(len(samples) * 0.9)],
                              statistics.mean(samples)))


if __name__ == "__main__":
    main()
