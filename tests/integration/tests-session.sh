# shellcheck shell=bash
# The session boundary (sourced by tests.sh): a hostile container must not
# reach the operator's host terminal (A1, A3), the session's processes end
# with the session (E), and the terminal behaves as a user expects (job
# control, ^C/^Z/^D, a full-screen program, a resize, exit status, a
# binary-exact pipe). The attackers are small static programs of the
# container's own (inj.c, ptrace-inject.c), as a hostile container would
# bring them.
# shellcheck disable=SC2016  # single-quoted $$ etc. are meant for the tool's shell
# shellcheck disable=SC2034  # TESTS is read by run.sh

TESTS+=(
	t_attack_devcgroup_through_tool
	t_devcg_session_inside
	t_devcg_allowed_numbers_stay_own
	t_devcg_refused_when_wider
	t_devcg_refused_when_missing
	t_devcg_setup_unmounted_hierarchy
	t_attack_a1_tiocsti_reaches_host_shell
	t_attack_a1_bare_cmd_from_container
	t_attack_a3_ptrace_tool_tiocsti
	t_attack_e_background_outlives_session
	t_attack_e_terminal_hangup
	t_attack_e_broker_killed
	t_attack_reaper_holds_no_host_fd
	t_attack_container_stops_reaper
	t_attack_socket_as_stdio
	t_attack_closed_output_pipe
	t_tty_fresh_pty
	t_tty_job_control
	t_tty_ctrl_d
	t_tty_full_screen
	t_tty_resize
	t_tty_exit_status
	t_tty_forced_and_refused
	t_pipe_binary_exact
)

# ptyrun_op ARGS... -- CMD...: ptyrun.py with CMD as the operator, as the
# session leader of a fresh terminal (the operator's "host terminal").
# Output in $CC_TT/pty.out, stderr in $CC_TT/pty.err; sets RC.
ptyrun_op() {
	local args=()
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	pty_cmd
	log "\$ ptyrun ${args[*]} -- as_op $*"
	"$PYTHON" "$CC_IT_DIR/ptyrun.py" "${args[@]}" -- \
		setpriv --reuid="$(id -u "$OP_USER")" --regid="$(id -g "$OP_USER")" --init-groups -- "$@" \
		>"$CC_TT/pty.out" 2>"$CC_TT/pty.err"
	RC=$?
	log "  rc=$RC $(tr '\n' ' ' < "$CC_TT/pty.err")"
	tr -d '\r' < "$CC_TT/pty.out" | sed 's/^/  tty: /' | head -n 60
}
pty_out() { tr -d '\r' < "$CC_TT/pty.out"; }

# ct_procs PID: "HOSTPID CMDLINE" of every process in the PID namespace of
# the container whose init is PID (each command line ends in a space). One
# pgrep, not a fork or two for every process of the host: a scan must take
# less time than the processes it looks for live, on a loaded machine too.
ct_procs() {
	pgrep --ns "$1" --nslist pid -a 2>/dev/null | sed 's/$/ /'
}
# ct_proc_running PID ERE: a process of the container matches ERE
ct_proc_running() { ct_procs "$1" | grep -Eq -- "$2"; }
ct_proc_gone() { ! ct_proc_running "$@"; }
# ct_hostpid PID ERE: the host PID of the container's process matching ERE
ct_hostpid() { ct_procs "$1" | grep -E -- "$2" | head -n1 | cut -d' ' -f1; }
nspid() { awk '/^NSpid:/ {print $NF}' "/proc/$1/status"; }
rdev() { stat -L -c '%t:%T' "$1" 2>/dev/null; }

# put_in_ct PID FILE NAME: copy a program of the container's own into its root
put_in_ct() { cp "$2" "/proc/$1/root/$3" && chmod 755 "/proc/$1/root/$3"; }

# A1: a program in the container pushes a command line into its terminal
# (TIOCSTI). With the operator's terminal as its stdio, the operator's host
# shell read that line after crashcart returned. Now the tool holds only a
# pty of its own, and the tool's filter refuses TIOCSTI.
t_attack_a1_tiocsti_reaches_host_shell() {
	start_ct cc-a1
	put_in_ct "$PID" "$HBIN/inj" inj || fail "cannot plant /inj"
	ptyrun_op --timeout 25 -- bash -c '"$0" -i "$1" "$2" /inj "echo INJECTED
"; echo "CC-RC=$?"; read -t 2 -r L; echo "GOT[$L]"' "$CC_BIN" "$IMG_EXT4" "$PID"
	pty_out | grep -q '^CC-RC=0$' || fail "crashcart did not run /inj"
	pty_out | grep -q 'GOT\[echo INJECTED' && fail "the host shell read the line the container pushed into its terminal"
	pty_out | grep -q '^GOT\[\]$' || fail "the host shell's read did not end empty (read(1) got: $(pty_out | grep GOT))"
	pty_out | grep -q 'inj: fd 0: 0 bytes pushed, Operation not permitted' ||
		fail "the tool's TIOCSTI was not refused by its filter"
}

# A1, the other half: `crashcart ID inj` (a bare name) ran the container's
# own /inj through the container's PATH. A bare name is the image's only.
t_attack_a1_bare_cmd_from_container() {
	start_ct cc-a1b
	put_in_ct "$PID" "$HBIN/inj" inj || fail "cannot plant /inj"
	mkdir -p "/proc/$PID/root/bin" && put_in_ct "$PID" "$HBIN/inj" bin/inj || fail "cannot plant /bin/inj"
	run as_op cc -i "$IMG_EXT4" "$PID" inj
	expect_rc 127 "a bare name that only the container has"
	expect_one_error_line
	case $ERR in *"not in the image"*"give its path"*) ;; *) fail "the error does not say to give a path: $ERR" ;; esac
	run as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c 'echo "$PATH"'
	expect_rc 0
	expect_out /dev/crashcart/bin:/dev/crashcart/sbin
	run as_op cc -i "$IMG_EXT4" "$PID" /inj x
	expect_rc 0 "the container's own program by its path"
}

