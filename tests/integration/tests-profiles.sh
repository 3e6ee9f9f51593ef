# shellcheck shell=bash
# Tool profiles (sourced by tests.sh): restricted, ptrace and netadmin, with
# the tools they are for (gdb, strace, ss, tcpdump, ip, nft from the toolbox
# image lib.sh builds) against real processes in microcontainers whose main
# process runs as root and as a non-root uid (victim.c). Each tool works
# under its profile and fails under restricted; each profile's capabilities
# and ids are read from /proc/self/status of the tool; a capability a
# profile keeps is shown to be needed by taking it away (dropcaps.c); a
# default install (no -Dprofiles) refuses the profiles and says how to
# enable them.
# shellcheck disable=SC2016,SC2034,SC2086,SC2154

TESTS+=(
	t_prof_install_opt_in
	t_prof_default_install_refuses
	t_prof_caps_exact
	t_prof_ptrace_root_target
	t_prof_ptrace_user_target
	t_prof_ptrace_nondumpable_target
	t_prof_ptrace_reaper_filtered
	t_prof_ptrace_tool_not_traceable
	t_prof_refuses_foreign_procfs
	t_prof_ptrace_refuses_host_task
	t_prof_restricted_refuses_tracing
	t_prof_ptrace_perf_counts
	t_prof_netadmin_tcpdump_and_changes
	t_prof_netadmin_refuses_linked_netns
	t_prof_netadmin_refuses_foreign_netns_in_pidns
	t_prof_netadmin_refuses_foreign_nsfs
	t_prof_userns_target_refused
)

TB=/dev/crashcart/bin
VICTIM_UID=4242
# the bits of /proc/PID/status's Cap* lines
CAPBIT_PTRACE=$(printf '%016x' $((1 << 19)))
CAPBIT_NET=$(printf '%016x' $(((1 << 12) | (1 << 13))))
CAPBIT_NONE=0000000000000000

need_toolbox() {
	[ -f "$IMG_TOOLBOX" ] || skip "no toolbox image: image/build could not make it when the suite was set up (Debian archive unreachable?)"
}

# prof_policy PROFILE: the operators may mount, unmount and exec with PROFILE
prof_policy() {
	set_policy <<-EOF
	[it-$1]
	group = $OPS_GROUP
	actions = mount, unmount, exec
	image = $IMGDIR/*
	target = *
	profile = $1
	EOF
}

worker_pid() { # worker_pid INIT_PID: the victim's worker, once it runs
	local w
	w=$(awk '{print $1}' "/proc/$1/task/$1/children" 2>/dev/null)
	[ -n "$w" ] && [[ "$(tr '\0' ' ' < "/proc/$w/cmdline" 2>/dev/null)" == "/sleeper run "* ]] &&
		grep -q ':1E61 00000000:0000 0A' "/proc/$w/net/tcp" 2>/dev/null && echo "$w"
}

# start_victim NAME [UID]: a microcontainer whose init and worker are
# victim.c, as root or as UID; sets PID (its init), WPID (the worker, host
# PID) and W (the worker's PID in the container); dropcaps is at /dropcaps
# inside.
start_victim() {
	PID=$(CT_INIT=$HBIN/victim CT_UID=${2:-} ct_start "$1") || fail "cannot start the victim container $1"
	install -m 0755 "$HBIN/dropcaps" "$CTDIR/$1/root/dropcaps" || fail "cannot put dropcaps in $1"
	wait_until 5 worker_pid "$PID" >/dev/null || fail "the victim's worker did not start in $1"
	WPID=$(worker_pid "$PID")
	# its PID in the container's PID namespace (the set-up's children took the first ones)
	W=$(awk '/^NSpid:/ {print $NF}' "/proc/$WPID/status")
	GDB_ARGS=(-nx -batch -p "$W" -ex 'print/x cc_marker' -ex 'break cc_tick' -ex continue -ex bt -ex detach)
	log "# victim container $1: init $PID, worker $WPID, $(grep -E '^Uid' "/proc/$WPID/status" | tr '\t' ' ')"
}

tool() { run as_op cc -i "$IMG_TOOLBOX" "$PID" "$@"; }

# status_line NAME: that line of the tool's /proc/self/status (in $OUT)
status_line() { printf '%s\n' "$OUT" | sed -n "s/^$1:[[:space:]]*//p" | tr '\t' ' '; }

# ---------------------------------------------------------------- install

# tools/install-broker.sh (meson's install script) on a copy: the default
# gives the base set only; each -Dprofiles= word adds its capabilities.
t_prof_install_opt_in() {
	local d=$CC_T/prof-install got want prof
	for prof in "" ptrace netadmin "ptrace,netadmin"; do
		rm -rf "$d"
		{ mkdir -p "$d" && cp "$BROKER" "$d/broker"; } || fail "cannot copy the broker"
		"$CC_SRC/tools/install-broker.sh" "$d/broker" "$OPS_GROUP" "$d/log/audit.log" setcap "$d/policy.conf" \
			"$P/share/crashcart/policy.conf.default" no_audit_write "$d/sessions" "$prof" > "$d/out" 2>&1 ||
			fail "install-broker.sh with profiles '$prof' failed: $(cat "$d/out")"
		got=$(getcap "$d/broker" | sed 's/^[^ ]* //; s/=p$//' | tr ',' '\n' | sort | xargs)
		want=$REQUIRED_CAPS
		case $prof in
		"") ;;
		ptrace) want="$want cap_setuid cap_setgid" ;;
		netadmin) want="$want cap_net_admin cap_net_raw" ;;
		*) want="$want $PROFILE_CAPS" ;;
		esac
		want=$(tr ' ' '\n' <<<"$want" | sort | xargs)
		getcap "$d/broker" | grep -q '=p$' || fail "-Dprofiles='$prof': the capabilities are not permitted-only: $(getcap "$d/broker")"
		log "  profiles '$prof': $got"
		[ "$got" = "$want" ] || fail "-Dprofiles='$prof' gave the broker '$got', want '$want'"
	done
	rm -rf "$d"
}

