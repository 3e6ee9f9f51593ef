#!/bin/sh
# ct-setup.sh ROOT NAME CTPIVOT: runs as PID 1 of a fresh set of namespaces
# (see ct_start in lib.sh; also inside a user namespace of its own), from
# the host filesystem. Prepares ROOT, which
# holds only /sleeper and empty proc/ sys/ dev/, then pivots into it and
# execs the sleeper. Nothing from the host is left inside.
set -eu
R=$1 NAME=$2 PIVOT=$3
mount --make-rprivate /
mount --bind "$R" "$R"
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
mount -t tmpfs -o nosuid,mode=755,size=4m tmpfs "$R/dev"
# In a user namespace mknod is refused: bind the host's nodes instead
# (what rootless runtimes do).
node() {
	mknod -m 666 "$R/dev/$1" c "$2" "$3" 2>/dev/null && return 0
	: > "$R/dev/$1" && mount --bind "/dev/$1" "$R/dev/$1"
}
node null 1 3
node zero 1 5
node urandom 1 9
node tty 5 0
# CT_HOSTNET (lib.sh): /proc is still the host's here
if [ -e "$R/.hostnet" ]; then mount --bind "/proc/$(cat "$R/.hostnet")/ns/net" "$R/hostnet"; fi
hostname "$NAME"
# CT_KEEP_MKNOD (lib.sh): else no CAP_MKNOD for the container's processes
if [ -e "$R/.keepmknod" ]; then
	rm "$R/.keepmknod"
	exec "$PIVOT" "$R" /sleeper
fi
exec setpriv --bounding-set -mknod -- "$PIVOT" "$R" /sleeper