# A3: container root becomes the operator's uid, ptraces the operator's
# tool (same ids, dumpable) and makes it call TIOCSTI on its stdin. With
# the operator's terminal as that stdin, the host shell ran the line.
t_attack_a3_ptrace_tool_tiocsti() {
	local hp ppid worker out
	start_ct cc-a3
	put_in_ct "$PID" "$HBIN/ptrace-inject" pi || fail "cannot plant /pi"
	ptyrun_op --timeout 30 -- bash -c '"$0" -i "$1" "$2" /dev/crashcart/bin/busybox sleep 6; echo "CC-RC=$?"; read -t 2 -r L; echo "GOT[$L]"' \
		"$CC_BIN" "$IMG_EXT4" "$PID" &
	local bg=$!
	wait_until 15 ct_proc_running "$PID" '^[0-9]+ /dev/crashcart/bin/busybox sleep 6 $' || { wait "$bg"; fail "the tool did not start"; }
	hp=$(ct_hostpid "$PID" 'busybox sleep 6 $')
	worker=$(pgrep -u "$(op_uid)" -f "^$CC_BIN -i" | head -n1)
	log "  tool: host pid $hp (container pid $(nspid "$hp")), worker $worker"
	[ -n "$worker" ] && [ "$(rdev "/proc/$hp/fd/0")" = "$(rdev "/proc/$worker/fd/0")" ] &&
		soft_fail "the tool's stdin is the operator's terminal"
	out=$(nsenter -t "$PID" -a /pi "$(op_uid)" "$(id -g "$OP_USER")" "$(nspid "$hp")" 0 'echo INJECTED
' 2>&1)
	log "  attacker (tool): $out"
	case $out in *"0 of 14 bytes pushed"*) ;; *) soft_fail "the injected TIOCSTI was not refused: $out" ;; esac
	# The session's reaper is not the container's to ptrace.
	ppid=$(awk '/^PPid:/ {print $2}' "/proc/$hp/status")
	out=$(nsenter -t "$PID" -a /pi "$(op_uid)" "$(id -g "$OP_USER")" "$(nspid "$ppid")" 0 x 2>&1)
	log "  attacker (reaper): $out"
	case $out in *"attach: Operation not permitted"*) ;; *) soft_fail "the container could ptrace the session's reaper: $out" ;; esac
	wait "$bg"
	RC=$?
	tr -d '\r' < "$CC_TT/pty.out" | sed 's/^/  tty: /'
	pty_out | grep -q 'GOT\[echo INJECTED' && fail "the host shell read the line the container pushed"
	pty_out | grep -q '^GOT\[\]$' || fail "the host shell's read did not end empty"
	pty_out | grep -q '^CC-RC=0$' || fail "the tool did not end normally"
}

# The tool lives in the broker's cgroup, not the container's: the device
# controller that keeps container root off the host's disks is the
# container's cgroup's. Container root (Docker's default set: CAP_MKNOD,
# CAP_CHOWN, CAP_SETUID) makes a node of a block device its cgroup denies
# (a loop device over a scratch file: the host's disk), cannot open it
# itself, ptraces the tool as the operator's uid (A3) and has the tool open
# it and write to it (devopen.c).
t_attack_devcgroup_through_tool() {
	local disk=$CC_T/devcg.disk loop g hp bg out r
	[ -e /sys/fs/cgroup/devices/cgroup.procs ] || skip "no cgroup v1 devices controller here"
	truncate -s 1M "$disk" || fail "cannot make the scratch disk"
	loop=$(losetup -f --show "$disk") || skip "no loop device for the scratch disk"
	# shellcheck disable=SC2064,SC2154  # the loop device is known now; rc is the trap's
	trap "rc=\$?; trap - EXIT; ct_stop_all; losetup -d $loop; exit \$rc" EXIT
	start_ct cc-devcg
	g=/sys/fs/cgroup/devices/$CG_PARENT/cc-devcg
	# what Docker's device rules are: the usual character devices, mknod of any
	echo a > "$g/devices.deny" || fail "cannot set the container's device rules"
	for r in 'c 1:3 rwm' 'c 1:5 rwm' 'c 1:9 rwm' 'c 5:0 rwm' 'c *:* m' 'b *:* m'; do
		echo "$r" > "$g/devices.allow" || fail "cannot allow $r"
	done
	put_in_ct "$PID" "$HBIN/devopen" devopen || fail "cannot plant /devopen"
	as_op "$CC_BIN" -i "$IMG_EXT4" "$PID" /dev/crashcart/bin/busybox sleep 6 </dev/null >"$CC_TT/bg.out" 2>&1 &
	bg=$!
	wait_until 15 ct_proc_running "$PID" '^[0-9]+ /dev/crashcart/bin/busybox sleep 6 $' || { wait "$bg"; fail "the tool did not start"; }
	hp=$(ct_hostpid "$PID" 'busybox sleep 6 $')
	# shellcheck disable=SC2046
	out=$(bash -c 'ct=$1 args=$2; shift 2
		for c in "$@"; do echo $$ > "$c/cgroup.procs" || exit 1; done
		exec nsenter -t "$ct" -a /devopen $args' _ "$PID" \
		"$(op_uid) $(id -g "$OP_USER") $(nspid "$hp") /devnode $(( 0x$(stat -c %t "$loop") )) $(( 0x$(stat -c %T "$loop") )) CC-DEVCG-WRITTEN" \
		$(cg_dirs cc-devcg) 2>&1)
	printf '%s\n' "$out" | sed 's/^/  attacker: /'
	wait "$bg"
	case $out in *"container opens /devnode: Operation not permitted"*) ;;
		*) fail "set-up: the container's own cgroup did not deny the device: $out" ;; esac
	grep -q CC-DEVCG-WRITTEN "$disk" && fail "the container wrote the host's block device through the tool"
	case $out in *"tool opens /devnode: Operation not permitted"*) ;;
		*) fail "the tool's open of the denied device was not refused: $out" ;; esac
}