# What a default install has (the base set only): ptrace and netadmin are
# refused with one line that names the missing capabilities and the
# option; the refusal is on record; restricted still works.
t_prof_default_install_refuses() {
	local prof want rec
	pol_trap
	start_ct cc-prof-default
	broker_setcaps $REQUIRED_CAPS
	for prof in ptrace netadmin; do
		case $prof in ptrace) want="CAP_SETGID, CAP_SETUID" ;; netadmin) want="CAP_NET_ADMIN, CAP_NET_RAW" ;; esac
		prof_policy $prof
		audit_mark
		run as_op cc -i "$IMG_EXT4" "$PID" $BB true
		refusal "$PID" "$IMG_EXT4" "profile $prof on a default install"
		case $ERR in *"profile $prof needs $want, which crashcart-broker was not installed with"*"-Dprofiles=$prof"*) ;;
			*) fail "the refusal does not name $want and -Dprofiles=$prof: $ERR" ;; esac
		rec=$(last_refusal exec)
		printf '%s' "$rec" | jq -e '.result == "refused" and (.error | contains("-Dprofiles="))' >/dev/null ||
			fail "no refused exec record with the reason: $rec"
	done
	prof_policy restricted
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 0 "restricted on a default install"
}

# ---------------------------------------------------------------- what the tool holds

# Each profile's capabilities and ids, exactly, from the tool's own
# /proc/self/status, for a program the tool's shell starts (a second exec:
# as uid 0 nothing is gained on exec, no_new_privs), and in the audit record.
t_prof_caps_exact() {
	local prof want_cap want_ids bnd rec tgroups
	need_toolbox
	pol_trap
	start_victim cc-prof-caps
	tgroups=$(sed -n 's/^Groups:[[:space:]]*//p' "/proc/$PID/status" | xargs)
	bnd=$(as_op grep '^CapBnd' /proc/self/status | sed 's/^CapBnd:[[:space:]]*//')
	for prof in restricted ptrace netadmin; do
		prof_policy $prof
		audit_mark
		tool $TB/busybox sh -c "$TB/busybox grep -E '^(Uid|Gid|Groups|Cap[A-Za-z]+|NoNewPrivs|Seccomp):' /proc/self/status"
		expect_rc 0 "status under $prof"
		case $prof in
		restricted) want_cap=$CAPBIT_NONE want_ids="$(op_uid) $(op_uid) $(op_uid)" ;;
		ptrace) want_cap=$CAPBIT_PTRACE want_ids="0 0 0" ;;
		netadmin) want_cap=$CAPBIT_NET want_ids="$(op_uid) $(op_uid) $(op_uid)" ;;
		esac
		for c in CapInh CapPrm CapEff CapAmb; do
			[ "$(status_line $c)" = "$want_cap" ] || fail "$prof: $c is '$(status_line $c)', want $want_cap"
		done
		[ "$(status_line CapBnd)" = "$bnd" ] || fail "$prof: CapBnd is '$(status_line CapBnd)', want the operator's $bnd"
		[ "$(status_line NoNewPrivs)" = 1 ] || fail "$prof: NoNewPrivs is not 1"
		[ "$(status_line Seccomp)" = 2 ] || fail "$prof: no seccomp filter"
		case "$(status_line Uid)" in "$want_ids "*) ;; *) fail "$prof: Uid is '$(status_line Uid)', want $want_ids" ;; esac
		[ "$prof" != ptrace ] || [ "$(status_line Groups | xargs)" = "$tgroups" ] ||
			fail "ptrace: Groups is '$(status_line Groups)', want the target's ($tgroups)"
		rec=$(audit_new | jq -sc 'map(select(.event == "exec" and .phase == "begin")) | last')
		case $prof in
		restricted) printf '%s' "$rec" | jq -e '.profile == "restricted" and .tool_caps == "" and (has("tool_ids") | not)' ;;
		ptrace) printf '%s' "$rec" | jq -e --arg ids "0 0 0 0 0 0${tgroups:+ $tgroups}" \
			'.profile == "ptrace" and .tool_caps == "CAP_SYS_PTRACE" and .tool_ids == $ids' ;;
		netadmin) printf '%s' "$rec" | jq -e '.profile == "netadmin" and .tool_caps == "CAP_NET_ADMIN, CAP_NET_RAW"' ;;
		esac >/dev/null || fail "$prof: the exec record does not say the profile, its capabilities and ids: $rec"
	done
	# the non-root container: ptrace takes its uid, gid and groups
	ct_stop cc-prof-caps
	start_victim cc-prof-caps-u $VICTIM_UID
	prof_policy ptrace
	tool $TB/busybox grep -E '^(Uid|Gid|Groups|CapEff):' /proc/self/status
	expect_rc 0 "status under ptrace, non-root target"
	[ "$(status_line Uid)" = "$VICTIM_UID $VICTIM_UID $VICTIM_UID $VICTIM_UID" ] || fail "Uid is '$(status_line Uid)'"
	[ "$(status_line Gid)" = "$VICTIM_UID $VICTIM_UID $VICTIM_UID $VICTIM_UID" ] || fail "Gid is '$(status_line Gid)'"
	[ "$(status_line Groups | xargs)" = "$VICTIM_UID" ] || fail "Groups is '$(status_line Groups)', want $VICTIM_UID"
	[ "$(status_line CapEff)" = "$CAPBIT_PTRACE" ] || fail "CapEff is '$(status_line CapEff)'"
}

