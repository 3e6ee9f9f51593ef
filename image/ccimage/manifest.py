"""Normalised modes and times, and the manifest (image/README.md,
"Manifest")."""

import os
import stat

from .paths import PREFIX, walk_files
from .util import sha256_file


def normalize(root, epoch):
    """Modes readable by anyone, no set-id bits, fixed times."""
    as_root = os.geteuid() == 0
    for rel in walk_files(root) + ["."]:
        path = os.path.join(root, rel)
        if as_root:                     # debs may own files by other users
            os.lchown(path, 0, 0)
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            pass
        elif stat.S_ISDIR(st.st_mode):
            os.chmod(path, 0o755)
        elif stat.S_ISREG(st.st_mode):
            os.chmod(path, 0o755 if st.st_mode & 0o111 else 0o644)
        else:
            os.unlink(path)             # no devices, fifos or sockets
            continue
        os.utime(path, (epoch, epoch), follow_symlinks=False)


def manifest(root, pkginfo, local, fmt, epoch, sources):
    lines = ["# crashcart image manifest",
             "format %s" % fmt,
             "source-date-epoch %d" % epoch,
             "prefix %s" % PREFIX]
    for uri, suite, comps in sources:
        lines.append("archive %s %s %s" % (uri, suite, " ".join(comps)))
    lines.append("")
    lines.append("# package version architecture sha256-of-deb")
    for name, version, arch, digest in pkginfo:
        lines.append("package %s %s %s %s" % (name, version, arch, digest))
    for name, version, digest in local:
        lines.append("package %s %s local %s" % (name, version, digest))
    lines.append("")
    lines.append("# sha256 mode path [-> symlink target]; directories omitted")
    for rel in walk_files(root):
        path = os.path.join(root, rel)
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            lines.append("%s %s %s -> %s" % ("-" * 64, "link", rel,
                                             os.readlink(path)))
        elif stat.S_ISREG(st.st_mode):
            lines.append("%s %04o %s" % (sha256_file(path),
                                         stat.S_IMODE(st.st_mode), rel))
    return "\n".join(lines) + "\n"
