# shellcheck shell=bash
# What a target is, attacked (sourced by tests.sh): each test does what the
# attacker of one finding did, with real namespaces and the installed
# broker, and fails if the fix is reverted.
#   B  an operator's own user+mount namespace with a host directory bound
#      onto /dev; a host tmpfs bound onto a root-made container's /dev; a
#      host daemon with only a private mount namespace (PrivateTmp=)
#   C  a container racing the legacy mount path's device node
#   D  a container holding flock on its own /dev
# shellcheck disable=SC2034,SC2086,SC2154,SC2015,SC2153  # TESTS is read by run.sh; $BB unquoted as elsewhere; rc is set in the trap

TESTS+=(
	t_refuse_host_pid1
	t_attack_b_operator_userns_bind_dev
	t_attack_b_host_tmpfs_bound_on_dev
	t_attack_b_private_tmp_daemon
	t_attack_c_no_node_in_container_dev
	t_attack_d_container_flock_dev
)

# Processes a test starts outside a microcontainer: killed on the way out
# (runone.sh's trap only knows containers).
TGT_PIDS=
tgt_trap() {
	trap 'rc=$?; trap - EXIT; tgt_kill; ct_stop_all; broker_restore_caps; exit $rc' EXIT
}
tgt_kill() {
	local p
	for p in $TGT_PIDS; do kill -KILL "$p" 2>/dev/null; done
	for p in $TGT_PIDS; do wait_until 5 proc_gone "$p"; done
	TGT_PIDS=
}

# child_of PID: its first child (unshare --fork's)
child_of() { awk '{print $1}' "/proc/$1/task/$1/children" 2>/dev/null; }

# sleeper_under PID: PID itself once it is the sleeper, else its child that is
is_sleeper() { [ "$(tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null)" = "$HBIN/sleeper " ]; }
find_sleeper() {
	local top=$1 c
	if is_sleeper "$top"; then echo "$top"; return 0; fi
	c=$(child_of "$top")
	[ -n "$c" ] && is_sleeper "$c" && { echo "$c"; return 0; }
	return 1
}
wait_sleeper() { # wait_sleeper TOPPID: sets TPID
	local i
	TPID=
	for i in $(seq 100); do
		TPID=$(find_sleeper "$1") && return 0
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	fail "the target process did not start: $(cat "$CC_TT/target.log" 2>/dev/null)"
}

# no_xattr DIR: the broker did not mark DIR as a container's /dev
no_state_xattr() {
	command -v getfattr >/dev/null || fail "getfattr is not installed (attr: tools/install-deps)"
	! getfattr --absolute-names -n trusted.crashcart "$1" >/dev/null 2>&1
}

# expect_err_match ERE: the one error line says why
expect_err_match() {
	printf '%s\n' "$ERR" | grep -Eq -- "$1" || fail "the error does not say /$1/: '$ERR'"
}

# host_mounts: the host's mount table without the mount ids' order noise
host_mounts() { awk '{$1=""; print}' /proc/self/mountinfo | sort; }

# A host process sharing everything (here: PID 1) is "not in a container",
# the same words whoever owns it; not a permission error from a check that
# needs access to its namespaces.
t_refuse_host_pid1() {
	audit_mark
	run as_op cc -i "$IMG_EXT4" 1 $BB true
	expect_rc 125 "session in host PID 1"
	expect_one_error_line
	expect_err_match 'PID 1 is not in a container'
	run as_op cc -i "$IMG_EXT4" -m 1
	refusal 1 "$IMG_EXT4" "host PID 1"
	expect_err_match 'PID 1 is not in a container'
}