# open (SECURITY.md, "Open: the ptrace profile borrows container root's
# CAP_MKNOD, and the operator's host shell opens the node"): fails until
# that way to the device is closed
TESTS+=(t_attack_devcg_ptrace_root_mknod_host_open)

# The devices cgroup confines the session's processes, not the operator's
# others. The ptrace profile's tool, here with the ids of a uid 1000
# process of a container without a user namespace, holds CAP_SYS_PTRACE,
# which reaches every process of the container's PID namespace: it borrows
# the CAP_MKNOD of the container's root init (Docker's default set, mknod
# of any device in Docker's rules, `b *:* m`): mknodinj.c makes it create
# a node of a block device the container's cgroup denies (a loop device
# over a scratch file: the host's disk), mode 0666. Neither the container nor any session's tool can
# open it. The operator's own shell on the host can: through
# /proc/PID/root of a process of theirs in the container's mount namespace
# (their restricted session's tool: same ids, dumpable), from the
# operator's cgroup, which has no device rules. So the ptrace profile on
# such a container gave the operator the host's disks. Now the profile is
# refused while any process of the container can make device nodes; the
# node is never made, and nothing reaches the disk.
t_attack_devcg_ptrace_root_mknod_host_open() {
	local disk=$CC_T/devcg-pt.disk loop g hp bg out r tp
	[ -e /sys/fs/cgroup/devices/cgroup.procs ] || skip "no cgroup v1 devices controller here"
	truncate -s 1M "$disk" || fail "cannot make the scratch disk"
	loop=$(losetup -f --show "$disk") || skip "no loop device for the scratch disk"
	# shellcheck disable=SC2064,SC2154  # the loop device is known now; rc is the trap's
	trap "rc=\$?; trap - EXIT; pol_restore; ct_stop_all; losetup -d $loop; exit \$rc" EXIT
	PID=$(CT_KEEP_MKNOD=1 ct_start cc-devcg-pt) || fail "cannot start microcontainer cc-devcg-pt"
	g=/sys/fs/cgroup/devices/$CG_PARENT/cc-devcg-pt
	# what Docker's device rules are: the usual character devices, mknod of any
	echo a > "$g/devices.deny" || fail "cannot set the container's device rules"
	for r in 'c 1:3 rwm' 'c 1:5 rwm' 'c 1:9 rwm' 'c 5:0 rwm' 'c *:* m' 'b *:* m'; do
		echo "$r" > "$g/devices.allow" || fail "cannot allow $r"
	done
	put_in_ct "$PID" "$HBIN/mknodinj" mknodinj || fail "cannot plant /mknodinj"
	# the target: a process of the container's that is not root (uid 1000)
	# shellcheck disable=SC2046
	bash -c 'ct=$1; shift; for c in "$@"; do echo $$ > "$c/cgroup.procs" || exit 1; done
		exec nsenter -t "$ct" -a -S 1000 -G 1000 /sleeper' _ "$PID" $(cg_dirs cc-devcg-pt) </dev/null >/dev/null 2>&1 &
	wait_until 5 sh -c "ps -o uid= --ppid $! | grep -qw 1000" || fail "set-up: the uid 1000 process did not start"
	tp=$(ps -o pid=,uid= --ppid $! | awk '$2 == 1000 {print $1}')
	# a restricted session of the operator's, left running
	as_op "$CC_BIN" -i "$IMG_EXT4" "$PID" $BB sleep 12 </dev/null >"$CC_TT/bg.out" 2>&1 &
	bg=$!
	wait_until 15 ct_proc_running "$PID" "^[0-9]+ $BB sleep 12 \$" || { wait "$bg"; fail "the tool did not start"; }
	hp=$(ct_hostpid "$PID" 'busybox sleep 12 $')
	# the ptrace profile's tool, uid 1000 with CAP_SYS_PTRACE, drives the
	# container's init, root
	prof_policy ptrace
	run as_op "$CC_BIN" -i "$IMG_EXT4" "$tp" /mknodinj 1 /devcgnode \
		"$(( 0x$(stat -c %t "$loop") ))" "$(( 0x$(stat -c %T "$loop") ))"
	printf '%s\n' "$OUT" | sed 's/^/  ptrace tool: /'
	expect_rc 125 "the ptrace profile in a container whose root can make device nodes"
	expect_one_error_line
	case $ERR in *"profile ptrace refused: PID "*" of the container's PID namespace can make device nodes (CAP_MKNOD"*) ;;
		*) fail "the refusal does not say why: $ERR" ;; esac
	[ -e "/proc/$PID/root/devcgnode" ] && fail "the node was made"
	pol_restore
	# (had it been made: no session's tool could open it, the devices
	# cgroup holds; the operator's host shell could)
	run as_op "$CC_BIN" -i "$IMG_EXT4" "$PID" $BB sh -c "echo CC-DEVCG-TOOL > /devcgnode"
	# the operator's host shell, through their session's tool
	out=$(as_op sh -c "printf CC-DEVCG-HOST > /proc/$hp/root/devcgnode && echo written" 2>&1)
	log "  the operator's host shell: ${out:-refused}"
	wait "$bg"
	grep -q CC-DEVCG-TOOL "$disk" && fail "the tool wrote the host's block device"
	grep -q CC-DEVCG-HOST "$disk" && fail "the operator wrote the host's block device the ptrace profile's root made"
	return 0
}

