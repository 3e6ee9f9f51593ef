/* The seccomp filters, built with libseccomp from the tables that
 * policy/gen-filters.py makes out of policy/seccomp-{worker,broker,tool}.list
 * (and the exec trail's two rules). Syscall names are resolved here, per
 * architecture, by libseccomp: the lists hold names only. What each rule is
 * for is said in the lists.
 *
 * This runs at build time only: crashcart-filters turns the filters into
 * BPF (seccomp-bpf.h) that seccomp.c loads with seccomp(2), and the unit
 * tests build them again here to prove that what is compiled in is what
 * libseccomp makes of the lists. The worker and the broker do not link it. */
#include "seccomp.h"

#include <linux/filter.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The exec trail: everything allowed, execve and execveat in every ABI
 * handed to the supervisor (SECCOMP_RET_USER_NOTIF). */
static const char *const trail_calls[] = { "execve", "execveat" };

static int build_trail(scmp_filter_ctx *out, cc_error *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	if (!ctx)
		return cc_fail(err, ENOMEM, "cannot create the exec trail filter");
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r == 0)
		r = add_compat_arches(ctx);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(trail_calls); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, seccomp_syscall_resolve_name(trail_calls[i]), 0);
	if (r < 0) {
		seccomp_release(ctx);
		return cc_fail(err, -r, "cannot build the exec trail filter: %s", strerror(-r));
	}
	*out = ctx;
	return 0;
}

static int build_any(enum cc_filter which, scmp_filter_ctx *out, cc_error *err)
{
	return which == CC_FILTER_TRAIL ? build_trail(out, err) : build(which, out, err);
}

int cc_seccomp_build_bpf(enum cc_filter which, struct sock_filter **prog, size_t *len, cc_error *err)
{
	scmp_filter_ctx ctx;
	struct stat st;
	int r = build_any(which, &ctx, err);

	if (r < 0)
		return r;
	/* libseccomp 2.5 exports to an fd only */
	int fd = memfd_create("bpf", MFD_CLOEXEC);
	if (fd < 0) {
		seccomp_release(ctx);
		return cc_failx(err, errno, "memfd_create");
	}
	r = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	if (r < 0) {
		(void)close(fd);
		return cc_fail(err, -r, "cannot export the seccomp filter: %s", strerror(-r));
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
	    !(*prog = malloc((size_t)st.st_size)) || pread(fd, *prog, (size_t)st.st_size, 0) != st.st_size) {
		(void)close(fd);
		return cc_fail(err, EIO, "cannot read the exported seccomp filter");
	}
	(void)close(fd);
	*len = (size_t)st.st_size / sizeof(struct sock_filter);
	return 0;
}

/* The names of the exec trail's calls in every ABI the trail covers, for
 * the recording's "x" events (seccomp.c has no libseccomp to ask). */
static int write_trail_names(FILE *f)
{
	uint32_t arches[4] = { seccomp_arch_native() };
	size_t na = 1;
#if defined(__x86_64__)
	arches[na++] = SCMP_ARCH_X86;
	arches[na++] = SCMP_ARCH_X32;
#elif defined(__aarch64__)
	arches[na++] = SCMP_ARCH_ARM;
#endif
	fprintf(f, "static const struct cc_bpf_name cc_bpf_trail_names[] = {\n");
	for (size_t a = 0; a < na; a++)
		for (size_t i = 0; i < ARRAY_SIZE(trail_calls); i++) {
			int nr = seccomp_syscall_resolve_name_arch(arches[a], trail_calls[i]);
			if (nr >= 0)
				fprintf(f, "\t{ %#xu, %d, \"%s\" },\n", arches[a], nr, trail_calls[i]);
		}
	fprintf(f, "};\n");
	return 0;
}

int cc_seccomp_write_c_header(int fd, cc_error *err)
{
	static const char *const names[] = { "worker", "broker", "tool", "tool_ptrace", "trail" };
	FILE *f = fdopen(fd, "w");

	if (!f)
		return cc_failx(err, errno, "fdopen");
	fprintf(f, "/* Generated at build time by crashcart-filters --c-header from the lists in\n"
		   " * policy/ through libseccomp %u.%u.%u (src/common/seccomp_build.c). Do not edit.\n"
		   " * Loaded by src/common/seccomp.c with seccomp(2); test_seccomp checks that\n"
		   " * libseccomp still makes exactly these programs of the lists. */\n#pragma once\n\n",
		seccomp_version()->major, seccomp_version()->minor, seccomp_version()->micro);
	for (enum cc_filter w = CC_FILTER_WORKER; w <= CC_FILTER_TRAIL; w++) {
		struct sock_filter *prog = NULL;
		size_t len = 0;
		if (cc_seccomp_build_bpf(w, &prog, &len, err) < 0) {
			fclose(f);
			return -err->code;
		}
		fprintf(f, "static const struct sock_filter cc_bpf_%s[%zu] = {\n", names[w], len);
		for (size_t i = 0; i < len; i++)
			fprintf(f, "\t{ 0x%04x, %u, %u, 0x%08xu },\n", prog[i].code, prog[i].jt, prog[i].jf, prog[i].k);
		fprintf(f, "};\n\n");
		free(prog);
	}
	fprintf(f, "static const struct cc_bpf_filter cc_bpf_filters[] = {\n");
	for (enum cc_filter w = CC_FILTER_WORKER; w <= CC_FILTER_TRAIL; w++)
		fprintf(f, "\t[%d] = { \"%s\", cc_bpf_%s, ARRAY_SIZE(cc_bpf_%s) },\n", (int)w, names[w], names[w], names[w]);
	fprintf(f, "};\n\n");
	write_trail_names(f);
	return fclose(f) == 0 ? 0 : cc_failx(err, errno, "cannot write the header");
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
