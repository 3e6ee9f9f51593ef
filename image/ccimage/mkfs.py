"""Filling the image from the staging tree: mke2fs -d, mkfs.erofs or
mksquashfs, reproducibly (no loop mount, every time pinned)."""

import os

from .paths import walk_files
from .util import run_tool

FORMATS = ("ext4", "erofs", "squashfs")

# A fixed filesystem UUID: reproducible images, and it tells crashcart images
# apart from others.
FS_UUID = "c7a5ca27-0000-4000-8000-000000000001"


def make_image(root, img, fmt, epoch, jobs):
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(epoch),
               E2FSPROGS_FAKE_TIME=str(epoch))
    if os.path.exists(img):
        os.unlink(img)
    if fmt == "ext4":
        # Size: data rounded up to blocks, plus inode tables and slack.
        blocks = 0
        inodes = 0
        for dirpath, dirnames, filenames in os.walk(root):
            inodes += len(dirnames) + len(filenames)
            for name in filenames:
                st = os.lstat(os.path.join(dirpath, name))
                blocks += (st.st_size + 4095) // 4096
            blocks += len(dirnames) + 1
        inodes = inodes + 64
        size_blocks = int((blocks + inodes * 256 // 4096) * 1.10) + 1024
        argv = ["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096",
                "-O", "^has_journal,^resize_inode", "-m", "0",
                "-N", str(inodes), "-I", "256", "-L", "crashcart",
                "-U", FS_UUID, "-E", "hash_seed=%s,root_owner=0:0" % FS_UUID,
                "-d", root, img, str(size_blocks)]
        # mke2fs copies owners from the tree; under fakeroot every file
        # reads as root's, so a non-root build yields a root-owned image.
        if os.geteuid() != 0:
            argv = ["fakeroot", "--"] + argv
    elif fmt == "erofs":
        # lz4hc level 9, not 12: on the full toolbox 17 s against 72 s to
        # build for 0.4 % more (lz4 decompresses as fast at any level).
        argv = ["mkfs.erofs", "--quiet", "-zlz4hc,9", "-C65536",
                "-T%d" % epoch, "-U", FS_UUID, "--all-root",
                img, root]
    else:
        del env["SOURCE_DATE_EPOCH"]    # mksquashfs refuses it next to -all-time
        argv = ["mksquashfs", root, img, "-quiet", "-no-progress", "-noappend",
                # zstd, 128 KiB blocks: xz with 1 MiB blocks took 74 ms
                # against 13 ms to the first program from a fresh mount.
                # Level 9, not 15: 7 s against 62 s for 7 % more.
                "-comp", "zstd", "-Xcompression-level", "9", "-b", "128K",
                "-all-root", "-no-xattrs",
                "-mkfs-time", str(epoch), "-all-time", str(epoch),
                "-processors", str(jobs)]
    run_tool(argv, "making the %s image %s" % (fmt, img), env=env)
    if fmt == "ext4":
        # mke2fs copies each file's ctime and atime, which no one can set on
        # the staging tree; pin them to the epoch as well.
        cmds = os.path.join(os.path.dirname(img), "debugfs.cmds")
        with open(cmds, "w", encoding="utf-8") as f:
            for rel in ["/", "/lost+found"] + ["/" + r for r in walk_files(root)]:
                for field in ("ctime", "atime", "crtime"):
                    f.write('sif "%s" %s %d\n' % (rel, field, epoch))
        run_tool(["debugfs", "-w", "-f", cmds, img], "fixing times in %s" % img, env=env)
        os.unlink(cmds)