# ---------------------------------------------------------------- ptrace


expect_gdb_works() { # the output of gdb "${GDB_ARGS[@]}"
	expect_rc 0 "gdb under ptrace ($1)"
	case $OUT in *"= 0x5eedc0de"*) ;; *) fail "gdb ($1) did not read cc_marker from the target's memory" ;; esac
	case $OUT in *"Breakpoint 1, "*cc_tick*) ;; *) fail "gdb ($1): the breakpoint on cc_tick did not hit" ;; esac
	printf '%s\n' "$OUT" | grep -Eq '^#1 .* in (worker|main) ' || fail "gdb ($1): the backtrace has no caller frame of cc_tick"
	case "$OUT$ERR" in *"Cannot access memory"*|*"/mem"*"Permission denied"*) fail "gdb ($1) could not read memory" ;; esac
}

# strace -p, /proc/PID/environ, ss -p and lsof -p as the target's ids
ptrace_tools_work() {
	tool $TB/busybox timeout 2 $TB/strace -p "$W"
	case $ERR in *"Process $W attached"*nanosleep*) ;; *) fail "strace -p $W ($1) did not trace the worker" ;; esac
	tool $TB/busybox sh -c "$TB/busybox tr '\\000' '\\n' < /proc/$W/environ"
	expect_rc 0 "/proc/$W/environ ($1)"
	expect_out "CC_VICTIM=environ-of-the-worker"
	tool $TB/ss -ltnp
	expect_rc 0 "ss -ltnp ($1)"
	printf '%s\n' "$OUT" | grep ':7777' | grep -q "users:((\"sleeper\",pid=$W," ||
		fail "ss -p ($1) does not show the worker's listening socket with its process"
	tool $TB/lsof -n -P -p "$W"
	printf '%s\n' "$OUT" | grep -Eq "^sleeper +$W .*TCP \*:7777 \(LISTEN\)" ||
		fail "lsof -p $W ($1) does not show the worker's listening socket"
}

# gdb attaches, reads memory, breaks and backtraces in a container whose
# process is root; without CAP_SYS_PTRACE (dropcaps, same ids) it cannot
# attach: the capability is needed (the kernel's cap_ptrace_access_check:
# root's capabilities are not a subset of the tool's).
t_prof_ptrace_root_target() {
	need_toolbox
	pol_trap
	start_victim cc-prof-root
	prof_policy ptrace
	tool $TB/gdb "${GDB_ARGS[@]}"
	expect_gdb_works "root target"
	ptrace_tools_work "root target"
	tool /dropcaps $TB/gdb "${GDB_ARGS[@]}"
	case "$OUT$ERR" in *"ptrace: Operation not permitted"*) ;;
		*) fail "gdb without CAP_SYS_PTRACE attached to the root process: the capability would not be needed" ;; esac
	tool /dropcaps $TB/busybox cat /proc/$W/environ
	[ "$RC" != 0 ] || fail "/proc/$W/environ of a root process was readable without CAP_SYS_PTRACE"
}

# The same as a non-root uid. Here the ids alone suffice (dropcaps still
# attaches: same ids, the worker holds no capability, no Yama); the
# capability stays for root and non-dumpable targets.
t_prof_ptrace_user_target() {
	local sess
	need_toolbox
	pol_trap
	start_victim cc-prof-user $VICTIM_UID
	prof_policy ptrace
	tool $TB/gdb "${GDB_ARGS[@]}"
	expect_gdb_works "uid $VICTIM_UID target"
	ptrace_tools_work "uid $VICTIM_UID target"
	# the recorded exec trail of a tool under the target's ids (exectrail.c
	# reads it with process_vm_readv: its /proc/PID/mem is not the operator's)
	audit_mark
	tool $TB/busybox sh -c "$TB/busybox true marker-of-the-trail; $TB/busybox sleep 777 & exit 0"
	expect_rc 0 "a recorded session under ptrace"
	sess=$(audit_new | jq -sr '[.[] | select(.event == "exec" and .phase == "end")] | last | .session')
	run as_op cc audit replay "$sess" --sessions "$SESSIONS" --log "$AUDIT" --commands
	expect_rc 0 "replay --commands"
	printf '%s\n' "$OUT" | grep -q "$TB/busybox true marker-of-the-trail" ||
		fail "the exec trail of the ptrace session does not have the tool's exec (unreadable memory?)"
	# what the tool left running (as the target's uid) ends with the session:
	# the reaper has the same ids, or it could not signal it
	audit_new | jq -se '[.[] | select(.event == "exec" and .phase == "end")] | last | .session_processes_ended == 1' \
		>/dev/null || fail "the session's leftover sleep was not ended by the reaper"
	pgrep -f 'sleep 777' >/dev/null && fail "sleep 777 (uid $VICTIM_UID) outlived the session"
	tool /dropcaps $TB/gdb "${GDB_ARGS[@]}"
	if [ "$RC" = 0 ] && [[ $OUT == *"= 0x5eedc0de"* ]]; then
		note "ptrace, non-root target: the target's ids alone let gdb attach; CAP_SYS_PTRACE is what root and non-dumpable targets need"
	else
		note "ptrace, non-root target: gdb needed CAP_SYS_PTRACE here too: $(printf '%s' "$OUT$ERR" | tail -n 1)"
	fi
}

