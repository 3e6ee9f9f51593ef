/* The broker's capabilities: held in the permitted set only (file caps
 * `+p`), raised into the effective set around the one call that needs them
 * and lowered right after. libcap-ng sets them (CAPNG_SELECT_CAPS and
 * CAPNG_SELECT_AMBIENT only: Debian's libcap-ng returns 0 on a failed
 * bounding-set change, DESIGN.md); every change that matters is read back
 * with capget and PR_CAP_AMBIENT_IS_SET, and a difference is an error. */
#pragma once
#include <stdint.h>
#include <linux/capability.h>

#include "config.h"
#include "util.h"

#define CC_CAP(c) (UINT64_C(1) << (c))

/* What the broker needs, and why (SECURITY.md has the long form):
 *  SYS_ADMIN   fsopen/fsmount/move_mount, umount2, setns (most namespaces),
 *              LOOP_* ioctls, trusted.* xattrs
 *  SYS_PTRACE  pidfd setns and /proc/PID/{ns,root} of another user's process
 *  SYS_CHROOT  setns(CLONE_NEWNS): the kernel's mntns_install checks it
 *  MKNOD       private loop device nodes (we cannot open /dev/loop*)
 *  AUDIT_WRITE kernel audit records (only with -Daudit_write=true)
 * Not CAP_DAC_OVERRIDE: /dev/crashcart is made in the container's root-owned
 * /dev through an idmapped clone of that mount (idmap.c, CAP_SYS_ADMIN). */
#define CC_BROKER_CAPS (CC_CAP(CAP_SYS_ADMIN) | CC_CAP(CAP_SYS_PTRACE) | CC_CAP(CAP_SYS_CHROOT) | \
			CC_CAP(CAP_MKNOD) | (CRASHCART_AUDIT_WRITE ? CC_CAP(CAP_AUDIT_WRITE) : 0))

/* What the tool profiles may add (profile.c; -Dprofiles=, an install-time
 * opt-in): the broker keeps whichever of these its file holds, in the
 * launcher only (cc_caps_keep_base drops them from the broker itself). */
#define CC_PROFILE_CAPS (CC_CAP(CAP_SETUID) | CC_CAP(CAP_SETGID) | CC_CAP(CAP_NET_ADMIN) | CC_CAP(CAP_NET_RAW))

const char *cc_cap_name(int cap);

/* Checks that the permitted set holds CC_BROKER_CAPS, drops anything else
 * from it but the CC_PROFILE_CAPS it has, and clears effective, inheritable
 * and ambient; verifies by reading back. */
int cc_caps_init(cc_error *err);

/* The capabilities cc_caps_init kept (base and profile ones): what the
 * launcher can hand a profile. Stays what it was at start-up in the broker,
 * after cc_caps_keep_base. */
uint64_t cc_caps_available(void);

/* In the broker itself once the launcher is forked: drop the profile
 * capabilities, which only the launcher uses. */
int cc_caps_keep_base(cc_error *err);

/* Raise exactly `mask` (a subset of the permitted set) into effective; lower
 * clears effective again. Both abort on failure: after cc_caps_init succeeded
 * they cannot fail, and continuing with a wrong set would be worse. */
void cc_caps_raise(uint64_t mask);
void cc_caps_lower(void);

/* For the tool: empty every set (permitted, effective, inheritable, ambient)
 * except `keep` in permitted+effective+inheritable+ambient (ambient: so that
 * it survives the execve of a program without file capabilities), and
 * verify. Returns -errno. */
int cc_caps_drop_all(uint64_t keep);

/* Run one statement with `mask` raised, keeping its errno. */
#define WITH_CAPS(mask, stmt) do {                \
		cc_caps_raise(mask);               \
		stmt;                              \
		int _saved_errno = errno;          \
		cc_caps_lower();                   \
		errno = _saved_errno;              \
	} while (0)
