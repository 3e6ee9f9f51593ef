"""Relocation: every ELF object and script of the staging tree made to run
from /dev/crashcart in a container that has no libc (image/README.md,
"Relocation"): loader, run paths, DF_1_NODEFLIB, compiled-in paths, shebangs,
and the check that every library loaded is in the image."""

import concurrent.futures
import os
import re
import stat
import struct

from .paths import PREFIX, TRIPLET, INTERP, LIBDIRS, merged, make_link, walk_files
from .util import BuildError, log, run_tool

EM_X86_64 = 62

# Paths compiled into libraries that a relocated program must not take from
# the container. Each is replaced, in the files that contain it, by a path of
# the same or shorter length into the image (the rest padded with NULs); the
# short names are symlinks at the image root. (old, new, {alias: target}).
STRING_PATCHES = [
    ("/etc/ld.so.cache", PREFIX + "/c", {"c": "etc/ld.so.cache"}),
    # The container's preload list must never be loaded into our tools.
    ("/etc/ld.so.preload", PREFIX + "/-", {}),
    ("/etc/nsswitch.conf", PREFIX + "/n", {"n": "etc/nsswitch.conf"}),
    ("/etc/manpath.config", PREFIX + "/m", {"m": "etc/manpath.config"}),
    ("/etc/terminfo:/lib/terminfo:/usr/share/terminfo",
     PREFIX + "/lib/terminfo:" + PREFIX + "/ti", {"ti": "usr/share/terminfo"}),
    ("/etc/magic:/usr/share/misc/magic", PREFIX + "/magic",
     {"magic.mgc": "usr/lib/file/magic.mgc"}),
    # man-db runs its helpers by absolute path
    ("/usr/libexec/man-db/zsoelim", PREFIX + "/mx/zsoelim",
     {"mx": "usr/libexec/man-db"}),
    ("/usr/libexec/man-db/manconv", PREFIX + "/mx/manconv", {}),
    # valgrind finds its tools and preload objects under VG_LIBDIR
    ("/usr/libexec/valgrind", PREFIX + "/vg", {"vg": "usr/libexec/valgrind"}),
    ("/usr/lib/" + TRIPLET + "/gconv/gconv-modules.cache",
     PREFIX + "/gconv/gconv-modules.cache", {}),
    ("/usr/lib/" + TRIPLET + "/gconv", PREFIX + "/gconv",
     {"gconv": "usr/lib/" + TRIPLET + "/gconv"}),
]


