# shellcheck shell=bash
# The fault matrix (issue 15): for each step of a session, each of the
# processes a session is made of is killed there (SIGKILL), or the disk the
# audit log or the session recording is written to is full from there on.
# Then: nothing is left that no session owns (or the next crashcart command
# on the container tidies it and says so), no loop device, no
# /dev/crashcart that crashcart made, no process of the session; the audit
# chain verifies and says how the session ended.
#
# The broker is stopped at the step by the test build's fault hook
# (-Dfault_hooks=true, src/broker/fault.h): $FAULT_FILE names the step, the
# broker raises SIGSTOP there, the test sees it stopped, does the damage and
# lets it go on (SIGCONT). "tool" needs no hook: the tool is seen running.
#
# Each cell's outcome goes to $CC_T/fault-matrix (one TSV line), and
# t_fault_table prints the table that SECURITY.md carries (set
# CC_FAULT_TABLE=FILE to have it written there as well).
# shellcheck disable=SC2034  # TESTS is read by run.sh
# shellcheck disable=SC2016  # $BB etc. meant for the tool's shell
# shellcheck disable=SC2015,SC2153  # a && b || fail; BROKER is lib.sh's

TESTS+=(
	t_fault_kill_worker
	t_fault_kill_broker
	t_fault_kill_launcher
	t_fault_kill_container
	t_fault_audit_full
	t_fault_recording_full
	t_fault_table
)

FAULT_STEPS="begin loop fsmount move_mount tool unmount"
FAULT_MATRIX=$CC_T/fault-matrix

