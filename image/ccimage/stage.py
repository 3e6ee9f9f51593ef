"""Staging: unpack the .debs, merge them into one tree with /usr merged,
drop what a debugging image does not need, and do what maintainer scripts
would have done for update-alternatives."""

import os
import re
import shutil
import struct
import subprocess

from .archive import ARCH
from .paths import TRIPLET, merged, make_link, relative_link
from .util import BuildError, run_tool

# update-alternatives links that maintainer scripts would have made, for the
# postinsts that compute them in loops; first existing target wins.
FALLBACK_ALTERNATIVES = {
    "usr/bin/vi": ["usr/bin/vim.basic", "usr/bin/vim.tiny"],
    "usr/bin/vim": ["usr/bin/vim.basic", "usr/bin/vim.tiny"],
    "usr/bin/view": ["usr/bin/vim.basic", "usr/bin/vim.tiny"],
    "usr/bin/editor": ["usr/bin/vim.basic", "usr/bin/vim.tiny"],
    "usr/bin/nc": ["usr/bin/nc.openbsd", "usr/bin/nc.traditional"],
    "usr/bin/netcat": ["usr/bin/nc.openbsd", "usr/bin/nc.traditional"],
    "usr/bin/awk": ["usr/bin/gawk", "usr/bin/mawk"],
    "usr/bin/pager": ["usr/bin/less"],
    "usr/bin/sh": ["usr/bin/dash", "usr/bin/bash"],
    "usr/bin/traceroute": ["usr/bin/traceroute.db"],
    "usr/bin/traceroute6": ["usr/bin/traceroute6.db"],
}
for _t in ("iptables", "ip6tables", "arptables", "ebtables"):
    for _s in ("", "-save", "-restore"):
        FALLBACK_ALTERNATIVES["usr/sbin/" + _t + _s] = [
            "usr/sbin/%s-nft%s" % (_t, _s), "usr/sbin/%s-legacy%s" % (_t, _s)]

# Not worth their space in a debugging image (copyright files are kept).
DROP_DIRS = ["usr/share/locale", "usr/share/info", "usr/share/lintian",
             "usr/share/bug", "usr/share/bash-completion", "usr/share/zsh",
             "usr/share/fish", "usr/share/gdb/auto-load", "usr/lib/debug",
             "usr/share/doc-base", "usr/share/menu", "var/cache",
             "var/log", "run", "usr/share/man/(?!man).*",  # translations
             "lib/systemd", "usr/lib/systemd", "etc/systemd", "etc/init.d",
             "etc/cron.daily", "etc/logrotate.d"]


def extract(deb, dest):
    os.makedirs(dest)
    run_tool(["dpkg-deb", "-x", deb, dest], "unpacking %s" % os.path.basename(deb))
    try:
        postinst = subprocess.run(["dpkg-deb", "-I", deb, "postinst"],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, check=False).stdout
    except OSError:
        postinst = b""
    return postinst.decode(errors="replace")


def resolve_dir(root, reldir, hops=0):
    """The real image-relative directory for `reldir`, following the
    symlinks already in the staging tree the way dpkg follows those on disk
    (libperl5.36's usr/lib/x86_64-linux-gnu/perl/5.36 -> 5.36.0, into which
    other perl packages unpack). Missing directories are made; a file where
    a directory is needed gives way to the directory."""
    cur = ""
    for part in reldir.split("/"):
        if part in ("", "."):
            continue
        nxt = os.path.join(cur, part) if cur else part
        path = os.path.join(root, nxt)
        if os.path.islink(path):
            if hops > 40:
                raise BuildError("symlink loop at %s" % nxt)
            target = os.readlink(path)
            if target.startswith("/"):
                target = merged(os.path.normpath(target.lstrip("/")))
            else:
                target = os.path.normpath(os.path.join(cur, target))
            if target == ".." or target.startswith("../"):
                raise BuildError("symlink %s leaves the image" % nxt)
            nxt = resolve_dir(root, target, hops + 1)
        elif not os.path.isdir(path):
            if os.path.lexists(path):
                os.unlink(path)
            os.mkdir(path)
        cur = nxt
    return cur


def dir_links(src):
    """A package's symlinks to its own directories (os.walk lists them
    among the directories): merged before any package's files, so that
    files other packages put beneath them go where the link points, as if
    the package holding the link had been unpacked first (its dependants
    are, by dpkg)."""
    out = []
    for dirpath, dirnames, _filenames in os.walk(src):
        for d in dirnames:
            if os.path.islink(os.path.join(dirpath, d)):
                out.append(os.path.normpath(os.path.join(os.path.relpath(dirpath, src), d)))
    return sorted(out)


def merge_into(src, root, owner, pkg, only=None):
    """Move one unpacked package into the staging root, merging /usr.
    `only`: move just these package-relative paths (dir_links)."""
    if only is not None:
        for rel in only:
            _move(os.path.join(src, rel), root, merged(rel), owner, pkg)
        return
    for dirpath, dirnames, filenames in os.walk(src):
        reldir = merged(os.path.normpath(os.path.relpath(dirpath, src)))
        dirnames.sort()
        resolve_dir(root, reldir)
        for name in sorted(filenames) + [d for d in dirnames
                                         if os.path.islink(os.path.join(dirpath, d))]:
            _move(os.path.join(dirpath, name), root,
                  os.path.normpath(os.path.join(reldir, name)), owner, pkg)