# A non-root target that is not dumpable (its /proc/PID files are then
# root's): strace attaches as its ids only with CAP_SYS_PTRACE (the second
# reason the profile keeps it); gdb attaches but cannot read its memory,
# /proc/PID/mem being root's 0600 file (SECURITY.md, a limit of the profile).
t_prof_ptrace_nondumpable_target() {
	need_toolbox
	pol_trap
	start_victim cc-prof-nodump "$VICTIM_UID nodump"
	[ "$(stat -c %u "/proc/$WPID/mem")" = 0 ] || fail "the non-dumpable worker's /proc/PID/mem is not root's"
	prof_policy ptrace
	tool $TB/busybox timeout 2 $TB/strace -p "$W"
	case $ERR in *"Process $W attached"*nanosleep*) ;; *) fail "strace -p $W did not trace the non-dumpable worker" ;; esac
	tool /dropcaps $TB/busybox timeout 2 $TB/strace -p "$W"
	case $ERR in *"Operation not permitted"*) ;;
		*) fail "strace without CAP_SYS_PTRACE attached to a non-dumpable process: the capability would not be needed" ;; esac
	tool $TB/gdb "${GDB_ARGS[@]}"
	case "$OUT$ERR" in *"/mem"*"Permission denied"*) ;;
		*) fail "gdb read the memory of a non-dumpable process through /proc/PID/mem: SECURITY.md says it cannot" ;; esac
}

# The reaper is the tool's parent, with the same ids, and not dumpable:
# the ptrace profile's CAP_SYS_PTRACE attaches to it all the same. The tool
# (reapinj.c, planted in a container whose process is root) injects into
# the reaper a keyctl that the tool's own filter refuses; as host uid 0 it
# would name the host root's user keyring (keyrings are not namespaced).
# The reaper keeps the tool's filter too.
t_prof_ptrace_reaper_filtered() {
	local host
	pol_trap
	start_ct cc-prof-reap
	put_in_ct "$PID" "$HBIN/reapinj" reapinj || fail "cannot plant /reapinj"
	host=$("$HBIN/reapinj" self)
	log "  host root: $host"
	prof_policy ptrace
	run as_op cc -i "$IMG_EXT4" "$PID" /reapinj self
	expect_rc 0 "reapinj self under ptrace"
	expect_out "reapinj: self: Operation not permitted"
	run as_op cc -i "$IMG_EXT4" "$PID" /reapinj parent
	expect_rc 0 "reapinj parent under ptrace"
	[ "$OUT" = "reapinj: parent: ${host#reapinj: self: }" ] &&
		fail "the tool reached the host root's user keyring through the reaper: $OUT"
	case $OUT in "reapinj: attach: "*) fail "the tool could not attach to the reaper: the test proves nothing: $OUT" ;; esac
	expect_out "reapinj: parent: Operation not permitted"
}

# The ptrace profile's tool has the ids of a process of the container
# (root here), and is dumpable: what keeps that process from ptracing it is
# the tool's CAP_SYS_PTRACE, which Docker's default set lacks (the
# kernel's cap_ptrace_access_check). devopen.c, as container root with
# that set, is refused the attach. With CAP_SYS_PTRACE of its own
# (--cap-add SYS_PTRACE) it attaches: SECURITY.md, Open.
t_prof_ptrace_tool_not_traceable() {
	local bg hp out
	pol_trap
	start_ct cc-prof-trace
	put_in_ct "$PID" "$HBIN/devopen" devopen || fail "cannot plant /devopen"
	prof_policy ptrace
	as_op "$CC_BIN" -i "$IMG_EXT4" "$PID" $BB sleep 6 </dev/null >"$CC_TT/bg.out" 2>&1 &
	bg=$!
	wait_until 15 ct_proc_running "$PID" "^[0-9]+ $BB sleep 6 \$" || { wait "$bg"; fail "the tool did not start"; }
	hp=$(ct_hostpid "$PID" 'busybox sleep 6 $')
	log "  tool: $(grep -E '^(Uid|CapPrm)' "/proc/$hp/status" | tr '\t\n' '  ')"
	# block major 240 is for local use: no driver, the node opens nothing
	out=$(nsenter -t "$PID" -a /devopen 0 0 "$(nspid "$hp")" /devnode 240 0 x 2>&1)
	log "  container root (Docker's set): $out"
	case $out in *"attach: Operation not permitted"*) ;;
		*) fail "container root with Docker's default set attached to the ptrace tool: $out" ;; esac
	out=$(nsenter -t "$PID" -a /devopen -p 0 0 "$(nspid "$hp")" /devnode 240 0 x 2>&1)
	log "  container root (+CAP_SYS_PTRACE): $out"
	case $out in *"tool opens /devnode"*) note "a container with CAP_SYS_PTRACE drives the ptrace tool (SECURITY.md, Open)" ;; esac
	wait "$bg"
}