# The log directory on two small tmpfs of its own (audit log, recordings),
# so that either can be filled: a fresh audit log (its own chain: the
# suite's earlier records and recordings are not this test's to verify)
# and an empty session directory, made as the install script makes them.
# The install's own files are back when the test ends.
fault_disks() {
	local logdir=${AUDIT%/*}
	mount -t tmpfs -o size=16m,mode=755 cc-fault-audit "$logdir" || fail "cannot mount a tmpfs on $logdir"
	FAULT_MOUNTS="$logdir"
	install -m 660 -o root -g "$OPS_GROUP" /dev/null "$AUDIT" || fail "cannot make a fresh $AUDIT"
	mkdir "$SESSIONS" && mount -t tmpfs -o size=16m cc-fault-sessions "$SESSIONS" || fail "cannot mount a tmpfs on $SESSIONS"
	FAULT_MOUNTS="$SESSIONS $logdir"
	chown "root:$OPS_GROUP" "$SESSIONS" && chmod 1730 "$SESSIONS" || fail "cannot set up $SESSIONS"
	trap 'rc=$?; trap - EXIT; fault_undo; ct_stop_all; broker_restore_caps; exit $rc' EXIT
}
fault_undo() {
	local m
	rm -f "$FAULT_FILE"
	[ -n "${FAULT_MOUNTS:-}" ] && cp "$AUDIT" "$CC_TT/audit.log" 2>/dev/null # for a look afterwards (CC_IT_KEEP=1)
	for m in ${FAULT_MOUNTS:-}; do umount "$m" || umount -l "$m"; done
	FAULT_MOUNTS=
}

# fill DIR: the filesystem of DIR has no free block left
fill() {
	dd if=/dev/zero of="$1/.fill" bs=64k 2>/dev/null
	dd if=/dev/zero of="$1/.fill2" bs=512 2>/dev/null
	return 0
}
unfill() { rm -f "$1/.fill" "$1/.fill2"; }

# brokers: "PID PPID STATE" of every live process of this install's broker
# (the broker, its launcher: the same program, forked; zombies hold nothing
# and are init's to reap). Other installs' brokers may run on the machine.
brokers() {
	local p
	for p in $(pgrep -x crashcart-broke); do
		[ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$BROKER" ] || continue
		awk '$3 != "Z" {print $1, $4, $3}' "/proc/$p/stat" 2>/dev/null
	done
}
# the session's broker: the one whose parent is the worker $1
broker_of() { brokers | awk -v w="$1" '$2 == w {print $1; exit}'; }
launcher_of() { brokers | awk -v b="$1" '$2 == b {print $1; exit}'; }
proc_state() { awk '{print $3}' "/proc/$1/stat" 2>/dev/null; }
# stopped_broker: the broker (child of a crashcart worker) in state T
stopped_broker() {
	local pid ppid st
	while read -r pid ppid st; do
		[ "$st" = T ] && [ "$(cat "/proc/$ppid/comm" 2>/dev/null)" = crashcart ] && { echo "$pid"; return 0; }
	done < <(brokers)
	return 1
}

# session_leftovers PID: the processes of the container other than its init
session_leftovers() { ct_procs "$1" | grep -v ' /sleeper $'; }
no_session_leftovers() { [ -z "$(session_leftovers "$1")" ]; }
no_brokers() { [ -z "$(brokers)" ]; }

# what_is_left PID IMG: "" when clean, else what is there (the container's
# mount and /dev/crashcart, if it lives; loop devices; crashcart processes)
what_is_left() {
	local pid=$1 img=$2 out="" procs
	if [ -d "/proc/$pid" ] && ! proc_gone "$pid"; then
		is_mounted_in "$pid" && out+="mount; "
		[ -e "/proc/$pid/root/dev/crashcart" ] && ! is_mounted_in "$pid" && out+="dir; "
		# the reaper has END_MS (5 s) to end what the tool left
		wait_until 8 no_session_leftovers "$pid"
		procs=$(session_leftovers "$pid")
		[ -n "$procs" ] && out+="session processes ($(printf '%s' "$procs" | tr '\n' ',')); "
	fi
	wait_until 3 no_loops_for "$img" || out+="loop ($(loops_for "$img" | cut -d: -f1)); "
	wait_until 8 no_brokers || out+="crashcart processes ($(brokers | tr '\n' ',')); "
	printf '%s' "${out%; }"
}

# fault_cell STEP FAULT: one cell of the matrix. FAULT: worker, broker,
# launcher, container, audit-full, recording-full.
fault_cell() {
	local step=$1 fault=$2 name pid worker="" broker="" launcher bg i rc err left tidy="" tidy_err sess end verify
	local tool=("$BB" true)
	name=cc-f$((++FAULT_N))
	start_ct "$name"
	pid=$PID
	audit_mark
	[ "$step" = tool ] && tool=("$BB" sh -c "exec 2>/dev/null; $BB sleep 600; $BB seq 1 40000")
	[ "$step" = tool ] || echo "$step" > "$FAULT_FILE"
	(exec setpriv --reuid="$(op_uid)" --regid="$(id -g "$OP_USER")" --init-groups -- \
		"$CC_BIN" -i "$IMG_EXT4" "$pid" "${tool[@]}" </dev/null >"$CC_TT/cell.out" 2>"$CC_TT/cell.err") &
	bg=$!
	if [ "$step" = tool ]; then
		wait_until 15 ct_proc_running "$pid" 'sleep 600' || fail "[$step/$fault] the tool did not start"
		for i in $(pgrep -x crashcart); do
			broker=$(broker_of "$i")
			[ -n "$broker" ] && { worker=$i; break; }
		done
	else
		wait_until 15 stopped_broker >/dev/null || { kill "$bg"; fail "[$step/$fault] the broker did not stop at step $step"; }
		broker=$(stopped_broker)
		worker=$(awk '{print $4}' "/proc/$broker/stat")
	fi
	rm -f "$FAULT_FILE"
	[ -n "$broker" ] || fail "[$step/$fault] no broker found"
	launcher=$(launcher_of "$broker")
	log "  [$step/$fault] worker $worker broker $broker launcher ${launcher:--}"
	case $fault in
	worker) kill -KILL "$worker" ;;
	broker) kill -KILL "$broker" ;;
	launcher)
		if [ -n "$launcher" ]; then kill -KILL "$launcher"; else launcher=gone; fi ;;
	container) kill -KILL "$(cat "$CTDIR/$name/upid")" "$pid"; wait_until 5 proc_gone "$pid" ;;
	audit-full) fill "${AUDIT%/*}" ;;
	recording-full) fill "$SESSIONS" ;;
	esac
	kill -CONT "$broker" 2>/dev/null
	# the tool is to end now (the one of "tool" sleeps): its output follows
	[ "$step" = tool ] && for i in $(ct_procs "$pid" | awk '$3 == "sleep" && $4 == "600" {print $1}'); do kill -TERM "$i"; done
	wait_until 30 proc_gone "$bg" || { kill -KILL "$bg"; soft_fail "[$step/$fault] crashcart still runs 30 s after the fault"; }
	wait "$bg"
	rc=$?
	# a killed worker leaves its broker to finish (and clean up) alone
	wait_until 15 no_brokers || soft_fail "[$step/$fault] the broker still runs 15 s after the session"
	err=$(grep -v ' Killed ' "$CC_TT/cell.err" | tr '\n' ' ' | sed 's/ $//')
	log "  rc=$rc stderr: $err"
	unfill "${AUDIT%/*}"
	unfill "$SESSIONS"
	case $rc in 0|125|137|143) ;; *) soft_fail "[$step/$fault] crashcart exited $rc (a crash?)" ;; esac
	# a failure says what happened: crashcart's own lines only, at least one
	if [ "$rc" = 125 ]; then
		[ -s "$CC_TT/cell.err" ] && ! grep -v '^crashcart: ' "$CC_TT/cell.err" | grep -q '[^[:space:]]' ||
			soft_fail "[$step/$fault] exit 125 without a clear message: $err"
	fi

	# what the fault left; the next command on the container tidies it
	left=$(what_is_left "$pid" "$IMG_EXT4")
	log "  left after the fault: ${left:-nothing}"
	if ! proc_gone "$pid"; then
		# another image than the one left mounted, where there is one: what
		# a killed session left is removed whatever it is of
		local next_img=$IMG_EXT4
		[ -f "$IMG_SQUASH" ] && next_img=$IMG_SQUASH
		# after an interrupted unmount the natural next command is -u
		if [ "$step" = unmount ]; then
			run as_op cc -u "$pid"
		else
			run as_op cc -i "$next_img" "$pid" "$BB" true
		fi
		tidy_err=$ERR
		[ "$RC" = 0 ] || soft_fail "[$step/$fault] the next session failed: $ERR"
		if [ -n "$left" ]; then
			case $left in
			*mount*|*dir*)
				printf '%s' "$tidy_err" | grep -q 'tidied' ||
					soft_fail "[$step/$fault] the next command did not say it tidied ($left): $tidy_err" ;;
			esac
			tidy=" → the next command tidied it, saying so"
		fi
		local still
		still=$(what_is_left "$pid" "$IMG_EXT4")
		wait_until 3 no_loops_for "$next_img" || still+=" loop of $next_img"
		[ -z "$still" ] || soft_fail "[$step/$fault] left after the next command too: $still"
	else
		# no container: its mount namespace went with it
		case $left in *loop*|*processes*) soft_fail "[$step/$fault] left behind: $left" ;; esac
	fi
	case $left in *processes*) soft_fail "[$step/$fault] processes left: $left" ;; esac
	case $left in *loop*) [[ $left == *mount* ]] || soft_fail "[$step/$fault] a loop device without a mount: $left" ;; esac

	# the chain, and how the session ended
	sess=$(audit_new | jq -r 'select(.target.pid == '"$pid"') | .session' | head -n1)
	run as_op cc audit verify "$AUDIT" --sessions "$SESSIONS"
	verify=$OUT$ERR
	[ "$RC" = 0 ] || soft_fail "[$step/$fault] audit verify exits $RC: $verify"
	printf '%s' "$OUT" | grep -q 'chain intact' || soft_fail "[$step/$fault] the chain does not verify: $verify"
	# per operation of the session: its end record's result, or that it has none
	end=$(audit_new | jq -rs --arg s "$sess" '[.[] | select(.session == $s)] as $r
		| reduce ($r[] | .event) as $e ([]; if index([$e]) then . else . + [$e] end)
		| map(. as $e | ([$r[] | select(.event == $e and (.phase == "end" or .phase == "refused"))] | last) as $x
			| if $x then "\($e) \($x.result)\(if $x.exit then " (\($x.exit.kind) \($x.exit.value))" else "" end)"
			  else "\($e) begin, no end" end)
		| join(", ")')
	# a session that did not end is named by verify, with what did not end
	case $end in *"begin, no end"*)
		printf '%s' "$verify" | grep -q "session $sess" || soft_fail "[$step/$fault] verify does not name session $sess ($end)" ;;
	esac
	local said="chain intact" msg
	if [ -n "$sess" ] && printf '%s' "$verify" | grep -q "session $sess"; then
		said+=", $(printf '%s\n' "$verify" | grep "session $sess" | head -n1 | sed 's/^.*session [0-9a-f]*: //
			s/^\([a-z-]*\) begin (record [0-9]*) has no end record.*/\1 without end/
			s/^no end record.*/exec without end/; s/ (.*//')"
	fi
	msg=$(grep '^crashcart: ' "$CC_TT/cell.err" | tail -n1 | sed 's/^crashcart: //; s/[0-9a-f]\{32\}/ID/g; s/PID [0-9]*/PID N/g' | cut -c1-90)
	left=$(printf '%s' "${left:-nothing}" | sed 's/ ([^)]*)//g; s/;/,/g')
	printf '%s\t%s\t%s\n' "$step" "$fault" "**$rc**${msg:+ “$msg”} · left: $left$tidy · ${end:-no records} · verify: $said" >> "$FAULT_MATRIX"
	ct_stop "$name"
}

fault_column() {
	local s
	grep -q -a fault-step "$BROKER" || fail "the broker was built without -Dfault_hooks=true (run.sh builds it so)"
	FAULT_N=0
	fault_disks
	for s in $FAULT_STEPS; do fault_cell "$s" "$1"; done
	fault_undo
}

t_fault_kill_worker() { fault_column worker; }
t_fault_kill_broker() { fault_column broker; }
t_fault_kill_launcher() { fault_column launcher; }
t_fault_kill_container() { fault_column container; }
t_fault_audit_full() { fault_column audit-full; }
t_fault_recording_full() { fault_column recording-full; }

# The table, from the cells' lines: rows steps, columns faults.
t_fault_table() {
	[ -s "$FAULT_MATRIX" ] || skip "no fault cells ran (run the t_fault_* tests first)"
	local table line
	table=$(awk -F '\t' -v steps="$FAULT_STEPS" '
		{ cell[$1 SUBSEP $2] = $3; if (!($2 in seen)) { seen[$2] = 1; cols[++nc] = $2 } }
		END {
			ns = split(steps, st, " ")
			printf "| step |"; for (c = 1; c <= nc; c++) printf " %s |", cols[c]; printf "\n"
			printf "|---|"; for (c = 1; c <= nc; c++) printf "---|"; printf "\n"
			for (s = 1; s <= ns; s++) {
				printf "| %s |", st[s]
				for (c = 1; c <= nc; c++) { v = cell[st[s] SUBSEP cols[c]]; gsub(/\|/, "/", v); printf " %s |", v }
				printf "\n"
			}
		}' "$FAULT_MATRIX")
	printf '%s\n' "$table"
	while IFS= read -r line; do note "$line"; done <<<"$table"
	[ -n "${CC_FAULT_TABLE:-}" ] && printf '%s\n' "$table" > "$CC_FAULT_TABLE"
	return 0
}
