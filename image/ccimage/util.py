"""Helpers shared by image/build's modules."""

import hashlib
import subprocess
import sys


class BuildError(Exception):
    """A failure with a one-line explanation for the user."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_tool(argv, what, check=True, **kw):
    """Run a command, capturing its output. With check, a failure becomes a
    BuildError that says why (its last line of stderr)."""
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, check=False, **kw)
    except FileNotFoundError as exc:
        raise BuildError("%s: %s not found (run image/install-deps)"
                         % (what, argv[0])) from exc
    if check and proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        if "No space left on device" in err or "ENOSPC" in err:
            raise BuildError("disk full: %s" % what)
        last = err.splitlines()[-1] if err else "exit status %d" % proc.returncode
        raise BuildError("%s: %s" % (what, last))
    return proc


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