def _move(path, root, rel, owner, pkg):
    parent = resolve_dir(root, os.path.dirname(rel))
    rel = os.path.join(parent, os.path.basename(rel)) if parent else os.path.basename(rel)
    dst = os.path.join(root, rel)
    if os.path.isdir(dst) and not os.path.islink(dst):
        return                  # a directory stays a directory (dpkg)
    if os.path.lexists(dst):
        os.unlink(dst)
    os.rename(path, dst)
    owner[rel] = pkg


def drop(root, patterns):
    for pat in patterns:
        parent, _, leaf = pat.rpartition("/")
        pdir = os.path.join(root, parent)
        if not os.path.isdir(pdir):
            continue
        for name in os.listdir(pdir):
            if re.fullmatch(leaf, name):
                path = os.path.join(pdir, name)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)


def prune_docs(root):
    """Keep only the copyright files of /usr/share/doc (licences travel with
    the binaries); examples and changelogs are not worth their space."""
    doc = os.path.join(root, "usr/share/doc")
    if not os.path.isdir(doc):
        return
    for pkg in os.listdir(doc):
        path = os.path.join(doc, pkg)
        if os.path.islink(path) or not os.path.isdir(path):
            continue
        for name in os.listdir(path):
            if name != "copyright":
                sub = os.path.join(path, name)
                if os.path.isdir(sub) and not os.path.islink(sub):
                    shutil.rmtree(sub)
                else:
                    os.unlink(sub)


def build_id(path):
    """The GNU build-id of an ELF file, as hex, or None."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return None
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        p_type, _pf, off, _va, _pa, filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize)
        if p_type != 4:                   # PT_NOTE
            continue
        at = off
        while at + 12 <= off + filesz:
            namesz, descsz, ntype = struct.unpack_from("<III", data, at)
            name_end = at + 12 + ((namesz + 3) & ~3)
            if ntype == 3 and data[at + 12:at + 12 + namesz] == b"GNU\0":
                return data[name_end:name_end + descsz].hex()
            at = name_end + ((descsz + 3) & ~3)
    return None


def keep_ld_debug(root):
    """valgrind needs ld.so's symbols (it redirects strlen in it): keep the
    loader's debug file from libc6-dbg, the only one of usr/lib/debug
    (dropped), beside the loader as .debug/<debuglink name>, where valgrind
    and gdb look for it next to the object, inside the image."""
    ld = os.path.join(root, "usr/lib", TRIPLET, "ld-linux-x86-64.so.2")
    if not os.path.isfile(ld):
        return
    bid = build_id(ld)
    if not bid:
        return
    src = os.path.join(root, "usr/lib/debug/.build-id", bid[:2], bid[2:] + ".debug")
    if not os.path.isfile(src):
        return
    dest = os.path.join(root, "usr/lib", TRIPLET, ".debug")
    os.makedirs(dest, exist_ok=True)
    os.rename(src, os.path.join(dest, bid[2:] + ".debug"))


def expand_simple_vars(script):
    """Expand $VAR and ${VAR} for the plain assignments of a maintainer
    script (`multiarch=x86_64-linux-gnu`, `DIR="/usr/lib/$multiarch"`), in
    order; anything computed (`$(...)`, loops) stays unexpanded."""
    values = {"DPKG_MAINTSCRIPT_ARCH": ARCH, "DEB_HOST_MULTIARCH": TRIPLET}
    out = []

    def sub(m):
        return values.get(m.group(1) or m.group(2), m.group(0))
    for line in script.split("\n"):
        line = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", sub, line)
        m = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)=(\"?)([^\"$`'\s;|&]*)\2\s*", line)
        if m:
            values[m.group(1)] = m.group(3)
        out.append(line)
    return "\n".join(out)


def alternatives(root, postinsts):
    """Recreate update-alternatives links (highest priority wins)."""
    best = {}
    pat = re.compile(r"update-alternatives\s+(?:--\S+\s+)*--install\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+)"
                     r"((?:\s*\\?\s*--slave\s+\S+\s+\S+\s+\S+)*)")
    for text in postinsts:
        text = expand_simple_vars(re.sub(r"\\\n", " ", text))
        for m in pat.finditer(text):
            link, _name, path, prio, slaves = m.groups()
            if "$" in link + path:
                continue
            links = [(link, path)] + re.findall(r"--slave\s+(\S+)\s+\S+\s+(\S+)", slaves)
            for lnk, tgt in links:
                if "$" in lnk + tgt:
                    continue
                key = merged(lnk.lstrip("/"))
                if os.path.lexists(os.path.join(root, merged(tgt.lstrip("/")))):
                    if key not in best or best[key][0] < int(prio):
                        best[key] = (int(prio), tgt)
    for key in sorted(best):
        make_link(root, key, relative_link(key, best[key][1]))
    for key, targets in FALLBACK_ALTERNATIVES.items():
        for tgt in targets:
            if os.path.lexists(os.path.join(root, tgt)):
                make_link(root, key, os.path.relpath(tgt, os.path.dirname(key)))
                break