class Elf:
    """The few facts about an ELF file that relocation needs."""

    def __init__(self, path):
        self.path = path
        self.machine = None
        self.elfclass = None
        self.etype = None
        self.interp = None
        self.dynamic = False
        self.needed = []
        self.runpath = []
        with open(path, "rb") as f:
            data = f.read()
        self.elfclass = data[4]
        if self.elfclass != 2 or data[5] != 1:
            self.machine = struct.unpack_from("<H", data, 18)[0] if len(data) > 20 else 0
            return
        (self.etype, self.machine, _v, _entry, phoff, _shoff, _flags, _ehs,
         phentsize, phnum) = struct.unpack_from("<HHIQQQIHHH", data, 16)
        loads = []
        dyn = None
        for i in range(phnum):
            p_type, _pf, off, vaddr, _pa, filesz, _mem, _al = struct.unpack_from(
                "<IIQQQQQQ", data, phoff + i * phentsize)
            if p_type == 1:
                loads.append((vaddr, off, filesz))
            elif p_type == 2:
                dyn = (off, filesz)
            elif p_type == 3:
                self.interp = data[off:off + filesz].rstrip(b"\0").decode()
        if dyn is None:
            return
        self.dynamic = True
        entries = []
        for i in range(dyn[1] // 16):
            tag, val = struct.unpack_from("<qQ", data, dyn[0] + i * 16)
            if tag == 0:
                break
            entries.append((tag, val))
        strtab = [v for t, v in entries if t == 5]
        if not strtab:
            return
        base = None
        for vaddr, off, filesz in loads:
            if vaddr <= strtab[0] < vaddr + filesz:
                base = strtab[0] - vaddr + off
        if base is None:
            return

        def string(o):
            end = data.index(b"\0", base + o)
            return data[base + o:end].decode(errors="replace")
        for tag, val in entries:
            if tag == 1:
                self.needed.append(string(val))
            elif tag in (15, 29):
                self.runpath.extend(p for p in string(val).split(":") if p)


def is_elf(path):
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def find_lib(root, name, dirs):
    for d in dirs:
        cand = os.path.join(root, d.lstrip("/"), name)
        if os.path.exists(cand):
            return True
    return False


def check_needed(root, owner, searches, libdirs):
    """Every library a program loads, and what those load in turn, must be
    in the image: not just the programs' own NEEDED entries (nmap loads
    liblapack.so.3, which needs libblas.so.3, an alternative). Libraries in
    the library directories count as loaded (dlopen by name); a plug-in
    elsewhere that nothing links to only warns (iproute2's tc/q_atm.so
    needs libatm1, a Recommends: `tc` fails for ATM qdiscs alone)."""
    def lookup(name, search):
        for d in search:
            cand = os.path.join(root, d.lstrip("/"), name)
            if os.path.exists(cand):
                return os.path.relpath(os.path.realpath(cand), root)
        return None
    queue = sorted(rel for rel, (elf, _s) in searches.items()
                   if elf.interp or os.path.dirname(rel) in libdirs)
    seen = set(queue)
    errors = []
    while queue:
        rel = queue.pop(0)
        elf, search = searches[rel]
        for lib in elf.needed:
            found = lookup(lib, search)
            if found is None:
                errors.append("%s (package %s): needs %s, which no package "
                              "in the image provides" % (rel, owner.get(rel, "?"), lib))
            elif found in searches and found not in seen:
                seen.add(found)
                queue.append(found)
    plugins = {}
    for rel in sorted(set(searches) - seen):
        elf, search = searches[rel]
        for lib in elf.needed:
            if lookup(lib, search) is None:
                plugins.setdefault(owner.get(rel, "?"), []).append((rel, lib))
    for pkg, items in sorted(plugins.items()):
        log("warning: %d plug-in(s) of %s need a library the image lacks (e.g. "
            "%s needs %s)" % (len(items), pkg, items[0][0], items[0][1]))
    return errors


def relocate(root, owner, jobs):
    """Patch interpreter + run path of every ELF object; returns counts."""
    elves = []
    inodes = set()      # hard links (bzip2, bzcat, ...) are patched once
    for rel in walk_files(root):
        path = os.path.join(root, rel)
        if os.path.islink(path) or not os.path.isfile(path) or not is_elf(path):
            continue
        st = os.stat(path)
        if (st.st_dev, st.st_ino) in inodes:
            continue
        inodes.add((st.st_dev, st.st_ino))
        elves.append((rel, Elf(path)))
    libdirs = set(LIBDIRS)
    conf = os.path.join(root, "etc/ld.so.conf.d")
    if os.path.isdir(conf):
        for name in sorted(os.listdir(conf)):
            with open(os.path.join(conf, name), encoding="utf-8") as f:
                for line in f:
                    line = line.split("#")[0].strip()
                    if line.startswith("/") and os.path.isdir(os.path.join(root, merged(line.lstrip("/")))):
                        libdirs.add(merged(line.lstrip("/")))
    errors = []
    work = []
    skipped = 0
    searches = {}
    for rel, elf in elves:
        pkg = owner.get(rel, "?")
        if elf.etype not in (2, 3):       # objects, core files: not loaded
            continue
        if elf.elfclass != 2 or elf.machine != EM_X86_64:
            if elf.interp is not None or rel.startswith(("usr/bin/", "usr/sbin/")):
                errors.append("%s (package %s): ELF for machine %s, class %s, "
                              "not x86-64; it cannot run here"
                              % (rel, pkg, elf.machine, elf.elfclass))
            skipped += 1
            continue
        if not elf.dynamic:
            continue                      # static: runs anywhere as it is
        if os.path.basename(rel).startswith("ld-linux"):
            continue
        if elf.interp and elf.interp != "/lib64/ld-linux-x86-64.so.2":
            errors.append("%s (package %s): interpreter %s is not the image's "
                          "glibc loader" % (rel, pkg, elf.interp))
            continue
        own = []
        for p in elf.runpath:
            if p.startswith("$ORIGIN") or p.startswith("${ORIGIN}"):
                own.append(p)
            elif p.startswith("/"):
                own.append(PREFIX + "/" + merged(p.lstrip("/")))
        rpath = own + [PREFIX + "/" + d for d in LIBDIRS]
        search = [os.path.join(os.path.dirname(rel), p.split("/", 1)[1])
                  if p.startswith("$ORIGIN/") else
                  os.path.dirname(rel) if p in ("$ORIGIN", "${ORIGIN}") else
                  p[len(PREFIX):] for p in rpath] + sorted(libdirs)
        searches[rel] = (elf, search)
        if not elf.needed and not elf.interp:
            continue
        argv = ["patchelf"]
        if elf.interp:
            argv += ["--set-interpreter", INTERP]
        argv += ["--set-rpath", ":".join(rpath), os.path.join(root, rel)]
        work.append((rel, pkg, argv))
    errors += check_needed(root, owner, searches, libdirs)
    if errors:
        raise BuildError("cannot relocate " + errors[0] +
                         ("" if len(errors) == 1 else
                          " (and %d more; see above)" % (len(errors) - 1)),
                         errors)

    def patch(item):
        rel, pkg, argv = item
        path = argv[-1]
        mode = os.stat(path).st_mode
        os.chmod(path, mode | stat.S_IWUSR)
        run_tool(argv, "cannot relocate %s (package %s): patchelf failed" % (rel, pkg))
        if not set_nodeflib(path):
            run_tool(["patchelf", "--no-default-lib", path],
                "cannot relocate %s (package %s): patchelf failed" % (rel, pkg))
        return rel

    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        list(pool.map(patch, work))
    return len(work), sorted(libdirs)


DT_FLAGS_1 = 0x6ffffffb
DF_1_NODEFLIB = 0x800


def set_nodeflib(path):
    """Set DF_1_NODEFLIB in place: ld.so's last resort for a library that
    neither the run path nor the cache has (top's dlopen("libnuma.so")) is
    /lib and /usr/lib, in a container the container's. False when the file
    has no DT_FLAGS_1 to set it in (then patchelf adds one; not together with
    --set-rpath: patchelf 0.14 drops the flag then)."""
    with open(path, "r+b") as f:
        data = f.read()
        phoff, = struct.unpack_from("<Q", data, 32)
        phentsize, phnum = struct.unpack_from("<HH", data, 54)
        for i in range(phnum):
            p_type, _pf, off, _va, _pa, filesz = struct.unpack_from(
                "<IIQQQQ", data, phoff + i * phentsize)
            if p_type != 2:               # PT_DYNAMIC
                continue
            for at in range(off, off + filesz - 15, 16):
                tag, val = struct.unpack_from("<qQ", data, at)
                if tag == 0:
                    break
                if tag == DT_FLAGS_1:
                    f.seek(at + 8)
                    f.write(struct.pack("<Q", val | DF_1_NODEFLIB))
                    return True
    return False


def patch_strings(root, patches):
    """Point compiled-in configuration paths into the image. `patches` is a
    list of (old, new, links) like STRING_PATCHES. Returns the number of
    files changed and, for each old path, the files it was found in."""
    patched = 0
    found = {old: [] for old, _repl, _links in patches}
    for rel in walk_files(root):
        path = os.path.join(root, rel)
        if os.path.islink(path) or not os.path.isfile(path) or not is_elf(path):
            continue
        with open(path, "rb") as f:
            data = f.read()
        new = data
        for old, repl, _links in patches:
            o = old.encode() + b"\0"
            r = repl.encode()
            assert len(r) <= len(old)
            if o in new:
                found[old].append(rel)
                new = new.replace(o, r + b"\0" * (len(o) - len(r)))
        if new != data:
            mode = os.stat(path).st_mode
            os.chmod(path, mode | stat.S_IWUSR)
            with open(path, "r+b") as f:
                f.write(new)
            patched += 1
    for _old, _repl, links in patches:
        for alias, target in links.items():
            make_link(root, alias, target)
    return patched, found


def rewrite_shebangs(root):
    """#!/usr/bin/perl -> #!/dev/crashcart/usr/bin/perl; returns (n, missing)."""
    count = 0
    missing = []
    for rel in walk_files(root):
        path = os.path.join(root, rel)
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        if not os.stat(path).st_mode & 0o111:
            continue
        with open(path, "rb") as f:
            head = f.read(256)
        if not head.startswith(b"#!"):
            continue
        line = head.split(b"\n", 1)[0][2:].strip()
        if not line.startswith(b"/") or line.startswith(PREFIX.encode()):
            continue
        interp = line.split()[0].decode(errors="replace")
        if not os.path.lexists(os.path.join(root, merged(interp.lstrip("/")))):
            missing.append((rel, interp))
            continue
        with open(path, "rb") as f:
            body = f.read()
        first, nl, rest = body.partition(b"\n")
        first = b"#!" + PREFIX.encode() + b"/" + merged(
            first[2:].strip().decode(errors="surrogateescape").lstrip("/")).encode(
                errors="surrogateescape")
        mode = os.stat(path).st_mode
        os.chmod(path, mode | stat.S_IWUSR)
        with open(path, "wb") as f:
            f.write(first + nl + rest)
        count += 1
    return count, missing


def fix_ldd(root):
    """ldd looks for the loader at the host's paths; point it at ours."""
    path = os.path.join(root, "usr/bin/ldd")
    if not os.path.isfile(path):
        return
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        text = f.read()
    text = re.sub(r'^RTLDLIST=.*$', 'RTLDLIST="%s"' % INTERP, text, flags=re.M)
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write(text)