# B: the operator makes a user+mount namespace of their own (unshare -Urm),
# binds a root-owned 0755 host directory onto /dev there, and asks for -m
# into that process. Its mount namespace is not the host's, but it is no
# container: nothing may be created in the host directory, no xattr set.
# Once without a PID namespace (the finding as reported), once with one
# (then the user namespace, owned by the caller, is what refuses it).
t_attack_b_operator_userns_bind_dev() {
	local hd=$CC_TT/hostdir v top hmi
	tgt_trap
	mkdir -p "$hd" && chown 0:0 "$hd" && chmod 0755 "$hd" || fail "cannot make $hd"
	hmi=$(host_mounts)
	for v in -Urm "-Urmp --kill-child"; do
		log "# operator: unshare $v, $hd bound onto /dev"
		# shellcheck disable=SC2016,SC2086
		setpriv --reuid="$(id -u "$OP_USER")" --regid="$(id -g "$OP_USER")" --init-groups -- unshare $v --propagation private sh -c 'mount --bind "$1" /dev && exec "$2"' \
			sh "$hd" "$HBIN/sleeper" </dev/null >"$CC_TT/target.log" 2>&1 &
		top=$!
		TGT_PIDS="$TGT_PIDS $top"
		wait_sleeper "$top"
		[ "$(stat -c %i "/proc/$TPID/root/dev")" = "$(stat -c %i "$hd")" ] ||
			fail "the operator's bind of $hd onto /dev did not take"
		audit_mark
		run as_op cc -i "$IMG_EXT4" -m "$TPID"
		refusal "$TPID" "$IMG_EXT4" "operator's namespace ($v)"
		if [ "$v" = -Urm ]; then
			expect_err_match 'not in a container.*PID namespace'
		else
			expect_err_match 'user namespace'
		fi
		run as_op cc -i "$IMG_EXT4" "$TPID" $BB true
		expect_rc 125 "session in the operator's namespace ($v)"
		expect_one_error_line
		[ -e "$hd/crashcart" ] && fail "the broker created $hd/crashcart: $(ls -ld "$hd/crashcart")"
		[ -z "$(ls -A "$hd")" ] || fail "$hd is not empty: $(ls -lA "$hd")"
		no_state_xattr "$hd" || fail "the broker set trusted.crashcart on the host directory $hd"
		[ "$(stat -c '%u:%g %a' "$hd")" = "0:0 755" ] || fail "$hd changed: $(stat -c '%u:%g %a' "$hd")"
		tgt_kill
	done
	[ "$(host_mounts)" = "$hmi" ] || fail "the host's mounts changed: $(diff <(echo "$hmi") <(host_mounts))"
}

# B: root made a mount+PID namespace (a container by every namespace test)
# but its /dev is a directory of a tmpfs the host has mounted: the broker
# must refuse, because the host mounts that superblock.
t_attack_b_host_tmpfs_bound_on_dev() {
	local ht=$CC_TT/hosttmp top
	tgt_trap
	mkdir -p "$ht" && mount -t tmpfs -o mode=0755,size=1m cc-host-tmpfs "$ht" || fail "cannot mount a tmpfs on $ht"
	mkdir -m 0755 "$ht/devdir"
	# shellcheck disable=SC2016
	unshare -mp --kill-child --propagation private sh -c 'mount --bind "$1" /dev && exec "$2"' \
		sh "$ht/devdir" "$HBIN/sleeper" </dev/null >"$CC_TT/target.log" 2>&1 &
	top=$!
	TGT_PIDS="$TGT_PIDS $top"
	wait_sleeper "$top"
	[ "$(stat -f -c %T "/proc/$TPID/root/dev")" = tmpfs ] || fail "the target's /dev is not the tmpfs"
	audit_mark
	run as_op cc -i "$IMG_EXT4" -m "$TPID"
	refusal "$TPID" "$IMG_EXT4" "host tmpfs on /dev"
	expect_err_match 'host'
	run as_op cc -i "$IMG_EXT4" "$TPID" $BB true
	expect_rc 125 "session with a host tmpfs on /dev"
	expect_one_error_line
	[ -e "$ht/devdir/crashcart" ] && fail "the broker created crashcart/ in the host's tmpfs"
	[ -z "$(ls -A "$ht/devdir")" ] || fail "the host's tmpfs directory is not empty: $(ls -lA "$ht/devdir")"
	no_state_xattr "$ht/devdir" || fail "the broker set trusted.crashcart in the host's tmpfs"
	tgt_kill
	umount "$ht"
}

# B: a host daemon with a private mount namespace only (systemd's
# PrivateTmp=, here unshare -m and a tmpfs on /tmp): `target = *` must not
# reach it, and nothing may appear in the host's /dev.
t_attack_b_private_tmp_daemon() {
	local top hmi
	tgt_trap
	hmi=$(host_mounts)
	# a marker an earlier broker left on the host's /dev (before hosts were
	# refused) would hide one set now: crashcart's own, so it goes
	if ! no_state_xattr /dev; then
		note "the host's /dev had a stale trusted.crashcart ($(getfattr --absolute-names --only-values -n trusted.crashcart /dev 2>/dev/null)): removed"
		setfattr -x trusted.crashcart /dev || fail "cannot remove the stale trusted.crashcart of /dev"
	fi
	# shellcheck disable=SC2016
	unshare -m --propagation slave sh -c 'mount -t tmpfs -o size=1m private-tmp /tmp && exec "$1"' \
		sh "$HBIN/sleeper" </dev/null >"$CC_TT/target.log" 2>&1 &
	top=$!
	TGT_PIDS="$TGT_PIDS $top"
	wait_sleeper "$top"
	audit_mark
	run as_op cc -i "$IMG_EXT4" -m "$TPID"
	refusal "$TPID" "$IMG_EXT4" "daemon with a private mount namespace"
	expect_err_match 'not in a container.*PID namespace'
	run as_op cc -i "$IMG_EXT4" "$TPID" $BB true
	expect_rc 125 "session in the daemon"
	expect_one_error_line
	if [ -e /dev/crashcart ] && ! [ -e "$CC_T/host-had-dev-crashcart" ]; then
		fail "the host's /dev now has crashcart: $(ls -ld /dev/crashcart)"
	fi
	no_state_xattr /dev || fail "the broker set trusted.crashcart on the host's /dev"
	tgt_kill
	[ "$(host_mounts)" = "$hmi" ] || fail "the host's mounts changed: $(diff <(echo "$hmi") <(host_mounts))"
}

