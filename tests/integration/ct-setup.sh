#!/bin/sh
# ct-setup.sh ROOT NAME CTPIVOT: runs as PID 1 of a fresh set of namespaces
# (see ct_start in lib.sh), from the host filesystem. Prepares ROOT, which
# holds only /sleeper and empty proc/ sys/ dev/, then pivots into it and
# execs the sleeper. Nothing from the host is left inside.
set -eu
R=$1 NAME=$2 PIVOT=$3
mount --make-rprivate /
mount --bind "$R" "$R"
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
mount -t tmpfs -o nosuid,mode=755,size=4m tmpfs "$R/dev"
mknod -m 666 "$R/dev/null" c 1 3
mknod -m 666 "$R/dev/zero" c 1 5
mknod -m 666 "$R/dev/urandom" c 1 9
mknod -m 666 "$R/dev/tty" c 5 0
hostname "$NAME"
exec "$PIVOT" "$R" /sleeper
