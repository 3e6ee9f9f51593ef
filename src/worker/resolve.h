/* The resolver: turns what the user typed (ID) into a PID, without any
 * privilege. Each runtime is a row in a table in resolve.c; a row says which
 * prefixes it owns ("pid://", "docker://", ...) and how it finds containers.
 * The answer is only a claim: the broker re-reads what it can verify itself
 * and records both in the audit trail. */
#pragma once
#include <stdint.h>

#include "util.h"

struct cc_claim {
	uint32_t pid;          /* 0 when not resolved */
	uint64_t start_time;   /* from /proc/PID/stat; pins the process */
	char runtime[32];      /* "pid", "docker", ... */
	char id[160];
	char name[256];
};

/* Where the resolver looks: the real /proc, or a fixture tree in tests. */
struct cc_resolve_ctx {
	const char *proc_root;   /* "/proc" */
	const char *cgroup_root; /* "/sys/fs/cgroup" */
};

extern const struct cc_resolve_ctx cc_resolve_host;

int cc_resolve(const struct cc_resolve_ctx *ctx, const char *spec, struct cc_claim *out, cc_error *err);