# A procfs of another PID namespace mounted in the container (a
# monitoring container's `-v /proc:/host/proc`; made here with nsenter -m,
# whose mount takes nsenter's own PID namespace, the host's): its
# /proc/PID/root, fd/ and ns/ links reach the host's processes. The
# container's root cannot follow them to a host root process (the kernel
# wants CAP_SYS_PTRACE for a tracee with more capabilities); the ptrace
# profile's tool, uid 0 with CAP_SYS_PTRACE, could: it read a root-only
# host file through /hostproc/PID/root of this test's own shell. So would netadmin's, to the host's
# network namespace through a host process of the operator's. Both
# profiles are refused there (125, on record); restricted still runs.
t_prof_refuses_foreign_procfs() {
	local secret=$CC_T/prof-secret prof rec out
	pol_trap
	start_ct cc-prof-hproc
	printf 'host-only-%s\n' "$$" > "$secret" && chmod 600 "$secret" || fail "cannot write $secret"
	put_in_ct "$PID" "$BUSYBOX" busybox || fail "cannot plant /busybox"
	# what Docker does to its own procfs: read-only binds of parts of it
	out=$(nsenter -t "$PID" -m -p -- /busybox mount --bind /proc/sys /proc/sys 2>&1 &&
		nsenter -t "$PID" -m -p -- /busybox mount -o remount,bind,ro /proc/sys 2>&1) || fail "cannot bind /proc/sys: $out"
	prof_policy ptrace
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 0 "ptrace with the container's own procfs and a read-only bind of its /proc/sys"
	mkdir "/proc/$PID/root/hostproc" && nsenter -t "$PID" -m -- /busybox mount -t proc proc /hostproc ||
		fail "cannot mount the host's procfs in the container"
	for prof in ptrace netadmin; do
		prof_policy $prof
		audit_mark
		run as_op cc -i "$IMG_EXT4" "$PID" $BB cat "/hostproc/$$/root$secret"
		[[ "$OUT" == *host-only-* ]] && fail "the $prof tool read a root-only host file through the host's procfs"
		expect_rc 125 "$prof with the host's procfs in the container ($OUT)"
		expect_one_error_line
		case $ERR in *"profile $prof refused: /hostproc is a procfs of another PID namespace"*) ;;
			*) fail "the refusal does not say why: $ERR" ;; esac
		rec=$(audit_new | jq -sc 'map(select(.event == "exec" and .phase == "end")) | last')
		printf '%s' "$rec" | jq -e '.result == "refused" and (.error | contains("procfs of another PID namespace"))' >/dev/null ||
			fail "no exec end record with result refused: $rec"
	done
	prof_policy restricted
	run as_op cc -i "$IMG_EXT4" "$PID" $BB cat "/hostproc/$$/root$secret"
	[ "$RC" != 0 ] || fail "restricted read a root-only host file"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 0 "restricted with the host's procfs in the container"
}

# A process in the container's PID namespace but in the host's mount
# namespace (`nsenter -t PID -p` by an administrator, without -m): its
# /proc/PID/root is the host's root, which the ptrace tool (uid 0 with
# CAP_SYS_PTRACE) followed to a root-only host file. ptrace and netadmin
# are refused while such a process is there (125, on record).
t_prof_ptrace_refuses_host_task() {
	local secret=$CC_T/prof-secret2 side spid cpid rec
	pol_trap
	# shellcheck disable=SC2317  # called from pol_trap's trap
	pol_extra_cleanup() { kill -KILL "$side" 2>/dev/null; }
	start_ct cc-prof-htask
	printf 'host-only-%s\n' "$$" > "$secret" && chmod 600 "$secret" || fail "cannot write $secret"
	nsenter -t "$PID" --pid -- sleep 300 </dev/null >/dev/null 2>&1 &
	side=$!
	wait_until 5 grep -q '[0-9]' "/proc/$side/task/$side/children" || fail "the process did not start"
	spid=$(awk '{print $1}' "/proc/$side/task/$side/children")
	cpid=$(awk '/^NSpid:/ {print $NF}' "/proc/$spid/status")
	[ "$(readlink "/proc/$spid/ns/mnt")" = "$(readlink /proc/self/ns/mnt)" ] || fail "set-up: not in the host's mount namespace"
	log "# host pid $spid, pid $cpid in the container, the host's mount namespace"
	prof_policy ptrace
	audit_mark
	run as_op cc -i "$IMG_EXT4" "$PID" $BB cat "/proc/$cpid/root$secret"
	[[ "$OUT" == *host-only-* ]] && fail "the ptrace tool read a root-only host file through /proc/$cpid/root"
	expect_rc 125 "ptrace with a process of the host's mount namespace in the container ($OUT)"
	expect_one_error_line
	case $ERR in *"profile ptrace refused: PID $cpid of the container's PID namespace is in the host's mount namespace"*) ;;
		*) fail "the refusal does not say why: $ERR" ;; esac
	rec=$(audit_new | jq -sc 'map(select(.event == "exec" and .phase == "end")) | last')
	printf '%s' "$rec" | jq -e '.result == "refused" and (.error | contains("mount namespace"))' >/dev/null ||
		fail "no exec end record with result refused: $rec"
}

# Under restricted (the operator's ids, no capability) each of these fails,
# saying why, in both containers.
t_prof_restricted_refuses_tracing() {
	local who
	need_toolbox
	pol_trap
	for who in root $VICTIM_UID; do
		if [ "$who" = root ]; then start_victim cc-prof-r-root; else start_victim cc-prof-r-user "$who"; fi
		prof_policy restricted
		tool $TB/gdb "${GDB_ARGS[@]}"
		case "$OUT$ERR" in *"ptrace: Operation not permitted"*) ;; *) fail "gdb -p under restricted ($who): no 'Operation not permitted'" ;; esac
		case $OUT in *"= 0x5eedc0de"*) fail "gdb read the target's memory under restricted ($who)" ;; esac
		tool $TB/busybox timeout 2 $TB/strace -p "$W"
		case $ERR in *"attach: ptrace(PTRACE_SEIZE, $W): Operation not permitted"*) ;;
			*) fail "strace -p under restricted ($who): no 'Operation not permitted'" ;; esac
		tool $TB/busybox cat /proc/$W/environ
		[ "$RC" != 0 ] || fail "/proc/$W/environ readable under restricted ($who)"
		case $ERR in *"Permission denied"*) ;; *) fail "/proc/$W/environ under restricted ($who): no 'Permission denied'" ;; esac
		tool $TB/ss -ltnp
		expect_rc 0 "ss -ltnp under restricted ($who)"
		printf '%s\n' "$OUT" | grep -q ':7777' || fail "ss does not list the worker's socket ($who)"
		printf '%s\n' "$OUT" | grep ':7777' | grep -q 'users:' && fail "ss -p showed the worker's process under restricted ($who)"
		tool $TB/tcpdump -i lo -c 1 -n
		[ "$RC" != 0 ] || fail "tcpdump ran under restricted ($who)"
		case "$OUT$ERR" in *"Operation not permitted"*) ;; *) fail "tcpdump under restricted ($who): no 'Operation not permitted'" ;; esac
		ct_stop_all
	done
}

