#include "resolve.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const struct cc_resolve_ctx cc_resolve_host = {
	.proc_root = "/proc",
	.cgroup_root = "/sys/fs/cgroup",
	.log_containers = "/var/log/containers",
	.docker_host = "",
	.podman_host = "",
	.podman_bin = "/usr/bin/podman",
};

struct resolver {
	const char *runtime;
	const char *prefix; /* "pid://": owns specs with this prefix */
	unsigned cgroup_rt; /* CC_RT_* searched in the cgroup tree */
	bool pid, k8s;
	unsigned names;     /* CC_RT_DOCKER/CC_RT_PODMAN: names from the runtime's metadata */
};

/* Prefixes restrict the search; a spec without one tries every row. */
static const struct resolver resolvers[] = {
	{ "pid", "pid://", 0, true, false },
	{ "docker", "docker://", CC_RT_DOCKER, false, false, CC_RT_DOCKER },
	{ "podman", "podman://", CC_RT_PODMAN, false, false, CC_RT_PODMAN },
	{ "containerd", "containerd://", CC_RT_CONTAINERD, false, false },
	{ "cri-o", "cri-o://", CC_RT_CRIO, false, false },
	{ "cri-o", "crio://", CC_RT_CRIO, false, false },
	{ "runc", "runc://", CC_RT_RUNC, false, false },
	{ "crun", "crun://", CC_RT_RUNC, false, false },
	{ "lxc", "lxc://", CC_RT_LXC, false, false },
	{ "machine", "machine://", CC_RT_MACHINE, false, false },
	{ "k8s", "k8s://", 0, false, true },
};

unsigned cc_runtime_bit(const char *runtime)
{
	for (size_t i = 0; i < ARRAY_SIZE(resolvers); i++)
		if (resolvers[i].cgroup_rt && strcmp(resolvers[i].runtime, runtime) == 0)
			return resolvers[i].cgroup_rt;
	return 0;
}

static int resolve_pid(const struct cc_resolve_ctx *ctx, const char *spec, struct cc_claim *out, cc_error *err)
{
	char path[64], stat[1024];
	uint64_t pid;
	int dirfd, r;

	if (cc_parse_u64(spec, 0x3fffffff, &pid) < 0 || pid == 0)
		return 0;
	out->pid = (uint32_t)pid;
	snprintf(out->runtime, sizeof(out->runtime), "pid");
	snprintf(out->id, sizeof(out->id), "%u", out->pid);
	dirfd = open(ctx->proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return cc_failx(err, errno, "cannot open %s", ctx->proc_root);
	snprintf(path, sizeof(path), "%u/stat", out->pid);
	r = cc_read_file_at(dirfd, path, stat, sizeof(stat));
	(void)close(dirfd);
	if (r == -ENOENT || r == -ESRCH)
		return cc_fail(err, ESRCH, "no process with PID %u", out->pid);
	if (r < 0)
		return cc_fail(err, -r, "cannot read %s/%s: %s", ctx->proc_root, path, strerror(-r));
	if (cc_parse_stat_start_time(stat, &out->start_time) < 0)
		return cc_fail(err, EINVAL, "cannot parse %s/%s", ctx->proc_root, path);
	return 1;
}

void cc_short_id(const char *id, char out[13])
{
	snprintf(out, 13, "%s", id);
}

/* "docker 0123456789ab web (PID 42)" */
static void describe(const struct cc_container *c, char *out, size_t max)
{
	char sid[13];
	cc_short_id(c->id, sid);
	snprintf(out, max, "%s %s%s%.100s (PID %u)", c->runtime, sid, c->name[0] ? " " : "", c->name, c->pid);
}

static void searched_list(const struct resolver *only, bool k8s_possible, char *out, size_t max)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(resolvers); i++) {
		const struct resolver *r = &resolvers[i];
		if (only ? r != only : (r->pid || (r->k8s && !k8s_possible)))
			continue;
		if (i > 0 && resolvers[i - 1].cgroup_rt && resolvers[i - 1].cgroup_rt == r->cgroup_rt && !only)
			continue; /* cri-o:// and crio://, runc:// and crun:// are one search */
		int n = snprintf(out + o, max - o, "%s%s", o ? ", " : "", r->runtime);
		if (n < 0 || (size_t)n >= max - o)
			break;
		o += (size_t)n;
	}
}

int cc_container_cmp(const struct cc_container *x, const struct cc_container *y)
{
	int r = strcmp(x->runtime, y->runtime);
	if (r == 0)
		r = strcmp(x->id, y->id);
	if (r == 0)
		r = strcmp(x->name, y->name);
	if (r == 0)
		r = (x->pid > y->pid) - (x->pid < y->pid);
	return r;
}

static int cmp_found(const void *a, const void *b)
{
	return cc_container_cmp(&((const struct cc_found *)a)->c, &((const struct cc_found *)b)->c);
}

void cc_set_why(char *why, size_t max, const char *fmt, ...)
{
	va_list ap;
	if (!why || max == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, max, fmt, ap);
	va_end(ap);
}

static int resolve(const struct cc_resolve_ctx *ctx, const char *spec, struct cc_claim *out, cc_error *err);

int cc_resolve(const struct cc_resolve_ctx *ctx, const char *spec, struct cc_claim *out, cc_error *err)
{
	int r = resolve(ctx, spec, out, err);
	if (r < 0)
		memset(out, 0, sizeof(*out)); /* pid 0: not resolved */
	return r;
}

