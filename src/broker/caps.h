/* The broker's capabilities: held in the permitted set only (file caps
 * `+p`), raised into the effective set around the one call that needs them
 * and lowered right after. Raw capget/capset: small, and verifiable. */
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

const char *cc_cap_name(int cap);

/* Checks that the permitted set holds CC_BROKER_CAPS, drops anything else
 * from it, and clears effective/inheritable/ambient; verifies by reading back. */
int cc_caps_init(cc_error *err);

/* Raise exactly `mask` (a subset of the permitted set) into effective; lower
 * clears effective again. Both abort on failure: after cc_caps_init succeeded
 * they cannot fail, and continuing with a wrong set would be worse. */
void cc_caps_raise(uint64_t mask);
void cc_caps_lower(void);

/* For the tool: empty every set (permitted, effective, inheritable, ambient)
 * except `keep` in permitted+effective, and verify. */
int cc_caps_drop_all(uint64_t keep);

/* Run one statement with `mask` raised, keeping its errno. */
#define WITH_CAPS(mask, stmt) do {                \
		cc_caps_raise(mask);               \
		stmt;                              \
		int _saved_errno = errno;          \
		cc_caps_lower();                   \
		errno = _saved_errno;              \
	} while (0)