# perf stat -p (issue 12): under ptrace the tool, as the target's uid, opens
# a user-space task-clock counter on the container's worker and reads a
# count (perfcount.c: perf's first call, without the perf binary); under
# restricted the tool's filter refuses perf_event_open with EPERM, against
# a root target whose uid the restricted tool shares (the kernel alone would
# allow it at perf_event_paranoid 2: the EPERM is the filter's); under
# netadmin too. The CPU-wide form (pid -1) stays the kernel's to refuse.
t_prof_ptrace_perf_counts() {
	local paranoid who prof
	paranoid=$(cat /proc/sys/kernel/perf_event_paranoid)
	[ "$paranoid" -le 2 ] || skip "perf_event_paranoid is $paranoid: no perf for the unprivileged on this host"
	pol_trap
	for who in $VICTIM_UID root; do
		if [ "$who" = root ]; then start_victim cc-prof-perf-root; else start_victim cc-prof-perf-user "$who"; fi
		install -m 0755 "$HBIN/perfcount" "$CTDIR/cc-prof-perf-${who/$VICTIM_UID/user}/root/perfcount" ||
			fail "cannot put perfcount in the container"
		prof_policy ptrace
		run as_op cc -i "$IMG_SQUASH" "$PID" /perfcount "$W"
		expect_rc 0 "perfcount of the worker under ptrace ($who target): $OUT"
		[[ $OUT == "perf_event_open pid=$W: ok task-clock="* ]] || fail "perfcount under ptrace ($who): $OUT"
		log "  ptrace ($who target): $OUT"
		for prof in restricted netadmin; do
			prof_policy $prof
			run as_op cc -i "$IMG_SQUASH" "$PID" /perfcount "$W"
			[ "$RC" != 0 ] || fail "perf_event_open was allowed under $prof ($who target)"
			[ "$OUT" = "perf_event_open pid=$W: EPERM" ] || fail "perfcount under $prof ($who target): '$OUT', want EPERM"
		done
		ct_stop_all
	done
	# the real perf of the toolbox image, and its wrapper's line
	[ -f "$IMG_TOOLBOX" ] || { note "no toolbox image: perf itself not run"; return 0; }
	start_victim cc-prof-perf-real $VICTIM_UID
	prof_policy ptrace
	tool $TB/perf stat -e task-clock -p "$W" -- $TB/busybox sleep 1
	expect_rc 0 "perf stat -p of the worker under ptrace: $ERR"
	printf '%s\n' "$ERR" | grep -Eq '[0-9.]+ msec task-clock' || fail "perf stat under ptrace counted nothing: $ERR"
	log "  perf stat under ptrace: $(printf '%s\n' "$ERR" | grep -m1 task-clock)"
	[[ $ERR == *"crashcart: "* ]] && fail "the perf wrapper added a crashcart line under ptrace: $ERR"
	# perf record | perf report, in pipe mode (the container has nowhere
	# the tool's uid may write), of a busy loop perf starts itself: the
	# worker is idle, so a task-clock -p of it may well take no sample
	tool $TB/sh -c "$TB/perf record -q -e task-clock -o - -- $TB/busybox sh -c 'i=0; while [ \$i -lt 300000 ]; do i=\$((i+1)); done' | $TB/perf report -i - --stdio --sort comm"
	expect_rc 0 "perf record | perf report under ptrace: $ERR"
	printf '%s\n' "$OUT" | grep -Eq '^# Samples: *[1-9]' || fail "perf record under ptrace recorded no sample: $OUT $ERR"
	printf '%s\n' "$OUT" | grep -Eq '%[[:space:]]+(busybox|sh)$' || fail "perf report names no sample of the loop: $OUT"
	for prof in restricted netadmin; do
		prof_policy $prof
		tool $TB/perf stat -e task-clock -p "$W" -- $TB/busybox sleep 1
		[ "$RC" != 0 ] || fail "perf stat worked under $prof"
		[[ $ERR == *"crashcart: perf_event_open is refused by this session's profile ($prof); a rule with profile = ptrace allows perf stat/record of the container's processes"* ]] ||
			fail "perf stat under $prof: no crashcart line: $ERR"
	done
	ct_stop_all
}

# ---------------------------------------------------------------- netadmin