# hostile PID ARGS...: run tests/integration/hostile.c inside the
# microcontainer (all its namespaces, its root), in the background
hostile() {
	local pid=$1
	shift
	cp "$HBIN/cchostile" "/proc/$pid/root/cchostile" && chmod 755 "/proc/$pid/root/cchostile" ||
		fail "cannot put the hostile helper into the container"
	nsenter -t "$pid" -m -u -i -n -p -C -r -w -- /cchostile "$@" </dev/null >"$CC_TT/hostile.log" 2>&1 &
	TGT_PIDS="$TGT_PIDS $!"
	wait_until 5 test -e "/proc/$pid/root/ready" || fail "the hostile helper did not start: $(cat "$CC_TT/hostile.log")"
}

# C: the legacy path (a block node in the container's /dev, mounted by
# path) is gone. A container that swaps its own block node with any
# .crashcart-loop* entry the moment one appears sees none: no device node
# ever appears in its /dev, and what is mounted is the test image.
t_attack_c_no_node_in_container_dev() {
	local rep
	tgt_trap
	if meson introspect "$B" --buildoptions | jq -e 'any(.[]; .name == "mount_api")' >/dev/null; then
		fail "the build still has a mount_api option (the legacy mount path)"
	fi
	grep -rq 'FORCE_LEGACY_MOUNT\|mount_legacy' "$CC_SRC/src" "$CC_SRC/meson.build" &&
		fail "the sources still have the legacy mount path"
	start_ct cc-swap
	hostile "$PID" swap /ready /report
	rep=/proc/$PID/root/report
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "-m with a container racing for device nodes"
	expect_mounted "$PID" ext4
	[ "$(cat "/proc/$PID/root/dev/crashcart/etc/crashcart-test")" = "crashcart integration test image" ] ||
		fail "/dev/crashcart is not the test image"
	[ -n "$(loops_for "$IMG_EXT4")" ] || fail "no loop device backs the mount"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB cat /dev/crashcart/etc/crashcart-test
	expect_rc 0 "a session while the container races"
	expect_out "crashcart integration test image"
	run as_op cc -u "$PID"
	expect_rc 0 "-u"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 0 "a session without -m while the container races"
	sleep 0.3
	log "  the container saw: $(tr '\n' ' ' < "$rep" 2>/dev/null)"
	[ -s "$rep" ] && fail "a device node appeared in the container's /dev: $(tr '\n' ' ' < "$rep")"
	dev_listing "$PID" | grep -E '^[bc] ' | grep -vE ' \./(null|zero|urandom|tty|evil)$' &&
		fail "a device node is in the container's /dev"
	tgt_kill
	expect_nothing_mounted "$PID" "$IMG_EXT4"
}

# broker_running: a process of the installed broker (this suite's path)
broker_running() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = "$BROKER" ] && return 0
	done
	return 1
}
broker_gone() { ! broker_running; }

# D: the container holds flock on its own /dev. The broker must not wait
# for it: a refusal that says why, on record, no broker left behind, and
# no mount once the container lets go.
t_attack_d_container_flock_dev() {
	local t0 t1
	tgt_trap
	start_ct cc-flock
	hostile "$PID" flock /ready
	audit_mark
	t0=$(date +%s)
	CC_TIMEOUT=20 run as_op cc -i "$IMG_EXT4" -m "$PID"
	t1=$(date +%s)
	log "  took $((t1 - t0)) s"
	refusal "$PID" "$IMG_EXT4" "container holds flock on /dev"
	expect_err_match 'lock'
	[ $((t1 - t0)) -le 10 ] || fail "the refusal took $((t1 - t0)) s"
	wait_until 3 broker_gone || fail "a broker process survived the worker"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 125 "a session while the container holds the lock"
	expect_err_match 'lock'
	# the container lets go: nothing may happen now. No broker process is
	# left (checked above, and again here) that could still act on it, so
	# there is nothing to wait for.
	audit_mark
	tgt_kill
	broker_running && fail "a broker process is still running once the container let go"
	not_mounted_in "$PID" || fail "mounted after the container released its lock: $(mounted_in "$PID")"
	[ -e "/proc/$PID/root/dev/crashcart" ] && fail "/dev/crashcart appeared after the lock was released"
	audit_new | jq -se 'any(.event == "mount" and .phase == "end" and .result == "ok")' >/dev/null &&
		fail "a mount was recorded after the lock was released: $(audit_new | tr '\n' ' ')"
	broker_running && fail "a broker process is still running"
	return 0
}
