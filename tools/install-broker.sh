#!/bin/sh
# meson install script (skipped with DESTDIR): make the broker usable by the
# operators group only, and give it its file capabilities (permitted set
# only: the broker raises each one around the call that needs it).
# Args: BROKER_PATH OPS_GROUP AUDIT_LOG setcap|nosetcap POLICY DEFAULT_POLICY audit_write|no_audit_write SESSION_DIR PROFILES [DEVCG_SETUP]
# DEVCG_SETUP: the installed crashcart-devices-cgroup, run for OPS_GROUP (the
# devices cgroup the sessions live in; without it no tool can start).
# PROFILES (-Dprofiles=, comma-separated, may be empty): the tool profiles
# beyond restricted this install supports; each adds the capabilities its
# launcher needs (SECURITY.md, Profiles). Default: none.
set -eu
broker=$1 group=$2 audit=$3 mode=$4 policy=$5 default_policy=$6 auditw=$7 sessions=$8 profiles=${9:-} devcg=${10:-}
CAPS=cap_sys_admin,cap_sys_ptrace,cap_sys_chroot,cap_mknod
[ "$auditw" = audit_write ] && CAPS=$CAPS,cap_audit_write
case ",$profiles," in *,ptrace,*) CAPS=$CAPS,cap_setuid,cap_setgid ;; esac
case ",$profiles," in *,netadmin,*) CAPS=$CAPS,cap_net_admin,cap_net_raw ;; esac
CAPS=$CAPS+p

if [ "$(id -u)" != 0 ]; then
	echo "crashcart: not root: the broker was installed without its group and capabilities."
	echo "  as root: chgrp $group $broker && chmod 0750 $broker && setcap $CAPS $broker"
	echo "  and: mkdir -p $sessions && chown root:$group $sessions && chmod 1730 $sessions"
	[ -z "$devcg" ] || echo "  and: $devcg $group (and at every boot)"
	exit 0
fi
if [ "$mode" != setcap ]; then
	echo "crashcart: -Dsetcap=false: leaving $broker as installed"
	exit 0
fi
if ! getent group "$group" >/dev/null; then
	echo "crashcart: group '$group' does not exist: create it (groupadd $group) and install again" >&2
	exit 1
fi
# The audit log and the recordings directory are outside the prefix (by
# default /var/log/crashcart): another install, with another operators
# group, may already use them. Regrouping them would cut that install's
# operators off their own audit trail (their broker refuses every request
# it cannot record) without a word. Checked before anything is changed.
for shared in "$audit" "$sessions"; do
	[ -e "$shared" ] || continue
	owner=$(stat -c %U:%G "$shared")
	if [ "$owner" != "root:$group" ]; then
		echo "crashcart: $shared belongs to $owner, not root:$group: another crashcart install (or an administrator) uses it; nothing changed. Give this install its own (meson configure -Daudit_log=PATH -Dsession_dir=PATH), or, if that install is gone, chown root:$group $shared; then install again" >&2
		exit 1
	fi
done
chown "root:$group" "$broker"
chmod 0750 "$broker"
setcap "$CAPS" "$broker"
echo "crashcart: $broker is root:$group 0750 with $(getcap "$broker" | sed 's/^[^ ]* //')"

# The policy: root-owned 0644, never overwritten once there.
if [ ! -e "$policy" ]; then
	mkdir -p "$(dirname "$policy")"
	install -o root -g root -m 0644 "$default_policy" "$policy"
	echo "crashcart: installed the default policy at $policy"
else
	echo "crashcart: keeping the existing policy $policy"
fi

# The audit log: appendable and readable by the group (the broker reads the
# last record to chain the next one to it). `chattr +a` (append-only) stops
# members from truncating or rewriting it: see SECURITY.md.
auditdir=$(dirname "$audit")
if [ ! -d "$auditdir" ]; then
	mkdir -p "$auditdir"
	chmod 0755 "$auditdir"
fi
if [ ! -e "$audit" ]; then
	: >"$audit"
	chown "root:$group" "$audit"
	chmod 0660 "$audit"
	echo "crashcart: audit log $audit (root:$group 0660)"
else
	# already this group's (checked above); its mode is left as the
	# administrator set it (chmod fails on a chattr +a file anyway)
	echo "crashcart: keeping the existing audit log $audit ($(stat -c '%U:%G %a' "$audit"))"
fi

# The session recordings: the broker (running as an operator) creates one
# file per session. 1730 root:GROUP: members can create files, not list the
# directory nor remove or rename another's (sticky). What they can still do
# to their own is edit it: the audit chain carries each recording's digest.
mkdir -p "$sessions"
chown "root:$group" "$sessions"
chmod 1730 "$sessions"
echo "crashcart: session recordings in $sessions (root:$group 1730)"

# The devices cgroup of the sessions (src/broker/devcg.c). The kernel
# forgets it at reboot: the package runs it at boot; a meson install leaves
# that to the administrator, and says so.
if [ -n "$devcg" ]; then
	"$devcg" "$group"
	echo "crashcart: run '$devcg $group' at every boot (cgroups do not survive a reboot)"
fi
