#include "caps.h"

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
};

const char *cc_cap_name(int cap)
{
	if (cap >= 0 && (size_t)cap < ARRAY_SIZE(names) && names[cap])
		return names[cap];
	return "CAP_?";
}

struct capsets {
	uint64_t eff, prm, inh;
};

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

static int set(const struct capsets *s)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = {
		{ (uint32_t)s->eff, (uint32_t)s->prm, (uint32_t)s->inh },
		{ (uint32_t)(s->eff >> 32), (uint32_t)(s->prm >> 32), (uint32_t)(s->inh >> 32) },
	};
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
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
	struct capsets want = { .eff = 0, .prm = CC_BROKER_CAPS, .inh = 0 };
	r = set_verified(&want);
	if (r < 0)
		return cc_failx(err, -r, "cannot reduce the broker's capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return cc_failx(err, errno, "cannot clear ambient capabilities");
	return 0;
}

void cc_caps_raise(uint64_t mask)
{
	struct capsets s = { .eff = mask, .prm = CC_BROKER_CAPS, .inh = 0 };
	if ((mask & ~CC_BROKER_CAPS) || set(&s) < 0) {
		fprintf(stderr, "crashcart-broker: cannot raise capabilities %#llx\n", (unsigned long long)mask);
		abort();
	}
}

void cc_caps_lower(void)
{
	struct capsets s = { .eff = 0, .prm = CC_BROKER_CAPS, .inh = 0 };
	if (set(&s) < 0) {
		fprintf(stderr, "crashcart-broker: cannot lower capabilities\n");
		abort();
	}
}

int cc_caps_drop_all(uint64_t keep)
{
	/* A capability kept (the ptrace profile) must survive the execve of a
	 * tool without file capabilities: that is what the ambient set is for;
	 * it needs the capability in permitted and inheritable. */
	struct capsets s = { .eff = keep, .prm = keep, .inh = keep };
	int r = set_verified(&s);
	if (r < 0)
		return r;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	for (int c = 0; c < 64; c++)
		if ((keep & CC_CAP(c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			return -errno;
	return 0;
}
