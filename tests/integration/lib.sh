# shellcheck shell=bash
# shellcheck disable=SC2013  # pid lists: one number a word
# Harness for the crashcart integration suite (sourced by run.sh and runone.sh).
#
# State lives under $CC_T (exported by run.sh), so that every test, which
# runs in its own bash process (runone.sh), sees the same prefix, images
# and container registry:
#   $CC_T/build        meson build dir          $CC_T/prefix   install prefix P
#   $CC_T/img          test images (root 0755)  $CC_T/imgsrc   image contents
#   $CC_T/bin          sleeper, ctpivot, cchostile, toolprobe (also in the images)
#   $CC_T/ct/NAME      one dir per container
#   $CC_T/caps.orig    getcap of the broker as installed

: "${CC_T:?CC_T not set (run through run.sh)}"
CC_IT_DIR=${CC_IT_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}

P=$CC_T/prefix
B=$CC_T/build
IMGDIR=$CC_T/img
IMGSRC=$CC_T/imgsrc
CTDIR=$CC_T/ct
HBIN=$CC_T/bin
BROKER=$P/libexec/crashcart-broker
AUDIT=$P/var/log/crashcart/audit.log
SESSIONS=$P/var/log/crashcart/sessions
CC_BIN=$P/bin/crashcart
FAULT_FILE=$P/etc/crashcart/fault-step   # meson.build: CRASHCART_FAULT_FILE
OPS_GROUP=ccops
OP_USER=ccop
OTHER_USER=ccother
CG_PARENT=crashcart-it
BUSYBOX=${BUSYBOX:-/bin/busybox}
CC_TIMEOUT=${CC_TIMEOUT:-30}
# The four of the design, and no CAP_DAC_OVERRIDE: /dev/crashcart is made in
# the container's root-owned /dev through an idmapped clone (SECURITY.md).
REQUIRED_CAPS="cap_sys_admin cap_sys_ptrace cap_sys_chroot cap_mknod"
# What the suite's install adds with -Dprofiles=ptrace,netadmin (a default
# install has none of them: tests-profiles.sh).
# shellcheck disable=SC2034  # read by tests.sh and tests-profiles.sh
PROFILE_CAPS="cap_setuid cap_setgid cap_net_admin cap_net_raw"

IMG_EXT4=$IMGDIR/tools.ext4
IMG_SQUASH=$IMGDIR/tools.squashfs
IMG_EROFS=$IMGDIR/tools.erofs
IMG_WW=$IMGDIR/world-writable.ext4
IMG_USER=$IMGDIR/owned-by-ccop.ext4
IMG_LINK=$IMGDIR/symlink.ext4
IMG_ZERO=$IMGDIR/zeros.img
# shellcheck disable=SC2034  # tests-escape.sh
IMG_DEFAULT=$P/share/crashcart/crashcart.img
# gdb, strace, ss, tcpdump (image/build from toolbox.packages; absent when
# the Debian archive cannot be reached)
IMG_TOOLBOX=$IMGDIR/toolbox.ext4

# ---------------------------------------------------------------- reporting

log() { printf '%s\n' "$*"; }
# fail MSG: end the current test (each test runs in its own process).
fail() { printf 'FAIL: %s\n' "$*"; exit 1; }
# skip REASON: end the current test as skipped.
skip() {
	printf '%s\n' "$*" > "${CC_SKIPFILE:-/dev/null}"
	printf 'SKIP: %s\n' "$*"
	exit 77
}
# soft_fail MSG: record a failure but let the test go on (runone.sh fails
# the test at the end); for checks whose failure should not hide the rest.
soft_fail() {
	printf 'FAIL (continuing): %s\n' "$*"
	printf '%s\n' "$*" >> "${CC_TT:-/tmp}/soft-failures"
}
# note MSG: shown under the test's result line even when it passes.
note() {
	printf 'NOTE: %s\n' "$*"
	printf '%s\n' "$*" >> "${CC_NOTEFILE:-/dev/null}"
}