# The cgroup every session's processes live in (src/broker/devcg.c).
DEVCG=/sys/fs/cgroup/devices/crashcart/$OPS_GROUP

# The tool, and what it starts, are in it; the pseudo-devices a shell needs
# open; a denied character device does not (/dev/mem's numbers, made in the
# container by container root); and the session ends with nothing of it left
# in the cgroup.
t_devcg_session_inside() {
	start_ct cc-devcg-in
	mknod -m 0666 "/proc/$PID/root/memnode" c 1 1 || fail "set-up: cannot make the node in the container"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c \
		"$BB grep devices /proc/self/cgroup; $BB sh -c '$BB grep devices /proc/self/cgroup'
		 echo x > /dev/null && $BB head -c 4 /dev/zero | $BB wc -c && $BB head -c 4 /dev/urandom | $BB wc -c
		 $BB head -c 1 /memnode; echo mem=\$?"
	expect_rc 0
	[ "$(printf '%s\n' "$OUT" | grep -cE ":devices:(/\.\.)*/crashcart/$OPS_GROUP\$")" = 2 ] ||
		fail "the tool and its child are not both in crashcart/$OPS_GROUP: $OUT"
	[ "$(printf '%s\n' "$OUT" | grep -cx ' *4')" = 2 ] || fail "/dev/zero or /dev/urandom did not read: $OUT"
	expect_out_match '^mem=1$'
	case $ERR in *"/memnode: Operation not permitted"*) ;; *) fail "the denied node's open did not fail EPERM: $ERR" ;; esac
	wait_until 5 sh -c "[ -z \"\$(cat $DEVCG/cgroup.procs)\" ]" || fail "left in the cgroup: $(cat "$DEVCG/cgroup.procs")"
}

