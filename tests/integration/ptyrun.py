#!/usr/bin/env python3
"""ptyrun.py [--input STR] [--input-after SECS] [--intr-after SECS] [--susp-after SECS]
             [--send SECS:TEXT]... [--size ROWS,COLS] [--resize-after SECS --resize ROWS,COLS]
             [--hangup-after SECS] [--on TEXT SEND]... [--timeout SECS] -- CMD...

Run CMD as the session leader of a new pseudo-terminal (its controlling
tty), type STR into the terminal after --input-after seconds, send the
terminal's interrupt character (^C) after --intr-after seconds, copy all
terminal output to stdout. Exit with CMD's status (128+N if killed by
signal N); --susp-after types the suspend character (^Z) likewise.
124 if it did not end within --timeout (it is then killed).
Elapsed seconds are printed to stderr as "elapsed=S", and how CMD ended as
"status=exited:N" or "status=signaled:N".
--after-output TEXT: every SECS above counts from the moment TEXT first
appears in the terminal's output (a state the test waits for, not a guess
of how long start-up takes); nothing is typed before.
--send types TEXT (Python escapes: \\x1b, \\n, \\x04) at SECS; --size sets
the terminal's window size at the start, --resize changes it later (the
kernel then sends SIGWINCH to the terminal's foreground job); --hangup-after
closes the terminal (a hang-up: its session gets SIGHUP).
--on TEXT SEND: types SEND (escapes as for --send) once TEXT appears in the
output; the --on steps go in order, each looking only at what came after
the TEXT of the one before (a script of "when the shell shows this, type
that", for steps that load must not reorder). Choose each TEXT so that the
echo of what was typed before it cannot contain it: type "echo A-$((1+1))",
wait for "A-2".
"""
import argparse
import errno
import fcntl
import struct
import termios
import os
import pty
import select
import signal
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", default=None)
    ap.add_argument("--input-after", type=float, default=0.5)
    ap.add_argument("--intr-after", type=float, default=None)
    ap.add_argument("--susp-after", type=float, default=None)
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--send", action="append", default=[])
    ap.add_argument("--size", default=None)
    ap.add_argument("--resize-after", type=float, default=None)
    ap.add_argument("--resize", default=None)
    ap.add_argument("--hangup-after", type=float, default=None)
    ap.add_argument("--after-output", default=None)
    ap.add_argument("--on", nargs=2, action="append", default=[], metavar=("TEXT", "SEND"))
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        ap.error("no command")

    def winsize(fd, spec):
        rows, cols = (int(x) for x in spec.split(","))
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    sends = []
    for item in a.send:
        when, _, text = item.partition(":")
        sends.append([float(when), text.encode().decode("unicode_escape").encode("latin-1")])
    steps = [(t.encode(), x.encode().decode("unicode_escape").encode("latin-1")) for t, x in a.on]
    since = b""  # output after the last --on step's TEXT
    start = time.monotonic()
    pid, fd = pty.fork()
    if pid != 0 and a.size:
        winsize(fd, a.size)
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        except OSError as e:
            sys.stderr.write("ptyrun: exec %s: %s\n" % (cmd[0], e))
        os._exit(127)

    out = sys.stdout.buffer
    status = None
    input_sent = a.input is None
    intr_sent = a.intr_after is None
    susp_sent = a.susp_after is None
    eof = False
    resized = a.resize_after is None
    hung_up = False
    gate = a.after_output.encode() if a.after_output else None
    origin = None if gate else start
    seen = b""
    while True:
        elapsed = time.monotonic() - start
        # before the gate opens, no action is due (now < every SECS)
        now = time.monotonic() - origin if origin is not None else -1e9
        for item in sends:
            if item[1] is not None and now >= item[0] and not hung_up:
                os.write(fd, item[1])
                item[1] = None
        if not resized and now >= a.resize_after:
            winsize(fd, a.resize)
            resized = True
        if a.hangup_after is not None and not hung_up and now >= a.hangup_after:
            os.close(fd)
            hung_up = True
            eof = True
        if not input_sent and now >= a.input_after and not hung_up:
            os.write(fd, a.input.encode())
            input_sent = True
        if not intr_sent and now >= a.intr_after:
            os.write(fd, b"\x03")
            intr_sent = True
        if not susp_sent and now >= a.susp_after:
            os.write(fd, b"\x1a")
            susp_sent = True
        if status is None:
            wpid, st = os.waitpid(pid, os.WNOHANG)
            if wpid == pid:
                status = st
        if status is not None and eof:
            break
        if elapsed > a.timeout:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if status is None:
                os.waitpid(pid, 0)
            out.flush()
            sys.stderr.write("ptyrun: timed out after %.1fs\nelapsed=%.2f\n" % (a.timeout, elapsed))
            return 124
        if eof:
            # the child still runs but the terminal is gone: just wait
            time.sleep(0.02)
            continue
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError as e:
                if e.errno != errno.EIO:
                    raise
                data = b""
            if not data:
                eof = True
            else:
                out.write(data)
                out.flush()
                since = (since + data)[-65536:]
                while steps and steps[0][0] in since and not hung_up:
                    since = since[since.index(steps[0][0]) + len(steps[0][0]):]
                    os.write(fd, steps[0][1])
                    steps.pop(0)
                if origin is None:
                    seen = (seen + data)[-4096:]
                    if gate in seen:
                        origin = time.monotonic()
        elif status is not None:
            # child gone and nothing more to read (another process may hold
            # the terminal open): stop after a short grace period
            eof = True
    sys.stderr.write("elapsed=%.2f\n" % (time.monotonic() - start))
    if os.WIFSIGNALED(status):
        sys.stderr.write("status=signaled:%d\n" % os.WTERMSIG(status))
        return 128 + os.WTERMSIG(status)
    sys.stderr.write("status=exited:%d\n" % os.WEXITSTATUS(status))
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main())