# wait_until SECONDS CMD...: poll CMD every 0.05 s; 0 once it succeeds.
wait_until() {
	local deadline=$(( $(date +%s%N) + $1 * 1000000000 ))
	shift
	while :; do
		"$@" && return 0
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# ---------------------------------------------------------------- users

ensure_users() {
	getent group "$OPS_GROUP" >/dev/null || groupadd --system "$OPS_GROUP" || return 1
	if ! id "$OP_USER" >/dev/null 2>&1; then
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin --user-group -G "$OPS_GROUP" "$OP_USER" || return 1
	fi
	id -nG "$OP_USER" | tr ' ' '\n' | grep -qx "$OPS_GROUP" || usermod -a -G "$OPS_GROUP" "$OP_USER" || return 1
	if ! id "$OTHER_USER" >/dev/null 2>&1; then
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin --user-group "$OTHER_USER" || return 1
	fi
	if id -nG "$OTHER_USER" | tr ' ' '\n' | grep -qx "$OPS_GROUP"; then
		echo "$OTHER_USER must not be a member of $OPS_GROUP" >&2
		return 1
	fi
}

op_uid() { id -u "$OP_USER"; }

# as_op CMD...: run CMD as ccop (groups from /etc/group: ccop, ccops).
# setpriv from uid 0 to a non-zero uid clears permitted/effective/ambient
# capabilities; the bounding set stays full, so the broker's file
# capabilities can take effect. No NO_NEW_PRIVS.
as_op() {
	setpriv --reuid="$(id -u "$OP_USER")" --regid="$(id -g "$OP_USER")" --init-groups -- "$@"
}
as_other() {
	setpriv --reuid="$(id -u "$OTHER_USER")" --regid="$(id -g "$OTHER_USER")" --init-groups -- "$@"
}
# as_pkg: the member of the Debian package's group (tests-package.sh)
PKG_USER=ccpkg
as_pkg() {
	setpriv --reuid="$(id -u "$PKG_USER")" --regid="$(id -g "$PKG_USER")" --init-groups -- "$@"
}
as_root() { "$@"; }
# as_other_logged SOCK CMD...: as ccother, in a mount namespace of its own
# whose /dev/log is SOCK (glibc's syslog() has /dev/log compiled in, and the
# host's is not this suite's to read or replace): a tmpfs /dev there with
# the few nodes a program needs bound in from the real one.
as_other_logged() {
	local sock=$1; shift
	# shellcheck disable=SC2016  # the inner script's own variables
	unshare -m --propagation private bash -c '
		set -e
		sock=$1 real=$2 uid=$3 gid=$4; shift 4
		mkdir -p "$real" && mount --rbind /dev "$real"
		mount -t tmpfs -o mode=0755 ccdev /dev
		for n in null zero full random urandom tty; do : > "/dev/$n"; mount --bind "$real/$n" "/dev/$n"; done
		: > /dev/log && mount --bind "$sock" /dev/log
		exec setpriv --reuid="$uid" --regid="$gid" --init-groups -- "$@"' \
		logged "$sock" "$CC_TT/realdev" "$(id -u "$OTHER_USER")" "$(id -g "$OTHER_USER")" "$@"
}
cc() { "$CC_BIN" "$@"; }

# ---------------------------------------------------------------- build

# build_install SRCDIR [MESON_OPTION...]: configure (with the options
# given too), build and install into $P; verify what the install script
# must have done. Output goes to $CC_T/build.log.
build_install() {
	local src=$1 blog=$CC_T/build.log
	shift
	mkdir -p "$P" && chmod 755 "$P" || return 1
	{
		# -Dfault_hooks (the suite's run.sh only; not the demo's or the
		# benches' installs): the broker can be stopped at a named step
		# (src/broker/fault.h) for tests-fault.sh; a no-op unless
		# $FAULT_FILE names a step
		meson setup "$B" "$src" -Dprefix="$P" -Dops_group="$OPS_GROUP" \
			-Daudit_log="$AUDIT" -Dsession_dir="$SESSIONS" -Dprofiles=ptrace,netadmin \
			-Dfault_hooks="${CC_IT_FAULT_HOOKS:-false}" "$@" &&
		meson compile -C "$B" &&
		meson install -C "$B"
	} >"$blog" 2>&1 || {
		echo "build/install failed; last lines of $blog:"
		tail -n 40 "$blog"
		return 1
	}
	write_test_policy "$P"
	verify_install
}

# write_test_policy PREFIX: the installed default policy allows only the
# default image; the suite's images live in $IMGDIR.
write_test_policy() {
	install -m 0644 /dev/stdin "$1/etc/crashcart/policy.conf" <<-EOF
	[it-operators]
	group = $OPS_GROUP
	actions = mount, unmount, exec
	image = $1/share/crashcart/crashcart.img
	image = $IMGDIR/*
	target = *

	# -e runs through the runtime's own exec, which crashcart cannot record
	[it-exec-via]
	group = $OPS_GROUP
	actions = exec-via
	image = $1/share/crashcart/crashcart.img
	image = $IMGDIR/*
	target = *
	record = none

	[audit]
	sink = file
	EOF
}

verify_install() {
	local st caps c bad=0
	[ -x "$CC_BIN" ] || { echo "not installed: $CC_BIN"; return 1; }
	[ -f "$BROKER" ] || { echo "not installed: $BROKER"; return 1; }
	st=$(stat -c '%U:%G %a' "$BROKER")
	[ "$st" = "root:$OPS_GROUP 750" ] || { echo "broker is $st, want root:$OPS_GROUP 750"; bad=1; }
	caps=$(getcap "$BROKER")
	for c in $REQUIRED_CAPS; do
		case $caps in *"$c"*) ;; *) echo "broker lacks $c (getcap: '${caps:-none}')"; bad=1 ;; esac
	done
	case $caps in *=p|*+p) ;; *) echo "broker caps are not permitted-only (=p): '${caps:-none}'"; bad=1 ;; esac
	st=$(stat -c '%U:%G %a' "$SESSIONS" 2>/dev/null)
	[ "$st" = "root:$OPS_GROUP 1730" ] || { echo "session dir is '$st', want root:$OPS_GROUP 1730"; bad=1; }
	if [ -f "$AUDIT" ]; then
		st=$(stat -c '%U:%G %a' "$AUDIT")
		[ "$st" = "root:$OPS_GROUP 660" ] || { echo "audit log is $st, want root:$OPS_GROUP 660"; bad=1; }
		st=$(stat -c '%U:%G %a' "${AUDIT%/*}")
		[ "$st" = "root:root 755" ] || { echo "audit log dir is $st, want root:root 755"; bad=1; }
	else
		echo "audit log $AUDIT was not created by the install script"; bad=1
	fi
	if [ -d "$SESSIONS" ]; then
		st=$(stat -c '%U:%G %a' "$SESSIONS")
		[ "$st" = "root:$OPS_GROUP 1730" ] || { echo "session directory is $st, want root:$OPS_GROUP 1730"; bad=1; }
	else
		echo "session directory $SESSIONS was not created by the install script"; bad=1
	fi
	[ "$bad" = 0 ] || return 1
	getcap "$BROKER" | sed 's/^[^ ]* //' > "$CC_T/caps.orig"
}

# installed_caps: the capability names the broker was installed with
installed_caps() { sed 's/[=+].*//; s/,/ /g' "$CC_T/caps.orig"; }
# broker_setcaps CAPS...: give the installed broker exactly these (+p).
broker_setcaps() {
	local IFS=,
	setcap "$*+p" "$BROKER"
}
broker_restore_caps() {
	[ -s "$CC_T/caps.orig" ] && [ -f "$BROKER" ] && setcap "$(cat "$CC_T/caps.orig")" "$BROKER"
}

# ---------------------------------------------------------------- helpers

build_helpers() {
	mkdir -p "$HBIN" &&
	gcc -static -O2 -Wall -o "$HBIN/sleeper" "$CC_IT_DIR/sleeper.c" &&
	gcc -static -O2 -Wall -o "$HBIN/ctpivot" "$CC_IT_DIR/pivot.c" &&
	gcc -static -O2 -Wall -o "$HBIN/inj" "$CC_IT_DIR/inj.c" &&
	gcc -static -O2 -Wall -o "$HBIN/ptrace-inject" "$CC_IT_DIR/ptrace-inject.c" &&
	gcc -static -O2 -Wall -o "$HBIN/cchostile" "$CC_IT_DIR/hostile.c" &&
	gcc -static -O0 -g -Wall -o "$HBIN/victim" "$CC_IT_DIR/victim.c" &&
	gcc -static -O2 -Wall -o "$HBIN/dropcaps" "$CC_IT_DIR/dropcaps.c" &&
	gcc -static -O2 -Wall -o "$HBIN/toolprobe" "$CC_IT_DIR/toolprobe.c" &&
	gcc -static -O2 -Wall -o "$HBIN/netreach" "$CC_IT_DIR/netreach.c" &&
	gcc -static -O2 -Wall -o "$HBIN/devopen" "$CC_IT_DIR/devopen.c" &&
	gcc -static -O2 -Wall -o "$HBIN/mknodinj" "$CC_IT_DIR/mknodinj.c" &&
	gcc -static -O2 -Wall -o "$HBIN/reapinj" "$CC_IT_DIR/reapinj.c" &&
	gcc -static -O2 -Wall -o "$HBIN/perfcount" "$CC_IT_DIR/perfcount.c" &&
	chmod 755 "$HBIN" "$HBIN/sleeper" "$HBIN/ctpivot" "$HBIN/inj" "$HBIN/ptrace-inject" "$HBIN/cchostile" \
		"$HBIN/victim" "$HBIN/dropcaps" "$HBIN/toolprobe" "$HBIN/netreach" "$HBIN/reapinj" "$HBIN/devopen" \
		"$HBIN/perfcount" "$HBIN/mknodinj"
}

# ---------------------------------------------------------------- images

# build_images [--no-toolbox]: the test images, the default image, and
# (unless --no-toolbox: tools/demo has no use for it) $IMG_TOOLBOX
build_images() {
	umask 022
	rm -rf "$IMGSRC" && mkdir -p "$IMGSRC/bin" "$IMGSRC/etc" "$IMGDIR" || return 1
	chmod 755 "$IMGDIR"
	cp "$BUSYBOX" "$IMGSRC/bin/busybox" && chmod 755 "$IMGSRC/bin/busybox" || return 1
	cp "$HBIN/toolprobe" "$IMGSRC/bin/toolprobe" && chmod 755 "$IMGSRC/bin/toolprobe" || return 1
	ln -s busybox "$IMGSRC/bin/sh"
	printf 'not a program\n' > "$IMGSRC/bin/notexec"; chmod 644 "$IMGSRC/bin/notexec"
	printf 'crashcart integration test image\n' > "$IMGSRC/etc/crashcart-test"
	printf 'root:x:0:0:root:/:/dev/crashcart/bin/sh\n' > "$IMGSRC/etc/passwd"
	chown -R 0:0 "$IMGSRC"
	mke2fs -q -t ext4 -d "$IMGSRC" "$IMG_EXT4" 16M || return 1
	if command -v mksquashfs >/dev/null; then
		mksquashfs "$IMGSRC" "$IMG_SQUASH" -noappend -all-root -quiet >/dev/null || return 1
	fi
	if command -v mkfs.erofs >/dev/null; then
		mkfs.erofs --all-root "$IMG_EROFS" "$IMGSRC" >/dev/null || return 1
	fi
	cp "$IMG_EXT4" "$IMG_WW" && chmod 666 "$IMG_WW" || return 1
	cp "$IMG_EXT4" "$IMG_USER" && chown "$OP_USER:$OP_USER" "$IMG_USER" || return 1
	ln -s "${IMG_EXT4##*/}" "$IMG_LINK"
	head -c 16M /dev/zero > "$IMG_ZERO" || return 1
	chown 0:0 "$IMG_EXT4" "$IMG_WW" "$IMG_ZERO" ${IMG_SQUASH:+"$IMG_SQUASH"} 2>/dev/null
	chmod 644 "$IMG_EXT4" "$IMG_ZERO"
	[ -f "$IMG_SQUASH" ] && chmod 644 "$IMG_SQUASH"
	[ -f "$IMG_EROFS" ] && chmod 644 "$IMG_EROFS"
	chmod 666 "$IMG_WW"
	# the path to the images must be traversable by ccop
	chmod 755 "$CC_T"
	# default image (used when -i is not given)
	mkdir -p "$P/share/crashcart" && cp "$IMG_EXT4" "$P/share/crashcart/crashcart.img" &&
		chmod 644 "$P/share/crashcart/crashcart.img" || return 1
	[ "${1:-}" = --no-toolbox ] || build_toolbox
}

# build_toolbox: $IMG_TOOLBOX, the tools the profiles are for, built the way
# the real image is (image/build; the package cache is shared with
# tools/demo, one build at a time). Without the Debian archive there is
# none, and the tests that need it skip.
TOOLBOX_CACHE=/var/cache/crashcart-image
build_toolbox() {
	mkdir -p "$TOOLBOX_CACHE" "$CC_T/toolbox" || return 0
	if flock "$TOOLBOX_CACHE/.lock" "$CC_SRC/image/build" --packages "$CC_IT_DIR/toolbox.packages" \
		--out "$CC_T/toolbox" --cache "$TOOLBOX_CACHE" >"$CC_T/toolbox.log" 2>&1; then
		install -o root -g root -m 0644 "$CC_T/toolbox/crashcart.img" "$IMG_TOOLBOX"
	fi
	tail -n 3 "$CC_T/toolbox.log"
	rm -rf "$CC_T/toolbox"
	return 0
}

# ---------------------------------------------------------------- containers

cg_dirs() { # cg_dirs NAME: the per-container cgroup in every hierarchy we use
	local c
	for c in pids memory cpu cpuacct freezer devices blkio systemd unified; do
		[ -e "/sys/fs/cgroup/$c/cgroup.procs" ] && echo "/sys/fs/cgroup/$c/$CG_PARENT/$1"
	done
}

# minimal_root DIR: the whole container root: the static sleeper and empty
# proc/ sys/ dev/ directories. No shell, no libc.
# CT_INIT=PROG: another static init in its place (still named /sleeper);
# CT_UID=N: written to /uid for it (victim.c takes it).
# CT_HOSTNET=1: /hostnet is a bind mount of the host's network namespace
# (ct-setup.sh makes it from this shell's, named in /.hostnet).
# The container's processes lack CAP_MKNOD in their bounding set, as with
# `--cap-drop MKNOD` (the ptrace profile refuses a container that can make
# device nodes); CT_KEEP_MKNOD=1 keeps it, as Docker's default set does.
minimal_root() {
	mkdir -p "$1/proc" "$1/sys" "$1/dev" && cp "${CT_INIT:-$HBIN/sleeper}" "$1/sleeper" &&
		chmod 755 "$1" "$1/sleeper" || return 1
	if [ -n "${CT_UID:-}" ]; then echo "$CT_UID" > "$1/uid" || return 1; fi
	if [ -n "${CT_HOSTNET:-}" ]; then { echo "$$" > "$1/.hostnet" && : > "$1/hostnet"; } || return 1; fi
	if [ -n "${CT_KEEP_MKNOD:-}" ]; then : > "$1/.keepmknod" || return 1; fi
}

# ct_start NAME [USERNS_UID]: start a microcontainer, print the host PID of
# its init. Private mnt/uts/ipc/net/pid/cgroup namespaces, own cgroup
# /crashcart-it/NAME, tmpfs /dev (nosuid, mode 755), proc, ro sysfs,
# hostname NAME. All set-up runs from the host filesystem before the
# pivot (ct-setup.sh + ctpivot); then the sleeper is PID 1.
# With USERNS_UID, a user-namespaced container made by hand the way
# rootless runtimes make theirs: host uid/gid USERNS_UID runs `unshare
# --user --map-root-user` (its root is USERNS_UID, nothing else is mapped),
# and every namespace and the tmpfs /dev belong to that user namespace.
# shellcheck disable=SC2034  # read by tests-userns.sh
CT_USERNS_UID=100000
ct_start() {
	local name=$1 d=$CTDIR/$1 g upid cpid i as=()
	[ -e "$d" ] && { echo "container $name exists" >&2; return 1; }
	mkdir -p "$d" && echo micro > "$d/type" && minimal_root "$d/root" || return 1
	for g in $(cg_dirs "$name"); do mkdir -p "$g" || return 1; done
	[ -n "${2:-}" ] && as=(setpriv --reuid="$2" --regid="$2" --clear-groups -- unshare --user --map-root-user --)
	# shellcheck disable=SC2046,SC2016
	setsid bash -c '
		name=$1 root=$2 setup=$3 pivot=$4 nas=$5; shift 5
		as=("${@:1:nas}"); shift "$nas"
		for g in "$@"; do echo $$ > "$g/cgroup.procs" || exit 1; done
		exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "${as[@]}" \
			unshare --mount --uts --ipc --net --pid --cgroup --fork --kill-child \
			--propagation private -- /bin/sh "$setup" "$root" "$name" "$pivot"
	' ctstart "$name" "$d/root" "$CC_IT_DIR/ct-setup.sh" "$HBIN/ctpivot" "${#as[@]}" "${as[@]}" $(cg_dirs "$name") \
		</dev/null >"$d/log" 2>&1 &
	upid=$!
	echo "$upid" > "$d/upid"
	cpid=
	for i in $(seq 200); do
		cpid=$(awk '{print $1}' "/proc/$upid/task/$upid/children" 2>/dev/null)
		if [ -n "$cpid" ] && [ "$({ tr '\0' ' ' < "/proc/$cpid/cmdline"; } 2>/dev/null)" = "/sleeper " ]; then
			break
		fi
		cpid=
		kill -0 "$upid" 2>/dev/null || break
		sleep 0.05
	done
	if [ -z "$cpid" ]; then
		echo "microcontainer $name did not start (i=$i); log:" >&2
		cat "$d/log" >&2
		ct_stop "$name"
		return 1
	fi
	echo "$cpid" > "$d/pid"
	echo "$cpid"
}

# runc_start NAME: start a runc container with the same minimal root
# (read-only root, default namespaces), print the host PID of its init.
runc_cmd() { runc --root "$CC_T/runc" "$@"; }
runc_start() {
	local name=$1 d=$CTDIR/$1 pid
	[ -e "$d" ] && { echo "container $name exists" >&2; return 1; }
	mkdir -p "$d/bundle" && echo runc > "$d/type" && minimal_root "$d/bundle/rootfs" || return 1
	(cd "$d/bundle" && runc spec && mv config.json config.json.orig) || return 1
	jq --arg id "$name" --arg cg "/$CG_PARENT/$name" \
		'.process.terminal=false | .process.args=["/sleeper"] | .hostname=$id
		 | .linux.cgroupsPath=$cg' "$d/bundle/config.json.orig" > "$d/bundle/config.json" || return 1
	# detached runc keeps the caller's stdio: never a pipe anyone waits on
	if ! timeout -k 5 30 runc --root "$CC_T/runc" run -d --bundle "$d/bundle" "$name" \
		</dev/null >"$d/log" 2>&1; then
		echo "runc run failed:" >&2; cat "$d/log" >&2
		runc_stop "$name"
		return 1
	fi
	pid=$(runc_cmd state "$name" </dev/null 2>>"$d/log" | jq -r .pid)
	case $pid in ''|null|0|*[!0-9]*) echo "runc state gave no pid" >&2; cat "$d/log" >&2; return 1 ;; esac
	echo "$pid" > "$d/pid"
	echo "$pid"
}

runc_stop() {
	local name=$1 d=$CTDIR/$1 pid
	pid=$(cat "$d/pid" 2>/dev/null)
	timeout -k 5 20 runc --root "$CC_T/runc" kill "$name" KILL </dev/null >/dev/null 2>&1
	[ -n "$pid" ] && wait_until 5 proc_gone "$pid"
	timeout -k 5 20 runc --root "$CC_T/runc" delete -f "$name" </dev/null >/dev/null 2>&1
	local g
	for g in $(cg_dirs "$name"); do [ -d "$g" ] && rmdir "$g" 2>/dev/null; done
	rm -rf "$d"
}

# proc_gone PID: no such process (or only a zombie left)
proc_gone() {
	local s
	s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$s" ] || [ "$s" = Z ] || [ "$s" = X ]
}

cg_empty() { local g; for g in $(cg_dirs "$1"); do [ -s "$g/cgroup.procs" ] && return 1; done; return 0; }

# ct_stop NAME: kill the container, wait for it, remove its cgroups and files.
ct_stop() {
	local name=$1 d=$CTDIR/$1 p g
	[ -d "$d" ] || return 0
	if [ "$(cat "$d/type" 2>/dev/null)" = runc ]; then runc_stop "$name"; return; fi
	# (|| :, a process may be gone by now: tools/demo runs this under set -e)
	for p in $(cat "$d/pid" "$d/upid" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || :; done
	for g in $(cg_dirs "$name"); do
		for p in $(cat "$g/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || :; done
	done
	for p in $(cat "$d/pid" "$d/upid" 2>/dev/null); do wait_until 5 proc_gone "$p"; done
	wait_until 5 cg_empty "$name"
	for g in $(cg_dirs "$name"); do [ -d "$g" ] && rmdir "$g" 2>/dev/null; done
	rm -rf "$d"
}

ct_stop_all() {
	local d
	for d in "$CTDIR"/*/; do
		[ -d "$d" ] || continue
		d=${d%/}; ct_stop "${d##*/}"
	done
}

ct_pid() { cat "$CTDIR/$1/pid"; }

# ct_gate PID NAME: a FIFO /NAME in the container's root. A tool that runs
# `read _ < /NAME` (a shell builtin: no lookup in the image) waits there
# until ct_gate_open PID NAME lets it go: a session held at a known point,
# without guessing how long anything takes.
# A tool that first runs `echo > /NAME.up` says it got there: ct_gate_reached
# PID NAME returns once it has. The session's mount shows before its tool
# runs, so a test that needs the tool running waits for that, not for the
# mount.
ct_gate() {
	mkfifo -m 0666 "/proc/$1/root/$2" "/proc/$1/root/$2.up" || fail "cannot make the FIFOs /$2 and /$2.up in the container"
}
ct_gate_reached() {
	# the writer's open blocks until this reader's (and the other way)
	timeout 30 cat "/proc/$1/root/$2.up" >/dev/null || fail "no tool reached the gate /$2 within 30 s"
	rm -f "/proc/$1/root/$2.up"
}
ct_gate_open() {
	# shellcheck disable=SC2016  # $1 of the inner sh
	timeout 30 sh -c 'echo go > "$1"' gate "/proc/$1/root/$2" || fail "nothing waited at /$2 in the container within 30 s"
	rm -f "/proc/$1/root/$2" "/proc/$1/root/$2.up"
}

# ---------------------------------------------------------------- observation

# mounted_in PID: the /dev/crashcart line(s) of the process's mountinfo,
# as "PER_MOUNT_OPTIONS FSTYPE SOURCE SUPER_OPTIONS"
mounted_in() {
	awk '$5 == "/dev/crashcart" {
		for (i = 7; $i != "-"; i++) ;
		print $6, $(i+1), $(i+2), $(i+3) }' "/proc/$1/mountinfo"
}
# mountinfo_rest PID: the mountinfo minus /dev/crashcart (and below)
mountinfo_rest() {
	awk '$5 != "/dev/crashcart" && $5 !~ "^/dev/crashcart/"' "/proc/$1/mountinfo"
}
# loops_for IMG: loop devices backed by IMG (losetup -j)
loops_for() { losetup -j "$1" 2>/dev/null; }
no_loops_for() { [ -z "$(loops_for "$1")" ]; }
not_mounted_in() { [ -z "$(mounted_in "$1")" ]; }
is_mounted_in() { [ -n "$(mounted_in "$1")" ]; }
# dev_listing PID: the container's /dev, one "type mode name" per entry
dev_listing() {
	(cd "/proc/$1/root/dev" && find . -xdev -mindepth 1 -printf '%y %m %p\n' | sort)
}

# audit_records: every line of the audit log as compact JSON (jq fails on
# a line that is not JSON)
audit_records() { [ -f "$AUDIT" ] && jq -c . "$AUDIT"; }
# audit_mark: remember where the log ends; audit_new: records after it
audit_mark() { AUDIT_MARK=$(wc -l < "$AUDIT" 2>/dev/null || echo 0); }
audit_new() { tail -n +"$(( ${AUDIT_MARK:-0} + 1 ))" "$AUDIT" 2>/dev/null | jq -c .; }

# ---------------------------------------------------------------- running

# run WHO CMD...: run CMD as WHO (as_op|as_other|as_root) with a timeout,
# stdin /dev/null; sets RC, OUT, ERR and logs all three. A leading word
# "cc" stands for the installed crashcart. Output goes to $CC_TT/out and
# $CC_TT/err; run_bg TAG's to files of its own (RUN_TAG), so that a run in
# the foreground meanwhile neither truncates nor reads the other's.
run() {
	local who=$1; shift
	local o=$CC_TT/out e=$CC_TT/err
	[ -n "${RUN_TAG:-}" ] && o=$CC_TT/$RUN_TAG.out e=$CC_TT/$RUN_TAG.err
	log "\$ $who $*"
	[ "${1:-}" = cc ] && set -- "$CC_BIN" "${@:2}"
	# shellcheck disable=SC2016
	timeout -k 5 "$CC_TIMEOUT" bash -c '
		who=$1; shift
		source "$CC_IT_DIR/lib.sh"
		"$who" "$@"' run "$who" "$@" </dev/null >"$o" 2>"$e"
	RC=$?
	OUT=$(cat "$o"); ERR=$(cat "$e")
	log "  rc=$RC"
	[ -n "$OUT" ] && printf '%s\n' "$OUT" | sed 's/^/  stdout: /' | head -n 40
	[ -n "$ERR" ] && printf '%s\n' "$ERR" | sed 's/^/  stderr: /' | head -n 40
	return 0
}

# ---------------------------------------------------------------- assertions

expect_rc() { # expect_rc WANT [what]
	[ "$RC" = "$1" ] || fail "${2:-command} exited $RC, want $1"
}
expect_out() { # expect_out WANT: stdout exactly WANT
	[ "$OUT" = "$1" ] || fail "stdout is '$OUT', want '$1'"
}
expect_out_match() { # expect_out_match ERE
	printf '%s\n' "$OUT" | grep -Eq -- "$1" || fail "stdout does not match /$1/"
}
# expect_err_denied: stderr says "Permission denied" (the kernel's EACCES,
# not a crash or another error)
expect_err_denied() {
	case $ERR in *"Permission denied"*) ;; *) fail "stderr does not say 'Permission denied': '$ERR'" ;; esac
}
# expect_one_error_line: stderr is exactly one line starting "crashcart: "
expect_one_error_line() {
	local n
	n=$(printf '%s' "$ERR" | awk 'END {print NR}')
	[ "$n" = 1 ] || fail "stderr has $n lines, want exactly one 'crashcart: ' line"
	case $ERR in "crashcart: "*) ;; *) fail "stderr does not start with 'crashcart: ': '$ERR'" ;; esac
}

