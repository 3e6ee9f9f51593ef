#include "resolve.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

const struct cc_resolve_ctx cc_resolve_host = {
	.proc_root = "/proc",
	.cgroup_root = "/sys/fs/cgroup",
};

struct resolver {
	const char *runtime;
	const char *prefix; /* "pid://": owns specs with this prefix */
	/* Returns 1 and fills out when it found the container, 0 when it does
	 * not know the spec (try the next row), negative on error. */
	int (*resolve)(const struct cc_resolve_ctx *ctx, const char *spec, struct cc_claim *out, cc_error *err);
};

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

static const struct resolver resolvers[] = {
	{ "pid", "pid://", resolve_pid },
	/* Container runtimes (docker, podman, containerd, CRI-O, LXC, nspawn,
	 * Kubernetes) plug in here: not implemented yet. */
};

int cc_resolve(const struct cc_resolve_ctx *ctx, const char *spec, struct cc_claim *out, cc_error *err)
{
	const struct resolver *only = NULL;
	const char *bare = spec;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < ARRAY_SIZE(resolvers); i++) {
		size_t n = strlen(resolvers[i].prefix);
		if (strncmp(spec, resolvers[i].prefix, n) == 0) {
			only = &resolvers[i];
			bare = spec + n;
		}
	}
	if (!only && strstr(spec, "://"))
		return cc_fail(err, EINVAL, "unknown runtime prefix in '%s' (supported: pid://)", spec);
	for (size_t i = 0; i < ARRAY_SIZE(resolvers); i++) {
		if (only && only != &resolvers[i])
			continue;
		int r = resolvers[i].resolve(ctx, bare, out, err);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	if (only)
		return cc_fail(err, EINVAL, "'%s' is not a valid %s id", spec, only->runtime);
	return cc_fail(err, ENOENT,
		       "no container '%s': only PIDs are supported so far (container ids and names are not implemented yet)",
		       spec);
}
