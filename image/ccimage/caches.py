"""The caches maintainer scripts would have built, for the image's paths:
the ld.so cache, the gconv module cache, the CA bundle."""

import os
import shutil
import subprocess
import tempfile

from .paths import PREFIX, TRIPLET
from .util import log


def ld_cache(root, libdirs):
    """Build etc/ld.so.cache with the image's own paths, using ldconfig in a
    user namespace chrooted to a tree where the image sits at /dev/crashcart.
    Returns False when user namespaces are unavailable (the run paths alone
    still find every library)."""
    conf = os.path.join(root, "etc/ld.so.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write("# crashcart: the image's library directories\n")
        for d in libdirs:
            f.write(PREFIX + "/" + d + "\n")
    outer = tempfile.mkdtemp(prefix="ldroot.", dir=os.path.dirname(root))
    try:
        # ldconfig chroots, so a symlink would escape: bind-mount instead.
        os.makedirs(os.path.join(outer, "dev/crashcart"))
        ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
        script = ('mount --bind "$1" "$2/dev/crashcart" && '
                  'exec "$3" -X -r "$2" -f %s/etc/ld.so.conf -C %s/etc/ld.so.cache'
                  % (PREFIX, PREFIX))
        proc = subprocess.run(["unshare", "-r", "-m", "sh", "-c", script, "sh",
                               root, outer, ldconfig],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              check=False)
        if proc.returncode != 0:
            log("warning: no ld.so.cache (%s); run paths still apply"
                % proc.stderr.decode(errors="replace").strip().splitlines()[-1:])
            return False
        return True
    finally:
        shutil.rmtree(outer, ignore_errors=True)


def gconv_cache(root):
    """glibc's gconv-modules.cache records the module directory: rebuild it
    for the image's path (iconvconfig --prefix reads through a symlink that
    puts the tree at /dev/crashcart), or drop it so glibc reads the module
    list from the (relocated) directory instead."""
    rel = "usr/lib/" + TRIPLET + "/gconv"
    cache = os.path.join(root, rel, "gconv-modules.cache")
    if not os.path.isdir(os.path.join(root, rel)):
        return
    outer = tempfile.mkdtemp(prefix="gconv.", dir=os.path.dirname(root))
    try:
        os.makedirs(os.path.join(outer, "dev"))
        os.symlink(root, os.path.join(outer, "dev/crashcart"))
        tool = shutil.which("iconvconfig") or "/usr/sbin/iconvconfig"
        proc = subprocess.run([tool, "--nostdlib", "--prefix=" + outer,
                               "-o", cache + ".new", PREFIX + "/" + rel],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              check=False)
        if proc.returncode == 0:
            os.replace(cache + ".new", cache)
        else:
            log("warning: iconvconfig failed; gconv modules are found without a cache")
            for path in (cache, cache + ".new"):
                if os.path.exists(path):
                    os.unlink(path)
    except OSError:
        if os.path.exists(cache):
            os.unlink(cache)
    finally:
        shutil.rmtree(outer, ignore_errors=True)


def ca_bundle(root):
    src = os.path.join(root, "usr/share/ca-certificates")
    if not os.path.isdir(src):
        return
    certs = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".crt"):
                certs.append(os.path.join(dirpath, name))
    dest = os.path.join(root, "etc/ssl/certs")
    os.makedirs(dest, exist_ok=True)
    with open(os.path.join(dest, "ca-certificates.crt"), "wb") as out:
        for path in sorted(certs):
            with open(path, "rb") as f:
                data = f.read()
            out.write(data if data.endswith(b"\n") else data + b"\n")
