#!/bin/sh
# meson install script (skipped with DESTDIR): make the broker usable by the
# operators group only, and give it its file capabilities (permitted set
# only: the broker raises each one around the call that needs it).
# Args: BROKER_PATH OPS_GROUP AUDIT_LOG setcap|nosetcap
set -eu
broker=$1 group=$2 audit=$3 mode=$4
broker="${MESON_INSTALL_DESTDIR_PREFIX:+}$broker"
CAPS=cap_sys_admin,cap_sys_ptrace,cap_sys_chroot,cap_mknod,cap_dac_override+p

if [ "$(id -u)" != 0 ]; then
	echo "crashcart: not root: the broker was installed without its group and capabilities."
	echo "  as root: chgrp $group $broker && chmod 0750 $broker && setcap $CAPS $broker"
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
chown "root:$group" "$broker"
chmod 0750 "$broker"
setcap "$CAPS" "$broker"
echo "crashcart: $broker is root:$group 0750 with $(getcap "$broker" | sed 's/^[^ ]* //')"

# The audit log: appendable by the group, readable by root only. `chattr +a`
# (append-only) additionally stops members from truncating it: see SECURITY.md.
auditdir=$(dirname "$audit")
if [ ! -d "$auditdir" ]; then
	mkdir -p "$auditdir"
	chmod 0755 "$auditdir"
fi
if [ ! -e "$audit" ]; then
	: >"$audit"
fi
chown "root:$group" "$audit"
chmod 0620 "$audit"
echo "crashcart: audit log $audit (root:$group 0620)"
