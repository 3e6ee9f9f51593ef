# shellcheck shell=bash
# The Debian package and the shipped logrotate rule. Sourced by tests.sh.
#
# t_audit_logrotate_chain: the suite's install, its audit log rotated twice
# by logrotate with the package's own rule (debian/crashcart.logrotate, its
# paths moved to the suite's prefix), a session across the first rotation;
# `audit verify LOG*` checks one chain across the files.
#
# t_package_install: the .deb that tools/build-deb made (CC_IT_DEB=FILE,
# set by tools/test) installed on this host with apt, its
# crashcart-toolbox-build run with a tiny package list, one session by a
# member of the package's group against a real microcontainer, an upgrade
# over itself, the shipped logrotate rule run once, then purged; the host is left as it was (the
# test refuses to run on a host with a crashcart of its own in /usr, /etc
# or /var/log, and removes the group, the user and the kept logs it made).
# shellcheck disable=SC2016,SC2034,SC2086,SC2154

TESTS+=(
	t_audit_logrotate_chain
	t_package_install
)

# rotate_conf FILE: the package's logrotate rule for the suite's log
rotate_conf() {
	sed -e "s|/var/log/crashcart/audit.log|$AUDIT|g" -e "s|/usr/bin/crashcart|$CC_BIN|g" \
		"$CC_SRC/debian/crashcart.logrotate" > "$1"
	chmod 0644 "$1"
}

# records_of_session ID FILE: how many of the session's records FILE holds
records_of_session() { grep -c "\"session\":\"$1\"" "$2"; }

