#include "caps.h"

#include <cap-ng.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "config.h"

static const char *const names[] = {
	[CAP_MKNOD] = "CAP_MKNOD",
	[CAP_SYS_ADMIN] = "CAP_SYS_ADMIN",
	[CAP_SYS_CHROOT] = "CAP_SYS_CHROOT",
	[CAP_SYS_PTRACE] = "CAP_SYS_PTRACE",
	[CAP_AUDIT_WRITE] = "CAP_AUDIT_WRITE",
	[CAP_SETUID] = "CAP_SETUID",
	[CAP_SETGID] = "CAP_SETGID",
	[CAP_NET_ADMIN] = "CAP_NET_ADMIN",
	[CAP_NET_RAW] = "CAP_NET_RAW",
};

const char *cc_cap_name(int cap)
{
	if (cap >= 0 && (size_t)cap < ARRAY_SIZE(names) && names[cap])
		return names[cap];
	return "CAP_?";
}

/* What this process may hold in permitted: set by cc_caps_init. */
static uint64_t held;
/* What cc_caps_init found of the profile capabilities (kept after
 * cc_caps_keep_base: the broker tells the operator what it was installed
 * with). */
static uint64_t available;

uint64_t cc_caps_available(void)
{
	return available;
}

struct capsets {
	uint64_t eff, prm, inh;
};

/* The read-back: capget itself, not libcap-ng's copy of what it meant to
 * set (that copy is what would hide a failed change). */
static int get(struct capsets *s)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	s->eff = d[0].effective | (uint64_t)d[1].effective << 32;
	s->prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	s->inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

/* libcap-ng's state is per thread and reset in a forked child (DESIGN.md):
 * every change starts from a cleared state and names every set in full. */
static int set(const struct capsets *s)
{
	capng_clear(CAPNG_SELECT_CAPS);
	for (unsigned c = 0; c < 64; c++) {
		capng_type_t t = 0;
		if (s->eff & CC_CAP(c))
			t |= CAPNG_EFFECTIVE;
		if (s->prm & CC_CAP(c))
			t |= CAPNG_PERMITTED;
		if (s->inh & CC_CAP(c))
			t |= CAPNG_INHERITABLE;
		if (t && capng_update(CAPNG_ADD, t, c) < 0)
			return -EINVAL;
	}
	/* CAPNG_SELECT_CAPS: capset alone (never BOUNDS: see caps.h) */
	if (capng_apply(CAPNG_SELECT_CAPS) < 0)
		return errno ? -errno : -EPERM;
	return 0;
}

/* Set, then read back: a capability change that did not happen must not go
 * unnoticed (bubblewrap does the same). */
static int set_verified(const struct capsets *want)
{
	struct capsets got;
	int r = set(want);
	if (r < 0)
		return r;
	r = get(&got);
	if (r < 0)
		return r;
	if (got.eff != want->eff || got.prm != want->prm || got.inh != want->inh)
		return -EPERM;
	return 0;
}

/* The ambient set, exactly `keep`, through libcap-ng (CAPNG_SELECT_AMBIENT:
 * clear all, then raise each), read back with PR_CAP_AMBIENT_IS_SET. */
static int set_ambient(uint64_t keep)
{
	capng_clear(CAPNG_SELECT_AMBIENT);
	for (unsigned c = 0; c < 64; c++)
		if ((keep & CC_CAP(c)) && capng_update(CAPNG_ADD, CAPNG_AMBIENT, c) < 0)
			return -EINVAL;
	if (capng_apply(CAPNG_SELECT_AMBIENT) < 0)
		return errno ? -errno : -EPERM;
	for (unsigned c = 0; c <= CAP_LAST_CAP; c++) {
		int on = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0);
		if (on < 0)
			return errno == EINVAL ? 0 : -errno; /* past the kernel's last capability */
		if ((on == 1) != !!(keep & CC_CAP(c)))
			return -EPERM;
	}
	return 0;
}

int cc_caps_init(cc_error *err)
{
	struct capsets s;
	int r = get(&s);

	if (r < 0)
		return cc_failx(err, -r, "cannot read the broker's capabilities");
	for (int c = 0; c < 64; c++) {
		if ((CC_BROKER_CAPS & CC_CAP(c)) && !(s.prm & CC_CAP(c)))
			return cc_fail(err, EPERM,
				       "crashcart-broker lacks %s: install with `meson install` as root "
				       "(it sets the file capabilities of %s)",
				       cc_cap_name(c), CRASHCART_BROKER_PATH);
	}
	available = s.prm & CC_PROFILE_CAPS;
	held = CC_BROKER_CAPS | available;
	struct capsets want = { .eff = 0, .prm = held, .inh = 0 };
	r = set_verified(&want);
	if (r < 0)
		return cc_failx(err, -r, "cannot reduce the broker's capabilities");
	r = set_ambient(0);
	if (r < 0)
		return cc_failx(err, -r, "cannot clear ambient capabilities");
	return 0;
}

int cc_caps_keep_base(cc_error *err)
{
	if (held == CC_BROKER_CAPS)
		return 0;
	held = CC_BROKER_CAPS;
	struct capsets want = { .eff = 0, .prm = held, .inh = 0 };
	int r = set_verified(&want);
	if (r < 0)
		return cc_failx(err, -r, "cannot drop the profile capabilities from the broker");
	return 0;
}

void cc_caps_raise(uint64_t mask)
{
	struct capsets s = { .eff = mask, .prm = held, .inh = 0 };
	if ((mask & ~held) || set(&s) < 0) {
		fprintf(stderr, "crashcart-broker: cannot raise capabilities %#llx\n", (unsigned long long)mask);
		abort();
	}
}

void cc_caps_lower(void)
{
	struct capsets s = { .eff = 0, .prm = held, .inh = 0 };
	if (set(&s) < 0) {
		fprintf(stderr, "crashcart-broker: cannot lower capabilities\n");
		abort();
	}
}

int cc_caps_drop_all(uint64_t keep)
{
	/* A capability kept (a profile's) must survive the execve of a tool
	 * without file capabilities: that is what the ambient set is for; it
	 * needs the capability in permitted and inheritable. */
	struct capsets s = { .eff = keep, .prm = keep, .inh = keep };
	int r = set_verified(&s);
	if (r < 0)
		return r;
	held = keep;
	return set_ambient(keep);
}