static int resolve(const struct cc_resolve_ctx *ctx, const char *spec, struct cc_claim *out, cc_error *err)
{
	const struct resolver *only = NULL;
	const char *bare = spec;
	_cleanup_free_ struct cc_found *v = NULL;
	size_t nv = 0, nexact = 0;
	char shown[200];
	int r;

	memset(out, 0, sizeof(*out));
	if (!spec || !*spec)
		return cc_fail(err, EINVAL, "empty container id");
	snprintf(shown, sizeof(shown), "%s", spec); /* bounded; escaped where printed */
	for (size_t i = 0; i < ARRAY_SIZE(resolvers); i++) {
		size_t n = strlen(resolvers[i].prefix);
		if (strncmp(spec, resolvers[i].prefix, n) == 0) {
			only = &resolvers[i];
			bare = spec + n;
		}
	}
	if (!only && strstr(spec, "://"))
		return cc_fail(err, EINVAL,
			       "unknown runtime prefix in '%s' (supported: pid://, docker://, podman://, containerd://, "
			       "cri-o://, runc://, crun://, lxc://, machine://, k8s://)",
			       shown);
	if (!*bare)
		return cc_fail(err, EINVAL, "'%s': nothing after the prefix", shown);

	/* A bare number is a PID; only when no such process exists may it
	 * still be an all-digit id prefix. */
	bool pid_missing = false;
	cc_error pid_err = { 0 };
	if (!only || only->pid) {
		r = resolve_pid(ctx, bare, out, &pid_err);
		if (r > 0)
			return 0;
		if (r < 0 && (only || pid_err.code != ESRCH)) {
			if (err)
				*err = pid_err;
			return r;
		}
		if (only)
			return cc_fail(err, EINVAL, "'%s' is not a valid pid id", shown);
		pid_missing = r < 0;
		memset(out, 0, sizeof(*out));
	}

	bool k8s_possible = strchr(bare, '/') != NULL && ctx->log_containers;
	if (!only || only->cgroup_rt) {
		struct cc_query q = { .spec = bare, .runtimes = only ? only->cgroup_rt : 0 };
		r = cc_cgroup_find(ctx, &q, &v, &nv, err);
		if (r < 0)
			return r;
	}
	if ((only && only->k8s) || (!only && k8s_possible)) {
		r = cc_k8s_find(ctx, bare, only != NULL, &v, &nv, err);
		if (r < 0)
			return r;
	}

	/* Names only the runtime knows (Docker, podman): asked when nothing
	 * matched exactly, so that an exact id wins, then an exact name, then
	 * an id prefix (Docker's own order). */
	char why[768] = "";
	for (size_t i = 0; i < nv; i++)
		nexact += v[i].match == CC_MATCH_EXACT;
	unsigned names = only ? only->names : (CC_RT_DOCKER | CC_RT_PODMAN);
	if (nexact == 0 && names && cc_runtime_name_ok(bare)) {
		char w[512];
		if (names & CC_RT_DOCKER) {
			w[0] = '\0';
			r = cc_docker_find(ctx, bare, &v, &nv, w, sizeof(w), err);
			if (r < 0)
				return r;
			if (w[0])
				snprintf(why, sizeof(why), "; %s", w);
		}
		if (names & CC_RT_PODMAN) {
			w[0] = '\0';
			r = cc_podman_find(ctx, bare, &v, &nv, w, sizeof(w), err);
			if (r < 0)
				return r;
			if (w[0])
				snprintf(why + strlen(why), sizeof(why) - strlen(why), "; %s", w);
		}
		nexact = 0;
		for (size_t i = 0; i < nv; i++)
			nexact += v[i].match == CC_MATCH_EXACT;
	}

	if (nv > 1) /* v is NULL when nothing was found: qsort's pointer must not be */
		qsort(v, nv, sizeof(*v), cmp_found);
	if (nexact > 0) {
		size_t j = 0;
		for (size_t i = 0; i < nv; i++)
			if (v[i].match == CC_MATCH_EXACT)
				v[j++] = v[i];
		nv = j;
	}
	if (nv == 0) {
		char list[200];
		searched_list(only, k8s_possible, list, sizeof(list));
		if (pid_missing)
			return cc_fail(err, ESRCH, "no process with PID %s, and no container id '%s' (searched: %s%s)",
				       shown, shown, list, why);
		return cc_fail(err, ENOENT, "no container '%s' (searched: %s%s)", shown, list, why);
	}
	if (nv > 1) {
		char *m = err ? err->msg : NULL;
		int n = cc_fail(err, EEXIST, "'%s' is ambiguous: %zu containers match:", shown, nv);
		if (m) {
			size_t o = strlen(m), max = sizeof(err->msg);
			for (size_t i = 0; i < nv; i++) {
				char d[400];
				describe(&v[i].c, d, sizeof(d));
				/* keep room for " and N more" */
				if (o + 2 + strlen(d) + 24 >= max) {
					snprintf(m + o, max - o, " and %zu more", nv - i);
					break;
				}
				o += (size_t)snprintf(m + o, max - o, "%s %s", i ? ";" : "", d);
			}
		}
		return n;
	}
	out->pid = v[0].c.pid;
	out->start_time = v[0].c.start_time;
	snprintf(out->runtime, sizeof(out->runtime), "%s", v[0].c.runtime);
	snprintf(out->id, sizeof(out->id), "%s", v[0].c.id);
	snprintf(out->name, sizeof(out->name), "%s", v[0].c.name);
	snprintf(out->note, sizeof(out->note), "%s", v[0].c.note);
	return 0;
}