# The numbers the cgroup allows reach only what they should. Container root
# makes nodes, owned by the operator, of a host pty that is open (136:N),
# of ptmx (5:2) away from any devpts, of the console (5:1), and of /dev/tty
# (5:0), and the tool opens each: a pty slave opens only through the devpts
# it belongs to (EIO), ptmx only with a devpts at "pts" beside it, the
# console is not allowed (EPERM), /dev/tty is the opener's own terminal
# (none: ENXIO). Nothing is written to the host's pty. The session's
# processes hold no fd of the cgroup hierarchy the broker mounted, and the
# operator cannot move the tool out (the other devices cgroups' cgroup.procs
# are root's) nor move a process not theirs in.
t_devcg_allowed_numbers_stay_own() {
	local r hostpts n bg hp rp p fd out
	start_ct cc-devcg-nums
	python3 -c 'import os, sys, time
m, s = os.openpty()
print(os.ttyname(s), flush=True)
time.sleep(30)' > "$CC_TT/hostpty" &
	bg=$!
	# shellcheck disable=SC2064
	trap "rc=\$?; trap - EXIT; kill $bg 2>/dev/null; ct_stop_all; exit \$rc" EXIT
	wait_until 5 test -s "$CC_TT/hostpty" || fail "set-up: no host pty"
	hostpts=$(cat "$CC_TT/hostpty") n=${hostpts#/dev/pts/}
	log "  the host's pty: $hostpts"
	r=/proc/$PID/root
	mkdir "$r/ccx" && mknod "$r/ccpts" c 136 "$n" && mknod "$r/ccx/ptmx" c 5 2 &&
		mknod "$r/ccconsole" c 5 1 && mknod "$r/cctty" c 5 0 || fail "set-up: cannot make the nodes"
	chown "$(op_uid):$(id -g "$OP_USER")" "$r/ccpts" "$r/ccx/ptmx" "$r/ccconsole" "$r/cctty" || fail "set-up: chown"
	as_op "$CC_BIN" -i "$IMG_EXT4" "$PID" $BB sh -c \
		"for f in /ccpts /ccx/ptmx /ccconsole /cctty; do echo CC-DEVCG-NUM 2>&1 > \$f; echo \"\$f=\$?\"; done; $BB sleep 4" \
		</dev/null >"$CC_TT/tool.out" 2>&1 &
	wait_until 15 ct_proc_running "$PID" "^[0-9]+ $BB sleep 4 \$" || { cat "$CC_TT/tool.out"; fail "the tool did not start"; }
	hp=$(ct_hostpid "$PID" 'busybox sleep 4 $')
	rp=$(awk '/^PPid:/ {print $2}' "/proc/$hp/status")
	for p in "$hp" "$rp" "$(awk '/^PPid:/ {print $2}' "/proc/$rp/status")"; do
		for fd in /proc/"$p"/fd/*; do
			[ "$(stat -L -f -c %T "$fd" 2>/dev/null)" = cgroupfs ] && fail "PID $p holds a cgroup fd: $fd -> $(readlink "$fd")"
		done
	done
	out=$(as_op sh -c "echo $hp > /sys/fs/cgroup/devices/cgroup.procs" 2>&1) && fail "the operator moved the tool to the root devices cgroup"
	out=$(as_op sh -c "echo $hp > /sys/fs/cgroup/devices/$CG_PARENT/cc-devcg-nums/cgroup.procs" 2>&1) &&
		fail "the operator moved the tool into the container's devices cgroup"
	out=$(as_op sh -c "echo $bg > $DEVCG/cgroup.procs" 2>&1) && fail "the operator moved a root process into $DEVCG"
	grep -qx "$bg" "$DEVCG/cgroup.procs" && fail "a root process is in $DEVCG"
	wait_until 10 ct_proc_gone "$PID" "busybox sleep 4" || fail "the tool did not end"
	sed 's/^/  tool: /' "$CC_TT/tool.out"
	grep -q '^/ccpts=0$' "$CC_TT/tool.out" && fail "the tool opened the host's pty $hostpts"
	grep -q '/ccpts: Input/output error' "$CC_TT/tool.out" || fail "the host pty's open did not fail EIO"
	grep -q '^/ccx/ptmx=0$' "$CC_TT/tool.out" && fail "the tool made a pty through a ptmx away from its devpts"
	grep -q '/ccconsole: Operation not permitted' "$CC_TT/tool.out" || fail "the console's open did not fail EPERM"
	grep -q '/cctty: No such device or address' "$CC_TT/tool.out" || fail "/dev/tty's open did not fail ENXIO"
	return 0
}

# Rules wider than the tool may have (an administrator's `echo 'c 1:1 rw' >
# devices.allow`, /dev/mem): every exec is refused before anything is
# mounted, with a line that names the rule, on record; -m still works.
t_devcg_refused_when_wider() {
	start_ct cc-devcg-wide
	# shellcheck disable=SC2064
	trap "rc=\$?; trap - EXIT; echo 'c 1:1 rwm' > ${DEVCG%/*}/devices.deny; ct_stop_all; exit \$rc" EXIT
	# a child cgroup never allows what its parent denies: both
	echo 'c 1:1 rw' > "${DEVCG%/*}/devices.allow" && echo 'c 1:1 rw' > "$DEVCG/devices.allow" ||
		fail "set-up: cannot widen the rules"
	audit_mark
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	refusal "$PID" "$IMG_EXT4" "an exec with wider device rules"
	case $ERR in *"crashcart/$OPS_GROUP allows 'c 1:1 rw', more than the tool may open"*) ;;
		*) fail "the refusal does not name the rule: $ERR" ;; esac
	echo 'c 1:1 rwm' > "${DEVCG%/*}/devices.deny"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 0 "the exec once the rules are back"
}

# Not set up (after a reboot, before crashcart-devices-cgroup ran): refused,
# saying what to run; set up again, it works.
t_devcg_refused_when_missing() {
	local setup=$P/sbin/crashcart-devices-cgroup
	start_ct cc-devcg-miss
	# shellcheck disable=SC2064
	trap "rc=\$?; trap - EXIT; $setup $OPS_GROUP >/dev/null; ct_stop_all; exit \$rc" EXIT
	"$setup" --remove "$OPS_GROUP" || fail "cannot remove the devices cgroup"
	[ ! -e "$DEVCG" ] || fail "--remove left $DEVCG"
	audit_mark
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	refusal "$PID" "$IMG_EXT4" "an exec without the devices cgroup"
	case $ERR in *"crashcart/$OPS_GROUP does not exist: it is not set up (as root: crashcart-devices-cgroup $OPS_GROUP"*) ;;
		*) fail "the refusal does not say what to run: $ERR" ;; esac
	run as_op cc -m -i "$IMG_EXT4" "$PID"
	expect_rc 0 "-m needs no devices cgroup"
	run as_op cc -u "$PID"
	expect_rc 0 "-u needs no devices cgroup"
	"$setup" "$OPS_GROUP" >/dev/null || fail "cannot set it up again"
	"$setup" --check "$OPS_GROUP" >/dev/null || fail "--check fails after set-up"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 0 "the exec once set up again"
}

# Where nothing mounts the devices hierarchy (cgroup2 hosts): the set-up
# mounts it for itself, and leaves no mount behind.
t_devcg_setup_unmounted_hierarchy() {
	local setup=$P/sbin/crashcart-devices-cgroup out
	out=$(unshare -m sh -c 'umount /sys/fs/cgroup/devices && ! grep -q " /sys/fs/cgroup/devices " /proc/self/mounts &&
		"$1" "$2" && "$1" --check "$2" && grep -c crashcart-devcg /proc/self/mounts' _ "$setup" "$OPS_GROUP" 2>&1)
	log "  $out"
	case $out in *"is set up"*"is set up"*) ;; *) fail "the set-up without a mounted hierarchy failed: $out" ;; esac
	[ "$(printf '%s\n' "$out" | tail -n 1)" = 0 ] || fail "the set-up left its mount: $out"
	ls -d /run/crashcart-devcg.* 2>/dev/null && fail "the set-up left its mount point"
	return 0
}

# E: `sleep 777 &` (and setsid, a double fork) left running in the
# container as the operator after the session. Now they end with it.
t_attack_e_background_outlives_session() {
	start_ct cc-e1
	audit_mark
	run as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c \
		"$BB sleep 777 & $BB setsid $BB sleep 778 & ( $BB sleep 779 & ) ; exit 3"
	expect_rc 3 "the tool's own status"
	wait_until 5 ct_proc_gone "$PID" 'sleep 77[789]' || fail "left running in the container: $(ct_procs "$PID" | grep sleep)"
	ct_proc_running "$PID" '^[0-9]+ /sleeper' || fail "the container's own init is gone"
	expect_nothing_mounted "$PID" "$IMG_EXT4"
	n=$(audit_new | jq -s '[.[] | select(.event == "exec" and .phase == "end")] | .[0].session_processes_ended')
	[ "${n:-0}" -ge 3 ] || fail "the exec end record says $n session processes were ended, want >= 3"
}

# E: a hang-up of the operator's terminal left the session running.
t_attack_e_terminal_hangup() {
	start_ct cc-e2
	audit_mark
	# hung up once the tool runs (it says so), not at a time start-up may outlast
	ptyrun_op --timeout 20 --after-output E2-UP --hangup-after 0.2 -- "$CC_BIN" -i "$IMG_EXT4" "$PID" $BB sh -c \
		"$BB sleep 781 & echo E2-UP; $BB sleep 782"
	wait_until 6 ct_proc_gone "$PID" 'sleep 78[12]' || fail "left running after the hang-up: $(ct_procs "$PID" | grep sleep)"
	wait_until 5 not_mounted_in "$PID" || fail "still mounted after the hang-up"
	recs=$(audit_new)
	printf '%s\n' "$recs" | jq -e -s 'any(.[]; .event == "exec" and .phase == "end" and
		(.ended_by == "terminal hang-up" or .ended_by == "worker hang-up"))' >/dev/null ||
		fail "no exec end record saying the session was hung up: $recs"
}

# E: SIGKILL of the broker (it runs as the operator) left the tool running
# and the mount in place. Now the tool's processes end, the operator's
# terminal is restored, crashcart says what happened, and the next session
# tidies the mount.
t_attack_e_broker_killed() {
	local broker worker
	start_ct cc-e3
	ptyrun_op --timeout 30 -- sh -c '"$0" -i "$1" "$2" /dev/crashcart/bin/busybox sh -c "/dev/crashcart/bin/busybox sleep 783 & /dev/crashcart/bin/busybox sleep 784"; echo "CC-RC=$?"; stty -a' \
		"$CC_BIN" "$IMG_EXT4" "$PID" &
	local bg=$!
	wait_until 15 ct_proc_running "$PID" 'sleep 784' || { wait "$bg"; fail "the tool did not start"; }
	# this session's broker: the child of this run's worker (other brokers
	# of the same operator may run at the same time)
	worker=$(pgrep -u "$(op_uid)" -f "^$CC_BIN -i" | head -n1)
	broker=$(pgrep -P "$worker" -x crashcart-broke | head -n1)
	[ -n "$broker" ] || { wait "$bg"; fail "no broker under the worker $worker"; }
	log "  killing the broker $broker as the operator"
	as_op kill -KILL "$broker" || fail "cannot kill the broker"
	wait "$bg"
	tr -d '\r' < "$CC_TT/pty.out" | sed 's/^/  tty: /'
	wait_until 6 ct_proc_gone "$PID" 'sleep 78[34]' || fail "left running after the broker was killed: $(ct_procs "$PID" | grep sleep)"
	pty_out | grep -q '^CC-RC=125$' || fail "crashcart did not exit 125"
	pty_out | grep -q 'broker was killed' || fail "crashcart did not say the broker was killed"
	pty_out | grep -Eq '(^| )icanon( |$)' && pty_out | grep -Eq '(^| )echo( |$)' ||
		fail "the operator's terminal was left in raw mode"
	# the mount stayed (nobody to remove it); the next session tidies it
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 0 "a later session"
	expect_nothing_mounted "$PID" "$IMG_EXT4"
}

# The tool's terminal is a fresh pty of its own: not the operator's, and
# the tool leads a session whose controlling terminal it is.
t_tty_fresh_pty() {
	local hp worker sid
	start_ct cc-pty
	# the tool (the shell) held at a gate while it is looked at
	ct_gate "$PID" cc-go
	ptyrun_op --timeout 20 -- "$CC_BIN" -i "$IMG_EXT4" "$PID" $BB sh -c '[ -t 0 ] && [ -t 1 ] && echo IS-TTY; echo > /cc-go.up; read _ < /cc-go' &
	local bg=$!
	ct_gate_reached "$PID" cc-go
	hp=$(ct_hostpid "$PID" "^[0-9]+ $BB sh -c ")
	worker=$(pgrep -u "$(op_uid)" -f "^$CC_BIN -i" | head -n1)
	{ [ -n "$hp" ] && [ -n "$worker" ]; } || { ct_gate_open "$PID" cc-go; fail "no tool ($hp) or worker ($worker) found"; }
	for fd in 0 1 2; do
		[ "$(rdev "/proc/$hp/fd/$fd")" = "$(rdev "/proc/$worker/fd/$fd")" ] &&
			soft_fail "the tool's fd $fd is the operator's terminal"
	done
	sid=$(awk '{print $6}' "/proc/$hp/stat")
	[ "$sid" = "$hp" ] || soft_fail "the tool is not the leader of a session of its own (sid $sid, pid $hp)"
	ct_gate_open "$PID" cc-go
	wait "$bg"
	pty_out | grep -q IS-TTY || fail "the tool's stdin/stdout are not a terminal"
}

# Job control inside the tool's terminal: a background job, ^Z of a
# foreground one, jobs, kill %N.
t_tty_job_control() {
	start_ct cc-jobs
	# each key when the shell is ready for it (its prompt, or what the
	# command printed: FG-42 and JOBS-42 are in no echo of a typed line)
	ptyrun_op --timeout 25 --on '[crashcart ' "$BB sleep 60 &\n" \
		--on '[crashcart ' "$BB sh -c 'echo FG-\$((6*7)); exec $BB sleep 50'\n" --on FG-42 '\x1a' \
		--on Stopped 'jobs\n' --on '[crashcart ' 'kill -9 %1 %2; echo JOBS-$((40+2))\n' \
		--on JOBS-42 'exit 4\n' --on '[crashcart ' 'exit 4\n' \
		-- "$CC_BIN" -i "$IMG_EXT4" "$PID"
	[ "$RC" = 4 ] || fail "the shell exited $RC, want 4"
	pty_out | grep -q 'Stopped' || fail "^Z did not stop the foreground job"
	pty_out | grep -q 'JOBS-42' || fail "the shell did not go on after ^Z"
	wait_until 5 ct_proc_gone "$PID" 'sleep [56]0' || fail "jobs left running"
}

# ^D ends the shell (status 0), and the operator's terminal is back to
# its own mode afterwards.
t_tty_ctrl_d() {
	start_ct cc-ctrld
	ptyrun_op --timeout 20 --on '[crashcart ' '\x04' -- sh -c '"$0" -i "$1" "$2"; echo "CC-RC=$?"; stty -a' "$CC_BIN" "$IMG_EXT4" "$PID"
	pty_out | grep -q '^CC-RC=0$' || fail "^D: the shell did not end with 0"
	pty_out | grep -Eq '(^| )icanon( |$)' && pty_out | grep -Eq '(^| )echo( |$)' ||
		fail "the operator's terminal was left in raw mode"
}

# A full-screen program (vi): it draws, takes keys, and quits.
t_tty_full_screen() {
	start_ct cc-vi
	# keys once vi has drawn its screen (its last word: /dev/null "is not a
	# regular file"), :q! once it is back in command mode with the text
	# ("- /dev/null [Modified]" on its status line)
	ptyrun_op --timeout 20 --size 24,80 --on 'is not a regular file' 'ihello crashcart\x1b' \
		--on '- /dev/null [Modified]' ':q!\r' \
		-- "$CC_BIN" -i "$IMG_EXT4" "$PID" $BB vi /dev/null
	[ "$RC" = 0 ] || fail "vi exited $RC"
	grep -q $'\e\[' "$CC_TT/pty.out" || fail "vi drew nothing (no escape sequences)"
	grep -q 'hello crashcart' "$CC_TT/pty.out" || fail "the typed text was not shown"
}

# The window size at the start and after a resize reach the tool.
t_tty_resize() {
	start_ct cc-resize
	# resized once the tool has read the first size; the tool then waits
	# (10 s at most) for the size to change, and prints what it has
	ptyrun_op --timeout 20 --size 30,100 --after-output RESIZE-ME --resize-after 0 --resize 40,120 \
		-- "$CC_BIN" -i "$IMG_EXT4" "$PID" $BB sh -c "$BB stty size; echo RESIZE-ME; i=0
			while [ \"\$($BB stty size)\" = '30 100' ] && [ \$i -lt 100 ]; do $BB sleep 0.1; i=\$((i + 1)); done
			$BB stty size"
	[ "$RC" = 0 ] || fail "exited $RC"
	pty_out | grep -qx '30 100' || fail "the initial size did not reach the tool"
	pty_out | grep -qx '40 120' || fail "the resize did not reach the tool"
}

# The tool's exit status and its death by a signal, through the pty.
t_tty_exit_status() {
	start_ct cc-status
	ptyrun_op --timeout 20 -- "$CC_BIN" -i "$IMG_EXT4" "$PID" $BB sh -c 'exit 7'
	[ "$RC" = 7 ] || fail "exit 7 gave $RC"
	ptyrun_op --timeout 20 -- "$CC_BIN" -i "$IMG_EXT4" "$PID" $BB sh -c 'kill -TERM $$'
	[ "$RC" = 143 ] || fail "death by SIGTERM gave $RC, want 143"
}

# -T refuses a pty at a terminal; -t gives one without.
t_tty_forced_and_refused() {
	start_ct cc-ttyflags
	ptyrun_op --timeout 20 -- "$CC_BIN" -T -i "$IMG_EXT4" "$PID" $BB sh -c '[ -t 0 ] && echo IS-TTY || echo NO-TTY'
	pty_out | grep -qx NO-TTY || fail "-T: the tool got a terminal"
	run as_op cc -t -i "$IMG_EXT4" "$PID" $BB sh -c '[ -t 0 ] && echo IS-TTY || echo NO-TTY'
	expect_rc 0
	printf '%s\n' "$OUT" | tr -d '\r' | grep -qx IS-TTY || fail "-t: the tool got no terminal"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c '[ -t 0 ] && echo IS-TTY || echo NO-TTY'
	expect_out NO-TTY
}

# Without a terminal, stdin, stdout and stderr are pipes: byte-exact, and
# stdout and stderr apart.
t_pipe_binary_exact() {
	local blob=$CC_TT/blob
	start_ct cc-pipe
	{ python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 16)'; head -c 1M /dev/urandom; } > "$blob"
	chmod 644 "$blob"
	log "\$ as_op cc $PID cat < blob | cmp - blob"
	as_op sh -c '"$0" -i "$1" "$2" /dev/crashcart/bin/busybox cat < "$3" | cmp - "$3"' \
		"$CC_BIN" "$IMG_EXT4" "$PID" "$blob" || fail "the blob did not come back byte-exact"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c 'echo to-out; echo to-err >&2; exit 2'
	expect_rc 2
	expect_out to-out
	[ "$ERR" = to-err ] || fail "stderr is '$ERR', want 'to-err'"
}

# The reaper lives in the container: what it holds, anything with
# CAP_SYS_PTRACE there (container root with --cap-add SYS_PTRACE, the
# ptrace profile's tool through pidfd_getfd) can take. It held the
# broker's fds (the audit log, the host's mount namespace, the idmap user
# namespace) and the host's /proc (a way into every host process's root).
t_attack_reaper_holds_no_host_fd() {
	local hp reaper fd link hostproc bad=
	start_ct cc-reaperfd
	# the tool held at a gate while the reaper is looked at
	ct_gate "$PID" cc-go
	as_op "$CC_BIN" -i "$IMG_EXT4" "$PID" $BB sh -c 'echo > /cc-go.up; read _ < /cc-go' </dev/null >/dev/null 2>&1 &
	local bg=$!
	ct_gate_reached "$PID" cc-go
	hp=$(ct_hostpid "$PID" "^[0-9]+ $BB sh -c ")
	reaper=$(awk '/^PPid:/ {print $2}' "/proc/$hp/status" 2>/dev/null)
	[ "$(cat "/proc/$reaper/comm" 2>/dev/null)" = crashcart-reap ] || { ct_gate_open "$PID" cc-go; fail "no reaper found above the tool"; }
	hostproc=$(stat -c %d /proc)
	for fd in /proc/"$reaper"/fd/*; do
		link=$(readlink "$fd") || continue
		log "  reaper fd ${fd##*/}: $link"
		case $link in
		/dev/null|socket:*|pipe:*|anon_inode:*) ;;
		*) if [ -d "$fd" ] && [ "$(stat -L -c %d "$fd")" != "$hostproc" ] && [ "$(stat -f -L -c %T "$fd")" = proc ]; then
			:  # its own procfs, of the container's PID namespace
		   else
			bad="$bad $link"
		   fi ;;
		esac
	done
	ct_gate_open "$PID" cc-go
	wait "$bg"
	[ -z "$bad" ] || fail "the session's reaper, in the container, holds:$bad"
}

