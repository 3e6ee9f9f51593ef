/* The three seccomp filters, built with libseccomp from the tables that
 * policy/gen-filters.py makes out of policy/seccomp-{worker,broker,tool}.list.
 * Syscall names are resolved here, per architecture, by libseccomp: the
 * lists hold names only. What each rule is for is said in the lists. */
#include "seccomp.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

struct cc_sc_cond {
	unsigned arg;
	int op;         /* enum scmp_compare */
	uint64_t mask;  /* SCMP_CMP_MASKED_EQ only */
	uint64_t value;
};

struct cc_sc_rule {
	const char *name;
	int err;        /* 0: the list's action; else answered with this errno */
	unsigned ncond;
	struct cc_sc_cond cond[3];
	const char *where; /* list file and line, for errors */
};

struct cc_sc_list {
	const char *tag;
	bool default_allow;  /* false: unlisted syscalls kill the process */
	int listed_errno;    /* 0: listed syscalls are allowed */
	const struct cc_sc_rule *rules;
	size_t nrules;
	unsigned nsyscalls;
};

/* The tables, generated from policy/seccomp-*.list; this also brings in
 * libseccomp's <seccomp.h> (see policy/gen-filters.py for why there). */
#include <seccomp-lists.h>

/* Architectures other than the native one. The allowlists (worker, broker)
 * take the native ABI only: a syscall through another ABI (int 0x80 on
 * x86_64) is killed like an unlisted one. The tool may be a 32-bit program,
 * and its blocklist must hold in every ABI it could use, so the compat ABIs
 * get the same rules. */
static int add_compat_arches(scmp_filter_ctx ctx)
{
	static const uint32_t compat[] = {
#if defined(__x86_64__)
		SCMP_ARCH_X86, SCMP_ARCH_X32,
#elif defined(__aarch64__)
		SCMP_ARCH_ARM,
#endif
		0,
	};
	for (size_t i = 0; compat[i]; i++) {
		int r = seccomp_arch_add(ctx, compat[i]);
		if (r < 0 && r != -EEXIST)
			return r;
	}
	return 0;
}

static uint32_t rule_action(const struct cc_sc_list *l, const struct cc_sc_rule *r)
{
	if (r->err)
		return SCMP_ACT_ERRNO((uint32_t)r->err);
	return l->listed_errno ? SCMP_ACT_ERRNO((uint32_t)l->listed_errno) : SCMP_ACT_ALLOW;
}

static int build(enum cc_filter which, scmp_filter_ctx *out, cc_error *err)
{
	if ((size_t)which >= ARRAY_SIZE(cc_sc_lists) || !cc_sc_lists[which].rules)
		return cc_fail(err, EINVAL, "unknown seccomp filter %d", (int)which);
	const struct cc_sc_list *l = &cc_sc_lists[which];
	scmp_filter_ctx ctx = seccomp_init(l->default_allow ? SCMP_ACT_ALLOW : SCMP_ACT_KILL_PROCESS);
	int r;

	if (!ctx)
		return cc_fail(err, ENOMEM, "cannot create the %s seccomp filter", l->tag);
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r == 0 && l->default_allow)
		r = add_compat_arches(ctx);
	if (r < 0) {
		seccomp_release(ctx);
		return cc_fail(err, -r, "cannot set up the %s seccomp filter: %s", l->tag, strerror(-r));
	}
	for (size_t i = 0; i < l->nrules; i++) {
		const struct cc_sc_rule *rule = &l->rules[i];
		struct scmp_arg_cmp cmp[3];
		int nr = seccomp_syscall_resolve_name(rule->name);

		if (nr == __NR_SCMP_ERROR) {
			seccomp_release(ctx);
			return cc_fail(err, EINVAL, "%s: libseccomp does not know the syscall '%s'", rule->where,
				       rule->name);
		}
		for (unsigned c = 0; c < rule->ncond; c++) {
			cmp[c] = (struct scmp_arg_cmp){ .arg = rule->cond[c].arg, .op = (enum scmp_compare)rule->cond[c].op };
			if (rule->cond[c].op == SCMP_CMP_MASKED_EQ) {
				cmp[c].datum_a = rule->cond[c].mask;
				cmp[c].datum_b = rule->cond[c].value;
			} else {
				cmp[c].datum_a = rule->cond[c].value;
			}
		}
		/* A name without a number on this architecture (a negative
		 * pseudo number: e.g. `open` or `iopl` on aarch64) is skipped by
		 * libseccomp: the call does not exist here to be allowed or
		 * refused. */
		r = seccomp_rule_add_array(ctx, rule_action(l, rule), nr, rule->ncond, cmp);
		if (r < 0) {
			seccomp_release(ctx);
			return cc_fail(err, -r, "%s: cannot add the rule for %s: %s", rule->where, rule->name,
				       strerror(-r));
		}
	}
	*out = ctx;
	return 0;
}

int cc_seccomp_load(enum cc_filter which, cc_error *err)
{
	scmp_filter_ctx ctx;
	int r = build(which, &ctx, err);

	if (r < 0)
		return r;
	/* libseccomp sets no_new_privs first (SCMP_FLTATR_CTL_NNP, on by
	 * default): the worker and the tool have it already; the broker gets
	 * it here, after its last exec-free start-up step, which costs it
	 * nothing (it never execs) and lets it load a filter without raising
	 * CAP_SYS_ADMIN. */
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return cc_fail(err, -r, "cannot load the %s seccomp filter: %s", cc_sc_lists[which].tag, strerror(-r));
	return 0;
}

int cc_seccomp_exec_trail(int *listener, cc_error *err)
{
	static const char *const calls[] = { "execve", "execveat" };
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	*listener = -1;
	if (!ctx)
		return cc_fail(err, ENOMEM, "cannot create the exec trail filter");
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r == 0)
		r = add_compat_arches(ctx);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(calls); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, seccomp_syscall_resolve_name(calls[i]), 0);
	if (r == 0)
		r = seccomp_load(ctx);
	if (r == 0) {
		r = seccomp_notify_fd(ctx);
		if (r >= 0) {
			*listener = r;
			r = 0;
		}
	}
	seccomp_release(ctx);
	if (r < 0)
		return cc_fail(err, -r, "cannot load the exec trail filter (SECCOMP_RET_USER_NOTIF, Linux 5.0): %s",
			       strerror(-r));
	return 0;
}

void cc_seccomp_syscall_name(uint32_t arch, int nr, char *buf, size_t len)
{
	char *name = seccomp_syscall_resolve_num_arch(arch, nr);
	snprintf(buf, len, "%s", name ? name : "?");
	free(name);
}

int cc_seccomp_export_pfc(enum cc_filter which, int fd, cc_error *err)
{
	scmp_filter_ctx ctx;
	int r = build(which, &ctx, err);

	if (r < 0)
		return r;
	r = seccomp_export_pfc(ctx, fd);
	seccomp_release(ctx);
	if (r < 0)
		return cc_fail(err, -r, "cannot write the %s seccomp filter: %s", cc_sc_lists[which].tag, strerror(-r));
	return 0;
}

const char *cc_seccomp_name(enum cc_filter which)
{
	return (size_t)which < ARRAY_SIZE(cc_sc_lists) ? cc_sc_lists[which].tag : NULL;
}

int cc_seccomp_count(enum cc_filter which)
{
	return (size_t)which < ARRAY_SIZE(cc_sc_lists) ? (int)cc_sc_lists[which].nsyscalls : -1;
}