t_audit_logrotate_chain() {
	local conf=$CC_TT/logrotate.conf state=$CC_TT/logrotate.state bg id n st evs
	# the suite's log is shared: put it back as it was, whatever happens
	cp -p "$AUDIT" "$CC_TT/audit.orig" || fail "cannot save $AUDIT"
	trap 'rc=$?; trap - EXIT; ct_stop_all; rm -f "$AUDIT".* "$AUDIT"; cp -p "$CC_TT/audit.orig" "$AUDIT"; broker_restore_caps; exit $rc' EXIT
	rotate_conf "$conf"
	start_ct cc-rot
	run as_op cc -i "$IMG_EXT4" -T "$PID" $BB true
	expect_rc 0 "a session before the rotation"

	# A session that is running while the log is rotated: its broker opened
	# the old file at start-up, its end records come after the rotation.
	# (held at a gate until after the rotation: a session of a fixed length
	# could end before it under load)
	audit_mark
	ct_gate "$PID" cc-go
	as_op "$CC_BIN" -i "$IMG_EXT4" -T "$PID" $BB sh -c 'echo > /cc-go.up; read _ < /cc-go' </dev/null >"$CC_TT/bg.out" 2>&1 &
	bg=$!
	ct_gate_reached "$PID" cc-go
	tail -n +$((AUDIT_MARK + 1)) "$AUDIT" | grep -q '"event":"exec","phase":"begin"' ||
		fail "the long session's tool runs without an exec begin record"
	id=$(tail -n +$((AUDIT_MARK + 1)) "$AUDIT" | jq -r 'select(.event == "exec" and .phase == "begin") | .session' | head -n1)
	log "# long session $id"
	run as_root logrotate -f -s "$state" "$conf"
	expect_rc 0 "logrotate (the package's rule)"
	{ [ -f "$AUDIT.1" ] && [ -f "$AUDIT" ]; } || fail "logrotate did not rotate $AUDIT: $(ls -l "${AUDIT%/*}")"
	head -n1 "$AUDIT" | jq -e '.event == "rotate"' >/dev/null || fail "the new log does not start with a rotate record: $(head -n1 "$AUDIT")"
	st=$(stat -c '%U:%G %a' "$AUDIT")
	[ "$st" = "root:$OPS_GROUP 660" ] || fail "the new log is $st, want root:$OPS_GROUP 660 (the rotated file's)"
	# nobody writes to the rotated file any more: nobody may open it to write
	st=$(stat -c '%U:%G %a' "$AUDIT.1")
	[ "$st" = "root:$OPS_GROUP 440" ] || fail "the rotated file is $st, want root:$OPS_GROUP 440"
	run as_op sh -c "echo '{}' >> '$AUDIT.1'"
	[ "$RC" != 0 ] || fail "an operator could append to the rotated file"
	run as_op cc -i "$IMG_EXT4" -T "$PID" $BB true
	expect_rc 0 "a session after the rotation"
	ct_gate_open "$PID" cc-go
	wait "$bg" || fail "the long session failed: $(cat "$CC_TT/bg.out")"
	# its broker followed the rotation: what it wrote after it is in the new
	# file, every record of it (the exec's end and the session-end unmount:
	# not only the one record that found the rotation)
	n=$(records_of_session "$id" "$AUDIT")
	[ "$n" -gt 0 ] || fail "the long session's end records went to the rotated file $AUDIT.1, not to the new log"
	evs=$(jq -r --arg s "$id" 'select(.session == $s) | "\(.event) \(.phase)"' "$AUDIT" | paste -sd, -)
	[ "$evs" = "exec end,unmount begin,unmount end" ] ||
		fail "the long session's records after the rotation are '$evs', not 'exec end,unmount begin,unmount end'"
	log "# long session: $(records_of_session "$id" "$AUDIT.1") records in $AUDIT.1, $n in $AUDIT"

	# a second rotation: .1 becomes .2.gz (compress, delaycompress)
	run as_root logrotate -f -s "$state" "$conf"
	expect_rc 0 "the second logrotate"
	[ -f "$AUDIT.2.gz" ] || fail "no $AUDIT.2.gz after the second rotation: $(ls "${AUDIT%/*}")"
	run as_op cc -i "$IMG_EXT4" -T "$PID" $BB true
	expect_rc 0 "a session after the second rotation"

	run as_op cc audit verify "$AUDIT"*
	expect_rc 0 "audit verify LOG* (3 files)"
	# (the suite's log is shared: sessions that earlier tests' killed brokers
	# left without an end record are named at the end, and are no break)
	expect_out_match "^$AUDIT.2.gz \\.\\. $AUDIT \\(3 files\\): [0-9]+ records, chain intact, [0-9]+ of [0-9]+ recordings verified(, [0-9]+ sessions? without an end record \\(ended abnormally\\))?$"
	# the long session's begin is in one file and its end in another: one
	# session. No session of this test lacks its end (one of the log from
	# before it may: see above).
	local s
	for s in $(printf '%s\n' "$OUT" | sed -n 's/^session \([0-9a-f]*\): no end record.*/\1/p'); do
		grep -q "\"session\":\"$s\"" "$CC_TT/audit.orig" ||
			fail "a session across the rotation lost its end: $OUT"
	done
	run as_op cc audit verify "$AUDIT" "$AUDIT.2.gz" "$AUDIT.1"
	expect_rc 0 "audit verify in another order"
	expect_out_match "^$AUDIT.2.gz: [0-9]+ records$"
	# the newest alone: its first record continues a file not given
	run as_op cc audit verify "$AUDIT"
	expect_rc 0 "audit verify of the newest file alone"
	expect_out_match "^$AUDIT: record 1 continues the chain of $AUDIT.1, not given"

	# a missing middle file is a broken chain
	run as_op cc audit verify "$AUDIT.2.gz" "$AUDIT"
	expect_rc 1 "audit verify without the middle file"
	expect_out_match "^$AUDIT: record 1: chain broken: it follows neither the last record of $AUDIT.2.gz"
	case $ERR in *"records break the chain"*) ;; *) fail "no summary on stderr: $ERR" ;; esac
	# so is a rotated file whose last record was changed (invisible inside it)
	zcat "$AUDIT.2.gz" | sed '$ s/"uid":[0-9]*/"uid":0/' | gzip > "$CC_TT/edited.gz"
	run as_op cc audit verify "$CC_TT/edited.gz" "$AUDIT.1" "$AUDIT"
	expect_rc 1 "audit verify with the oldest file's last record changed"
	expect_out_match "^$AUDIT.1: record 1: chain broken"
	# a cut-short .gz is named, not taken for a short file
	head -c 200 "$AUDIT.2.gz" > "$CC_TT/cut.gz"
	run as_op cc audit verify "$CC_TT/cut.gz" "$AUDIT.1" "$AUDIT"
	expect_rc 125 "audit verify of a cut-short .gz"
	case $ERR in *"$CC_TT/cut.gz"*) ;; *) fail "the error does not name the damaged file: $ERR" ;; esac

	# What logrotate's usual "create" would do instead: an empty new log,
	# whose first record starts a new chain. verify says so.
	mv "$AUDIT" "$CC_TT/created.1"
	install -o root -g "$OPS_GROUP" -m 0660 /dev/null "$AUDIT"
	run as_op cc -i "$IMG_EXT4" -T "$PID" $BB true
	expect_rc 0 "a session after a 'create' rotation"
	run as_op cc audit verify "$CC_TT/created.1" "$AUDIT"
	expect_rc 1 "audit verify across a 'create' rotation"
	# audit link refuses a log that has records
	run as_root cc audit link "$CC_TT/created.1" --log "$AUDIT"
	expect_rc 125 "audit link over a log with records"
	case $ERR in *"has records already"*) ;; *) fail "audit link: $ERR" ;; esac
}

