/* Loading the seccomp filters. The programs were compiled at build time:
 * crashcart-filters built them from policy/seccomp-*.list with libseccomp
 * (seccomp_build.c) and wrote the BPF into seccomp-bpf.h, which is compiled
 * in here; this file hands them to the kernel with seccomp(2). So the
 * worker, the broker and the tool's launcher neither link libseccomp nor
 * build a filter at run time (nor probe the kernel's seccomp API, ten
 * syscalls per load). test_seccomp builds every filter again with
 * libseccomp and compares it with what is compiled in: a list, a generator
 * or a library that changed without a rebuild fails it.
 *
 * Hand-written instead of libseccomp's seccomp_load() for a reason: the
 * program is the same bytes, only the library's run-time work is skipped. */
#include "seccomp.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

struct cc_bpf_filter {
	const char *tag;
	const struct sock_filter *prog;
	size_t len;
};

struct cc_bpf_name {
	uint32_t arch;
	int nr;
	const char *name;
};

#include <seccomp-bpf.h>

static int load(enum cc_filter which, unsigned flags)
{
	const struct cc_bpf_filter *f = &cc_bpf_filters[which];
	struct sock_fprog prog = { .len = (unsigned short)f->len, .filter = (struct sock_filter *)f->prog };

	/* As libseccomp does (SCMP_FLTATR_CTL_NNP, its default): no_new_privs
	 * first. The worker and the tool have it already; the broker gets it
	 * here, after its last exec-free start-up step, which costs it nothing
	 * (it never execs) and lets it load a filter without CAP_SYS_ADMIN. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	return r < 0 ? -errno : (int)r;
}

int cc_seccomp_load(enum cc_filter which, cc_error *err)
{
	if ((size_t)which >= ARRAY_SIZE(cc_bpf_filters) || which == CC_FILTER_TRAIL)
		return cc_fail(err, EINVAL, "unknown seccomp filter %d", (int)which);
	int r = load(which, 0);
	if (r < 0)
		return cc_fail(err, -r, "cannot load the %s seccomp filter: %s", cc_bpf_filters[which].tag, strerror(-r));
	return 0;
}

int cc_seccomp_exec_trail(int *listener, cc_error *err)
{
	int r = load(CC_FILTER_TRAIL, SECCOMP_FILTER_FLAG_NEW_LISTENER);

	*listener = -1;
	if (r < 0)
		return cc_fail(err, -r, "cannot load the exec trail filter (SECCOMP_RET_USER_NOTIF, Linux 5.0): %s",
			       strerror(-r));
	*listener = r; /* the kernel makes it close-on-exec */
	return 0;
}

int cc_seccomp_program(enum cc_filter which, const struct sock_filter **prog, size_t *len)
{
	if ((size_t)which >= ARRAY_SIZE(cc_bpf_filters))
		return -EINVAL;
	*prog = cc_bpf_filters[which].prog;
	*len = cc_bpf_filters[which].len;
	return 0;
}

void cc_seccomp_syscall_name(uint32_t arch, int nr, char *buf, size_t len)
{
	const char *name = "?";
	for (size_t i = 0; i < ARRAY_SIZE(cc_bpf_trail_names); i++)
		if (cc_bpf_trail_names[i].arch == arch && cc_bpf_trail_names[i].nr == nr)
			name = cc_bpf_trail_names[i].name;
	snprintf(buf, len, "%s", name);
}
