# shellcheck shell=bash
# Load (issue 15): LOAD_SESSIONS sessions at once across LOAD_CONTAINERS
# microcontainers, mixed exec / -m / -u, while some containers are killed.
# Every session succeeds or fails with a clear message within a bounded
# time (no crash, no hang); the audit chain verifies with every session on
# record and every begin record ended; nothing is left behind.
# shellcheck disable=SC2034  # TESTS is read by run.sh
# shellcheck disable=SC2016  # $BB etc. meant for the tool's shell

TESTS+=(
	t_load_sessions
)

LOAD_SESSIONS=${CC_LOAD_SESSIONS:-200}
LOAD_CONTAINERS=${CC_LOAD_CONTAINERS:-20}
LOAD_KILLED="3 9 15"    # containers killed while the sessions start and run
LOAD_LIMIT=60           # seconds one session may take: more is a hang

t_load_sessions() {
	local i c pid kind t0 t1 rc ms maxms=0 n bad=0 ok=0 clear=0 tool_killed=0 killed_ct line uid gid
	local -a pids=() kinds=() cts=() jobs=()
	local dir=$CC_TT/load
	mkdir -p "$dir" && chmod 755 "$dir"
	fault_disks # a fresh audit log: this test's sessions only (tests-fault.sh)
	for c in $(seq 1 "$LOAD_CONTAINERS"); do
		pids[c]=$(ct_start "cc-load$c") || fail "cannot start container $c"
	done
	uid=$(op_uid) gid=$(id -g "$OP_USER")
	audit_mark
	t0=$(date +%s%N)
	for i in $(seq 1 "$LOAD_SESSIONS"); do
		c=$(( (i - 1) % LOAD_CONTAINERS + 1 ))
		pid=${pids[c]}
		case $(( i % 10 )) in
		0|5) kind="mount"; set -- -m -i "$IMG_EXT4" "$pid" ;;
		3) kind="unmount"; set -- -u "$pid" ;;
		*) kind="exec"; set -- -i "$IMG_EXT4" "$pid" "$BB" sh -c "echo load-$i; $BB sleep 1.$(( i % 7 ))" ;;
		esac
		kinds[i]=$kind cts[i]=$c
		# its exit status and how long it took (a hang is one that took the limit)
		( s=$(date +%s%N)
		  timeout -k 5 "$LOAD_LIMIT" setpriv --reuid="$uid" --regid="$gid" --init-groups -- \
			"$CC_BIN" "$@" </dev/null >"$dir/$i.out" 2>"$dir/$i.err"
		  echo "$? $(( ($(date +%s%N) - s) / 1000000 ))" > "$dir/$i.rc" ) &
		jobs[i]=$!
		# now and then a container goes, with sessions in flight there
		# and more to come
		if [ $(( i % (LOAD_SESSIONS / 3) )) = $(( LOAD_SESSIONS / 3 - 10 )) ]; then
			c=$(echo "$LOAD_KILLED" | cut -d' ' -f$(( i / (LOAD_SESSIONS / 3) + 1 )))
			log "  after $i sessions started: killing container $c (pid ${pids[c]})"
			kill -KILL "$(cat "$CTDIR/cc-load$c/upid")" "${pids[c]}"
		fi
	done
	for i in $(seq 1 "$LOAD_SESSIONS"); do wait "${jobs[i]}"; done
	t1=$(date +%s%N)

	# every session: success, or a failure that says what happened
	for i in $(seq 1 "$LOAD_SESSIONS"); do
		read -r rc ms < "$dir/$i.rc"
		[ "$ms" -gt "$maxms" ] && maxms=$ms
		killed_ct=no
		[[ " $LOAD_KILLED " == *" ${cts[i]} "* ]] && killed_ct=yes
		if [ "$ms" -ge $(( LOAD_LIMIT * 1000 )) ]; then
			soft_fail "session $i (${kinds[i]}, container ${cts[i]}) hung: stopped after $LOAD_LIMIT s"; bad=$((bad + 1))
			continue
		fi
		# the tool killed with its container: its own status (128+9)
		[ "$rc" = 137 ] && [ "$killed_ct" = yes ] && [ "${kinds[i]}" = exec ] && { tool_killed=$((tool_killed + 1)); continue; }
		case $rc in
		0)
			ok=$((ok + 1))
			if [ "${kinds[i]}" = exec ] && ! grep -qx "load-$i" "$dir/$i.out"; then
				soft_fail "session $i (exec) exited 0 without its output"; bad=$((bad + 1))
			fi ;;
		125)
			if [ -s "$dir/$i.err" ] && ! grep -v '^crashcart: ' "$dir/$i.err" | grep -q '[^[:space:]]'; then
				clear=$((clear + 1))
				printf '%s %s %s\n' "${kinds[i]}" "$killed_ct" "$(head -n1 "$dir/$i.err" | sed 's/[0-9]\{2,\}/N/g' | cut -c1-110)" >> "$dir/failures"
			else
				soft_fail "session $i (${kinds[i]}) exited 125 without a clear message: $(cat "$dir/$i.err")"; bad=$((bad + 1))
			fi ;;
		*)
			soft_fail "session $i (${kinds[i]}, container ${cts[i]}) exited $rc: $(cat "$dir/$i.err")"; bad=$((bad + 1)) ;;
		esac
	done
	note "$LOAD_SESSIONS sessions on $LOAD_CONTAINERS containers ($(echo "$LOAD_KILLED" | wc -w) killed meanwhile): $ok succeeded, $clear failed with a message, $tool_killed tools killed with their container, $bad otherwise; all done in $(( (t1 - t0) / 1000000 )) ms, the longest session $maxms ms"
	[ -s "$dir/failures" ] && sort "$dir/failures" | uniq -c | sort -rn | while read -r line; do note "  failed: $line"; done
	# only sessions of the killed containers, and -u racing the others' sessions, may fail
	n=$(awk '$2 == "no" && $1 != "unmount"' "$dir/failures" 2>/dev/null | wc -l)
	[ "$n" = 0 ] || soft_fail "$n exec/-m sessions on containers that were not killed failed"
	# (and some did: those started after their container was killed, at least)
	n=$(awk '$2 == "yes"' "$dir/failures" 2>/dev/null | wc -l)
	[ "$n" -gt 0 ] || soft_fail "no session of a killed container failed: the kills came too late to test anything"

	# the record: one broker session per crashcart run, every begin ended
	local recs
	recs=$(audit_new) || fail "the audit log has a line that is not JSON"
	n=$(printf '%s\n' "$recs" | jq -s '[.[].session] | unique | length')
	[ "$n" = "$LOAD_SESSIONS" ] || soft_fail "$n sessions on record, $LOAD_SESSIONS started"
	n=$(printf '%s\n' "$recs" | jq -rs 'group_by(.session + " " + .event) | map(select(any(.phase == "begin") and (any(.phase == "end") | not))) | length')
	[ "$n" = 0 ] || soft_fail "$n operations with a begin record and no end record"
	note "$(printf '%s\n' "$recs" | wc -l) records written"
	run as_op cc audit verify "$AUDIT" --sessions "$SESSIONS"
	[ "$RC" = 0 ] || soft_fail "audit verify exits $RC"
	printf '%s' "$OUT" | grep -q 'chain intact' || soft_fail "the chain does not verify: $OUT $ERR"

	# nothing left: the -m mounts go with -u, then nothing of crashcart's
	for c in $(seq 1 "$LOAD_CONTAINERS"); do
		[[ " $LOAD_KILLED " == *" $c "* ]] && continue
		run as_op cc -u "${pids[c]}"
		[ "$RC" = 0 ] || soft_fail "-u on container $c: $ERR"
		not_mounted_in "${pids[c]}" || soft_fail "container $c: still mounted"
		[ -e "/proc/${pids[c]}/root/dev/crashcart" ] && soft_fail "container $c: /dev/crashcart left"
		[ -z "$(session_leftovers "${pids[c]}")" ] || soft_fail "container $c: processes left: $(session_leftovers "${pids[c]}")"
	done
	wait_until 5 no_loops_for "$IMG_EXT4" || soft_fail "loop devices left: $(loops_for "$IMG_EXT4")"
	wait_until 10 no_brokers || soft_fail "broker processes left: $(brokers)"
	return 0
}