# The container stops the reaper (SIGSTOP, CAP_KILL is Docker's default):
# the session, and the broker, waited forever. Now the launcher resumes it.
t_attack_container_stops_reaper() {
	local sh reaper stopper
	start_ct cc-stopreaper
	ct_gate "$PID" cc-go
	run_bg s as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c "echo > /cc-go.up; read _ < /cc-go; exit 5"
	ct_gate_reached "$PID" cc-go
	# the tool is the shell; its parent is the reaper
	sh=$(ct_hostpid "$PID" "^[0-9]+ $BB sh -c ")
	reaper=$(awk '/^PPid:/ {print $2}' "/proc/$sh/status" 2>/dev/null)
	log "  tool: $sh, reaper: $reaper ($(cat "/proc/$reaper/comm" 2>/dev/null))"
	[ "$(cat "/proc/$reaper/comm" 2>/dev/null)" = crashcart-reap ] || { ct_gate_open "$PID" cc-go; fail "no reaper found above the tool"; }
	# The container stops the reaper every 10 ms, from before the tool
	# ends until the reaper is gone (through a pidfd: never another
	# process). Each stop is noted, and whether the gate was open by then.
	python3 -c '
import os, signal, sys, time
fd = os.pidfd_open(int(sys.argv[1]))
end = time.monotonic() + 60
try:
    while time.monotonic() < end:
        signal.pidfd_send_signal(fd, signal.SIGSTOP)
        open(sys.argv[2], "a").write("after\n" if os.path.exists(sys.argv[3]) else "before\n")
        time.sleep(0.01)
    signal.pidfd_send_signal(fd, signal.SIGCONT)
    sys.exit(1)
except ProcessLookupError:
    sys.exit(0)' "$reaper" "$CC_TT/stops" "$CC_TT/gate-opened" &
	stopper=$!
	wait_until 10 test -s "$CC_TT/stops" || { kill "$stopper"; ct_gate_open "$PID" cc-go; fail "the reaper was never stopped"; }
	touch "$CC_TT/gate-opened"
	ct_gate_open "$PID" cc-go
	wait_until 20 test -s "$CC_TT/s.rc" || { kill "$stopper"; kill -CONT "$reaper"; fail "crashcart hangs while the container stops the reaper"; }
	wait_bg s
	wait "$stopper" || fail "the reaper outlived the session"
	log "  SIGSTOPs: $(grep -c before "$CC_TT/stops") before the gate opened, $(grep -c after "$CC_TT/stops") after"
	expect_rc 5 "crashcart while the container stops the reaper (the tool's status)"
	wait_until 5 not_mounted_in "$PID" || fail "still mounted"
}