# ---------------------------------------------------------------- package

# pkg_caps: the installed broker's file capabilities, "NAME ... =FLAGS",
# names sorted; pkg_caps_want: what tools/install-broker.sh gives a build
# with no extra profiles and no auditd sink (lib.sh's REQUIRED_CAPS), =p
pkg_caps() {
	local c
	c=$(getcap /usr/libexec/crashcart-broker | sed 's/^[^ ]* //')
	printf '%s =%s\n' "$(printf '%s\n' "${c%[=+]*}" | tr ',' '\n' | sort | xargs)" "${c##*[=+]}"
}
pkg_caps_want() { printf '%s =p\n' "$(printf '%s\n' $REQUIRED_CAPS | sort | xargs)"; }

t_package_install() {
	local deb=${CC_IT_DEB:-} st caps f
	# global: the EXIT trap runs after this function has returned
	PKG_MADE_GROUP=
	[ -n "$deb" ] || skip "no package given (CC_IT_DEB=FILE.deb; tools/test builds it with tools/build-deb)"
	[ -f "$deb" ] || fail "CC_IT_DEB=$deb: no such file"
	if dpkg-query -W -f='${Status}' crashcart 2>/dev/null | grep -q installed; then
		skip "crashcart is installed on this host already: not touching it"
	fi
	for f in /usr/libexec/crashcart-broker /etc/crashcart /var/log/crashcart /usr/share/crashcart; do
		[ -e "$f" ] && skip "this host has $f of its own: the package test would change it"
	done
	getent group crashcart >/dev/null || PKG_MADE_GROUP=1
	id "$PKG_USER" >/dev/null 2>&1 && fail "user $PKG_USER exists already"
	trap 'rc=$?; trap - EXIT; pkg_cleanup; ct_stop_all; broker_restore_caps; exit $rc' EXIT
	pkg_cleanup() {
		dpkg --purge crashcart >/dev/null 2>&1
		userdel "$PKG_USER" 2>/dev/null
		rm -rf /var/log/crashcart /usr/share/crashcart
		rmdir /sys/fs/cgroup/devices/crashcart/crashcart 2>/dev/null
		[ -n "$PKG_MADE_GROUP" ] && groupdel crashcart 2>/dev/null
		:
	}

	run as_root apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$deb"
	expect_rc 0 "apt-get install $deb"
	# what postinst must have done
	getent group crashcart | grep -q . || fail "no group crashcart"
	[ "$(getent group crashcart | cut -d: -f3)" -lt 1000 ] || fail "crashcart is not a system group: $(getent group crashcart)"
	st=$(stat -c '%U:%G %a' /usr/libexec/crashcart-broker)
	[ "$st" = "root:crashcart 750" ] || fail "the broker is $st, want root:crashcart 750"
	dpkg-statoverride --list /usr/libexec/crashcart-broker | grep -qx 'root crashcart 750 /usr/libexec/crashcart-broker' ||
		fail "no stat override: $(dpkg-statoverride --list /usr/libexec/crashcart-broker)"
	# the set meson's install script gives a build without extra profiles
	# (the package's): the four of the design, permitted only
	caps=$(pkg_caps)
	[ "$caps" = "$(pkg_caps_want)" ] || fail "the broker's capabilities are '$caps', want '$(pkg_caps_want)'"
	st=$(stat -c '%U:%G %a' /var/log/crashcart /var/log/crashcart/audit.log /var/log/crashcart/sessions | tr '\n' ' ')
	[ "$st" = "root:root 755 root:crashcart 660 root:crashcart 1730 " ] ||
		fail "log, audit log, sessions are '$st', want root:root 755, root:crashcart 660, root:crashcart 1730"
	dpkg-query -W -f='${Conffiles}\n' crashcart | grep -q '^ /etc/crashcart/policy.conf ' ||
		fail "/etc/crashcart/policy.conf is not a conffile: $(dpkg-query -W -f='${Conffiles}' crashcart)"
	dpkg-query -W -f='${Conffiles}\n' crashcart | grep -q '^ /etc/logrotate.d/crashcart ' || fail "no logrotate rule"
	# the sessions' devices cgroup, and the unit that makes it at boot
	st=$(stat -c '%U:%G %a' /sys/fs/cgroup/devices/crashcart/crashcart/cgroup.procs 2>&1)
	[ "$st" = "root:crashcart 664" ] || fail "the package's devices cgroup's cgroup.procs is '$st', want root:crashcart 664"
	grep -qx 'ExecStart=/usr/sbin/crashcart-devices-cgroup crashcart' /lib/systemd/system/crashcart-devices-cgroup.service ||
		fail "no crashcart-devices-cgroup.service running it for the group"

	# the image builder and its command, which postinst does not run
	[ -x /usr/sbin/crashcart-toolbox-build ] || fail "no /usr/sbin/crashcart-toolbox-build"
	[ -f /usr/share/man/man8/crashcart-toolbox-build.8.gz ] || fail "no crashcart-toolbox-build(8) man page"
	{ [ -x /usr/share/crashcart/image/build ] && [ -f /usr/share/crashcart/image/packages ]; } ||
		fail "the image builder is not in /usr/share/crashcart/image"
	run as_root /usr/sbin/crashcart-toolbox-build --help
	expect_rc 0 "crashcart-toolbox-build --help"
	expect_out_match "^usage: crashcart-toolbox-build "
	[ -e /usr/share/crashcart/crashcart.img ] && fail "the package installed a default image (postinst must not download)"

	# One session by a member of the group, with the package's own policy:
	# it allows the group the default image, which the package does not ship
	# (README: the toolbox image). Without it, the refusal names the command;
	# then the command builds it, from a tiny package list (busybox, libc6:
	# seconds with the suite's shared cache) to the default path.
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin -G crashcart "$PKG_USER" ||
		fail "cannot make user $PKG_USER"
	start_ct cc-pkg
	run as_pkg /usr/bin/crashcart -T "$PID" $BB true
	expect_rc 125 "a session of the package without a toolbox image"
	case $ERR in
	*"no toolbox image at /usr/share/crashcart/crashcart.img: build one with crashcart-toolbox-build (as root) or give one with -i") ;;
	*) fail "the missing-image error does not name crashcart-toolbox-build: $ERR" ;;
	esac
	printf 'busybox-static\nlibc6\n' > "$CC_TT/tiny.packages"
	mkdir -p "$TOOLBOX_CACHE"
	run as_root flock "$TOOLBOX_CACHE/.lock" /usr/sbin/crashcart-toolbox-build --packages "$CC_TT/tiny.packages"
	expect_rc 0 "crashcart-toolbox-build --packages (busybox-static, libc6)"
	expect_out_match "installed the toolbox image at /usr/share/crashcart/crashcart.img$"
	st=$(stat -c '%U:%G %a' /usr/share/crashcart/crashcart.img)
	[ "$st" = "root:root 644" ] || fail "the built image is $st, want root:root 644"
	[ "$(blkid -o value -s TYPE /usr/share/crashcart/crashcart.img)" = erofs ] || fail "the built image is not erofs"
	grep -q '^package busybox-static ' /usr/share/crashcart/crashcart.manifest || fail "no manifest beside the built image"
	# built beside it and renamed: nothing else is left there
	for f in /usr/share/crashcart/.crashcart-toolbox.*; do
		[ -e "$f" ] && fail "the build left its temporary directory $f"
	done
	run as_pkg /usr/bin/crashcart -T "$PID" $BB cat /proc/1/comm
	expect_rc 0 "a session of the installed package as a member of crashcart"
	[ "$OUT" = sleeper ] || fail "the session did not run in the container: '$OUT'"
	jq -se --arg u "$PKG_USER" 'map(select(.event == "exec" and .phase == "end" and .user == $u)) | length == 1' \
		/var/log/crashcart/audit.log >/dev/null || fail "no exec end record of $PKG_USER in /var/log/crashcart/audit.log"
	# not a member: refused by the broker's mode
	run as_other /usr/bin/crashcart -T "$PID" $BB true
	expect_rc 125 "a session of a user outside the group"

	# an upgrade (the same version again: prerm upgrade, a new broker
	# unpacked, postinst configure) keeps the override and gives the new
	# file its capabilities, and keeps an edited conffile
	echo "# edited by the test" >> /etc/crashcart/policy.conf
	run as_root dpkg --force-confold -i "$deb"
	expect_rc 0 "dpkg -i (upgrade to the same package)"
	st=$(stat -c '%U:%G %a' /usr/libexec/crashcart-broker)
	[ "$st" = "root:crashcart 750" ] || fail "after the upgrade the broker is $st, want root:crashcart 750"
	[ "$(pkg_caps)" = "$(pkg_caps_want)" ] ||
		fail "after the upgrade the broker's capabilities are '$(pkg_caps)', want '$(pkg_caps_want)'"
	grep -q "^# edited by the test" /etc/crashcart/policy.conf || fail "the upgrade replaced the edited policy"

	# the shipped logrotate rule, as cron/systemd would run it
	run as_root logrotate -f -s "$CC_TT/logrotate.state" /etc/logrotate.d/crashcart
	expect_rc 0 "logrotate /etc/logrotate.d/crashcart"
	run as_pkg /usr/bin/crashcart -T "$PID" $BB true
	expect_rc 0 "a session after the rotation"
	run as_pkg /usr/bin/crashcart audit verify /var/log/crashcart/audit.log*
	expect_rc 0 "audit verify of the rotated package log"
	expect_out_match "\\(2 files\\): [0-9]+ records, chain intact"

	rm -f /usr/share/crashcart/crashcart.img /usr/share/crashcart/crashcart.manifest
	run as_root dpkg --purge crashcart
	expect_rc 0 "dpkg --purge crashcart"
	for f in /usr/libexec/crashcart-broker /usr/bin/crashcart /etc/crashcart /etc/logrotate.d/crashcart /usr/lib/tmpfiles.d/crashcart.conf; do
		[ -e "$f" ] && fail "$f is still there after purge"
	done
	[ -z "$(dpkg-statoverride --list /usr/libexec/crashcart-broker)" ] || fail "the stat override is still there after purge"
	[ -e /sys/fs/cgroup/devices/crashcart/crashcart ] && fail "the package's devices cgroup is still there after purge"
	# kept on purge (evidence), as README says
	[ -f /var/log/crashcart/audit.log ] || fail "purge removed the audit log (README says it is kept)"
	# and the host as it was: what the test made goes, checked here
	pkg_cleanup
	for f in /var/log/crashcart /usr/share/crashcart /usr/libexec/crashcart-broker; do
		[ -e "$f" ] && fail "$f is left on the host"
	done
	id "$PKG_USER" >/dev/null 2>&1 && fail "user $PKG_USER is left on the host"
	[ -n "$PKG_MADE_GROUP" ] && getent group crashcart >/dev/null && fail "group crashcart is left on the host"
	# purged: dpkg knows it no more (or as not-installed, where it was known before)
	if dpkg-query -W -f='${Status}' crashcart >"$CC_TT/status" 2>/dev/null; then
		grep -q 'not-installed' "$CC_TT/status" || fail "dpkg still knows crashcart: $(cat "$CC_TT/status")"
	fi
}