# tcpdump captures a ping inside the container; ip and nft change the
# container's network namespace, and only that one; restricted can do none
# of it.
t_prof_netadmin_tcpdump_and_changes() {
	local host_tables
	need_toolbox
	pol_trap
	start_victim cc-prof-net
	host_tables=$(nft list tables 2>/dev/null)
	prof_policy restricted
	tool $TB/ip link set lo up
	[ "$RC" != 0 ] || fail "ip link set lo up worked under restricted"
	case $ERR in *"Operation not permitted"*) ;; *) fail "ip under restricted: no 'Operation not permitted'" ;; esac
	prof_policy netadmin
	tool $TB/busybox sh -c "$TB/ip link set lo up || exit 1
		$TB/tcpdump -i lo -n -l -c 2 icmp & t=\$!
		$TB/busybox sleep 1
		$TB/busybox ping -c 3 -W 1 127.0.0.1 >/dev/null
		wait \$t"
	expect_rc 0 "tcpdump of a ping under netadmin"
	printf '%s\n' "$OUT" | grep -q 'IP 127.0.0.1 > 127.0.0.1: ICMP echo request' ||
		fail "tcpdump did not capture the ping inside the container"
	grep -q 'UP' <<<"$(nsenter -n -t "$PID" ip -br link show lo)" || fail "lo of the container is not up after ip link set lo up"
	tool /dev/crashcart/sbin/nft add table inet crashcart_it
	expect_rc 0 "nft add table under netadmin"
	tool /dev/crashcart/sbin/nft list tables
	expect_rc 0 "nft list tables under netadmin"
	expect_out "table inet crashcart_it"
	[ "$(nft list tables 2>/dev/null)" = "$host_tables" ] || fail "nft changed the host's tables"
	tool $TB/ss -ltn
	expect_rc 0 "ss under netadmin"
	printf '%s\n' "$OUT" | grep -q ':7777' || fail "ss under netadmin does not list the container's socket"
}

# A container network namespace linked to the host's (a veth pair with one
# end outside, which gives the host's namespace an nsid inside): the host's
# links are one IFLA_TARGET_NETNSID away from CAP_NET_ADMIN there, so
# netadmin is refused (125, audited); restricted still runs.
t_prof_netadmin_refuses_linked_netns() {
	local veth=ccit-vh$$ rec
	need_toolbox
	pol_trap
	# shellcheck disable=SC2317  # called from pol_trap's trap
	pol_extra_cleanup() { ip link del "$veth" 2>/dev/null; }
	start_victim cc-prof-veth
	ip link add "$veth" type veth peer name eth0 netns "$PID" || skip "cannot make a veth pair here"
	prof_policy netadmin
	audit_mark
	tool $TB/ip -d link show
	expect_rc 125 "netadmin in a linked network namespace"
	expect_one_error_line
	case $ERR in *"profile netadmin refused: the container's network namespace is linked to another one"*) ;;
		*) fail "the refusal does not say why: $ERR" ;; esac
	rec=$(audit_new | jq -sc 'map(select(.event == "exec" and .phase == "end")) | last')
	printf '%s' "$rec" | jq -e '.result == "refused" and (.error | contains("linked to another"))' >/dev/null ||
		fail "no exec end record with result refused: $rec"
	prof_policy restricted
	tool $TB/ip -br link show eth0
	expect_rc 0 "restricted in a linked network namespace"
}

# A process of the container's PID namespace that lives in another network
# namespace (here the host's: a sidecar started with `--pid=container:X
# --net=host`, made with nsenter) is a name for that namespace: rtnetlink
# takes a PID of the caller's PID namespace (NETNSA_PID, IFLA_NET_NS_PID)
# and checks CAP_NET_ADMIN in the initial user namespace, which the tool
# holds. netreach.c, run as the tool, asks for an nsid for the host's
# namespace and makes a veth pair right in it. netadmin is refused there
# (125, audited); with the sidecar gone it runs, and netreach reaches
# nothing but the container's own namespace.
t_prof_netadmin_refuses_foreign_netns_in_pidns() {
	local side spid cpid name=ccnr$$ rec
	pol_trap
	# shellcheck disable=SC2317  # called from pol_trap's trap
	pol_extra_cleanup() { kill -KILL "$side" 2>/dev/null; ip link del "$name" 2>/dev/null; }
	start_ct cc-prof-nr
	put_in_ct "$PID" "$HBIN/netreach" netreach || fail "cannot plant /netreach"
	# nsenter forks into the PID namespace; the child stays in the host's net, mount namespaces
	nsenter -t "$PID" --pid -- sleep 300 </dev/null >/dev/null 2>&1 &
	side=$!
	wait_until 5 grep -q '[0-9]' "/proc/$side/task/$side/children" || fail "the sidecar did not start"
	spid=$(awk '{print $1}' "/proc/$side/task/$side/children")
	cpid=$(awk '/^NSpid:/ {print $NF}' "/proc/$spid/status")
	[ "$(readlink "/proc/$spid/ns/net")" = "$(readlink /proc/self/ns/net)" ] || fail "the sidecar is not in the host's network namespace"
	log "# sidecar: host pid $spid, pid $cpid in the container, host network namespace"
	prof_policy netadmin
	audit_mark
	run as_op cc -i "$IMG_EXT4" "$PID" /netreach "$cpid" "$name"
	ip link show "$name" >/dev/null 2>&1 && fail "the netadmin tool made link $name in the host's network namespace: $OUT"
	expect_rc 125 "netadmin with a process of another network namespace in the PID namespace ($OUT)"
	expect_one_error_line
	case $ERR in *"profile netadmin refused: PID $cpid of the container's PID namespace is in another network namespace"*) ;;
		*) fail "the refusal does not say why: $ERR" ;; esac
	rec=$(audit_new | jq -sc 'map(select(.event == "exec" and .phase == "end")) | last')
	printf '%s' "$rec" | jq -e '.result == "refused" and (.error | contains("another network namespace"))' >/dev/null ||
		fail "no exec end record with result refused: $rec"
	kill -KILL "$side" "$spid" 2>/dev/null
	wait "$side" 2>/dev/null
	wait_until 5 test ! -e "/proc/$spid" || fail "the sidecar did not end"
	# alone again: netadmin runs, and the PID of the tool's own namespace
	# reaches only that namespace
	run as_op cc -i "$IMG_EXT4" "$PID" /netreach 1 "$name"
	expect_rc 0 "netadmin once the sidecar is gone"
	log "  $OUT"
	ip link show "$name" >/dev/null 2>&1 && fail "link $name appeared in the host's network namespace"
	nsenter -n -t "$PID" ip -br link show "$name" >/dev/null 2>&1 || fail "netreach did not make $name in the container's namespace: $OUT"
}