# A hostile operator passes a datagram socket as stdout: the broker would
# write the tool's text into it, and a reader that takes per-message
# credentials (journald, syslog) would see them as the broker's.
t_attack_socket_as_stdio() {
	start_ct cc-sockstdio
	audit_mark
	run as_op python3 -c '
import socket, subprocess, sys
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
r = subprocess.run(sys.argv[1:], stdout=a.fileno(), stderr=subprocess.PIPE)
sys.stderr.write(r.stderr.decode())
sys.exit(r.returncode)' "$CC_BIN" -i "$IMG_EXT4" "$PID" $BB echo 'MESSAGE=forged'
	expect_rc 125 "a unix datagram socket as stdout"
	expect_one_error_line
	case $ERR in *"stdout is a datagram socket"*) ;; *) fail "the error does not say why: $ERR" ;; esac
	expect_nothing_mounted "$PID" "$IMG_EXT4"
	audit_new | jq -se 'any(.[]; .event == "exec" and .phase == "refused")' >/dev/null || fail "no refused exec record"
	# a stream socket (ssh's and systemd's stdio may be one) is fine
	run as_op python3 -c '
import socket, subprocess, sys
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
r = subprocess.run(sys.argv[1:], stdout=a.fileno())
a.close()
sys.stdout.write(b.recv(100).decode())
sys.exit(r.returncode)' "$CC_BIN" -i "$IMG_EXT4" "$PID" $BB echo through-a-stream
	expect_rc 0 "a unix stream socket as stdout"
	expect_out through-a-stream
}

# `crashcart ID yes | head -1`: the reader of the output goes away; the
# tool must see it (SIGPIPE), not block forever.
t_attack_closed_output_pipe() {
	start_ct cc-pipeclosed
	log "\$ as_op cc $PID yes | head -n1"
	OUT=$(timeout 20 setpriv --reuid="$(op_uid)" --regid="$(id -g "$OP_USER")" --init-groups -- \
		sh -c '"$0" -i "$1" "$2" /dev/crashcart/bin/busybox yes | head -n1' "$CC_BIN" "$IMG_EXT4" "$PID")
	RC=$?
	[ "$RC" = 0 ] || fail "crashcart ... | head -n1 did not end ($RC)"
	expect_out y
	wait_until 5 ct_proc_gone "$PID" 'busybox yes' || fail "yes is still running"
	wait_until 5 not_mounted_in "$PID" || fail "still mounted"
}
