"""Where things are: the image prefix, the /usr merge, and the small file
helpers every step uses (image-relative paths throughout)."""

import os

PREFIX = "/dev/crashcart"
TRIPLET = "x86_64-linux-gnu"
INTERP = PREFIX + "/lib/" + TRIPLET + "/ld-linux-x86-64.so.2"
LIBDIRS = ["lib/" + TRIPLET, "lib"]          # default run path, image-relative
USRMERGE = {"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib",
            "lib64": "usr/lib64"}


def merged(rel):
    top, _, rest = rel.partition("/")
    if top in USRMERGE:
        return USRMERGE[top] + ("/" + rest if rest else "")
    return rel


def make_link(root, rel, target):
    path = os.path.join(root, rel)
    if os.path.lexists(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.symlink(target, path)


def relative_link(rel, target):
    """Symlink target seen from image-relative `rel`, made image-relative."""
    target = merged(os.path.normpath(target).lstrip("/"))
    return os.path.relpath(target, os.path.dirname(rel) or ".")


def walk_files(root):
    """All image-relative paths, sorted, directories included."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        for name in dirnames + filenames:
            out.append(os.path.normpath(os.path.join(rel, name)))
    return sorted(out)


def write(root, rel, text, mode=0o644):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.lexists(path):
        os.unlink(path)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)