# An nsfs file of the host's network namespace bound into the container
# (a CNI plugin's /run/netns, `ip netns` files): an fd of it names the
# namespace to rtnetlink (NETNSA_FD, IFLA_NET_NS_FD) as a PID does. The
# netadmin tool made a veth pair in the host's namespace through it
# (netreach.c). netadmin is refused there (125, on record).
t_prof_netadmin_refuses_foreign_nsfs() {
	local name=ccnf$$ rec
	pol_trap
	# shellcheck disable=SC2317  # called from pol_trap's trap
	pol_extra_cleanup() { ip link del "$name" 2>/dev/null; }
	PID=$(CT_HOSTNET=1 ct_start cc-prof-nsfs) || fail "cannot start the container"
	[ "$(stat -L -c %i "/proc/$PID/root/hostnet")" = "$(stat -L -c %i /proc/self/ns/net)" ] ||
		fail "set-up: /hostnet is not the host's network namespace"
	put_in_ct "$PID" "$HBIN/netreach" netreach || fail "cannot plant /netreach"
	prof_policy netadmin
	audit_mark
	run as_op cc -i "$IMG_EXT4" "$PID" /netreach /hostnet "$name"
	ip link show "$name" >/dev/null 2>&1 && fail "the netadmin tool made link $name in the host's network namespace: $OUT"
	expect_rc 125 "netadmin with the host's network namespace bound into the container ($OUT)"
	expect_one_error_line
	case $ERR in *"profile netadmin refused: /hostnet is another network namespace (nsfs)"*) ;;
		*) fail "the refusal does not say why: $ERR" ;; esac
	rec=$(audit_new | jq -sc 'map(select(.event == "exec" and .phase == "end")) | last')
	printf '%s' "$rec" | jq -e '.result == "refused" and (.error | contains("another network namespace"))' >/dev/null ||
		fail "no exec end record with result refused: $rec"
}

# ---------------------------------------------------------------- user namespaces

# A container in a user namespace of its own (made by hand: identity-mapped
# 0-65535, so that the mount works here today; mount.c and idmap.c cover
# the general case): ptrace and netadmin are refused there, with a reason
# and a record; restricted runs.
userns_child() { # the sleep under unshare $up, once it runs
	local c
	c=$(awk '{print $1}' "/proc/$up/task/$up/children" 2>/dev/null)
	[ -n "$c" ] && [ "$(cat "/proc/$c/comm" 2>/dev/null)" = sleep ] && echo "$c"
}

in_own_userns() { [ "$(readlink "/proc/$1/ns/user" 2>/dev/null)" != "$(readlink /proc/self/ns/user)" ]; }

t_prof_userns_target_refused() {
	# up is not local: pol_trap's EXIT trap, which kills it, runs after return
	local cpid prof rec
	pol_trap
	unshare --user --mount --pid --net --fork --kill-child --propagation private sh -c '
		while ! grep -q 65536 /proc/self/uid_map; do sleep 0.05; done
		mount -t tmpfs -o mode=755 tmpfs /dev && exec sleep 300' </dev/null >/dev/null 2>&1 &
	up=$!
	# shellcheck disable=SC2317  # called from pol_trap's trap
	pol_extra_cleanup() { kill -KILL "$up" 2>/dev/null; }
	# uid_map exists from the fork on: wait until unshare(2) has given the
	# process its own user namespace, or the write hits the initial one's
	wait_until 5 in_own_userns "$up" || fail "unshare did not make its user namespace"
	{ echo "0 0 65536" > "/proc/$up/uid_map" && echo "0 0 65536" > "/proc/$up/gid_map"; } || fail "cannot map the user namespace"
	wait_until 5 userns_child >/dev/null || fail "the user-namespaced container did not start"
	cpid=$(userns_child)
	log "# user-namespaced container: pid $cpid, uid_map $(tr -s ' ' < "/proc/$cpid/uid_map")"
	for prof in ptrace netadmin; do
		prof_policy $prof
		audit_mark
		run as_op cc -i "$IMG_EXT4" "$cpid" $BB id
		refusal "$cpid" "$IMG_EXT4" "$prof in a user-namespaced container"
		case $ERR in *"PID $cpid is in a user-namespaced container, and rule [it-$prof] gives the tool a profile with capabilities: only profile = restricted runs there"*) ;;
			*) fail "the refusal does not say why: $ERR" ;; esac
		rec=$(last_refusal mount)   # refused before anything is attached
		printf '%s' "$rec" | jq -e '.result == "refused" and (.error | contains("user-namespaced container"))' >/dev/null ||
			fail "no refused exec record: $rec"
	done
	prof_policy restricted
	run as_op cc -i "$IMG_EXT4" "$cpid" $BB id -u
	expect_rc 0 "restricted in a user-namespaced container"
	expect_out "$(op_uid)"
}