# expect_nothing_mounted PID IMG: no /dev/crashcart mount or directory in
# the container, no loop device backing IMG (loop autoclear may lag: poll)
expect_nothing_mounted() {
	local pid=$1 img=$2
	not_mounted_in "$pid" || fail "container $pid has a /dev/crashcart mount: $(mounted_in "$pid")"
	if [ -e "/proc/$pid/root/dev/crashcart" ] || [ -L "/proc/$pid/root/dev/crashcart" ]; then
		fail "container $pid has a /dev/crashcart entry: $(ls -ld "/proc/$pid/root/dev/crashcart")"
	fi
	wait_until 3 no_loops_for "$img" || fail "loop device left backing $img: $(loops_for "$img")"
}

# expect_audit_refused PID [WHAT]: a refusal record naming PID: phase
# "refused" (refused before acting), or phase "end" with result "refused"
# (a check failed while acting, e.g. a symlink found inside the container)
# among the records written since audit_mark.
expect_audit_refused() {
	local pid=$1 recs n
	recs=$(audit_new) || fail "audit log has a line that is not JSON"
	log "  audit: $(printf '%s' "$recs" | tr '\n' ' ')"
	n=$(printf '%s\n' "$recs" | jq -s --arg pid "$pid" \
		'[.[] | select((.phase == "refused" or (.phase == "end" and .result == "refused"))
			and ((.target.pid // "") | tostring) == $pid)] | length')
	[ "${n:-0}" -ge 1 ] || { soft_fail "no refusal audit record naming target pid $pid ${2:+($2)}"; return 0; }
	n=$(printf '%s\n' "$recs" | jq -s '[.[] | select(.phase == "refused" and .result != "refused")] | length')
	[ "$n" = 0 ] || soft_fail "a refused audit record has result != \"refused\""
}

# refusal PID IMG: the whole refusal contract for a broker-side refusal
refusal() {
	expect_rc 125
	expect_one_error_line
	expect_nothing_mounted "$1" "$2"
	expect_audit_refused "$1" "${3:-}"
}

# ---------------------------------------------------------------- cleanup

# detach_leftovers [--dry]: unmount anything of ours mounted on the host,
# detach loop devices backed by a file under $CC_T (the test images, and
# any a test made). Prints what it had to clean; --dry prints what it would
# clean and touches nothing (run.sh fails the test that left it).
detach_leftovers() {
	local dry='' l f m
	[ "${1:-}" = --dry ] && dry=1
	losetup -l -n -O NAME,BACK-FILE 2>/dev/null | while read -r l f; do
		case $f in "$CC_T"/*) ;; *) continue ;; esac
		for m in $(awk -v d="$l" '$10 == d {print $5}' /proc/self/mountinfo); do
			echo "leftover host mount $m of $l"; [ -n "$dry" ] || umount -l "$m"
		done
		echo "leftover loop device $l for ${f% (deleted)}"
		[ -n "$dry" ] || losetup -d "$l" 2>/dev/null
	done
	if [ -e /dev/crashcart ] && ! [ -e "$CC_T/host-had-dev-crashcart" ]; then
		if awk '$5 == "/dev/crashcart"' /proc/self/mountinfo | grep -q .; then
			echo "leftover mount on the host's /dev/crashcart"; [ -n "$dry" ] || umount -l /dev/crashcart
		fi
		echo "leftover host /dev/crashcart"
		[ -n "$dry" ] || rmdir /dev/crashcart 2>/dev/null
	fi
	awk -v t="$CC_T" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r |
		while read -r m; do echo "leftover mount $m"; [ -n "$dry" ] || umount -l "$m"; done
}
no_leftovers() { [ -z "$(detach_leftovers --dry)" ]; }

remove_cgroup_parents() {
	local c
	for c in /sys/fs/cgroup/*/"$CG_PARENT"; do
		[ -d "$c" ] && rmdir "$c" 2>/dev/null
	done
	return 0
}
