/* The resolver: turns what the user typed (ID) into a PID, without any
 * privilege. Each runtime is a row in a table in resolve.c; a row says which
 * prefixes it owns ("pid://", "docker://", ...) and how it finds containers.
 * The answer is only a claim: the broker re-reads what it can verify itself
 * and records both in the audit trail.
 *
 * Containers are found through the world-readable cgroup tree: the resolver
 * walks the directories of one or a few hierarchies (bounded by the number
 * of cgroups, never by the number of processes), recognises each runtime's
 * naming of its cgroups, and reads the member list (cgroup.procs) only of
 * the cgroups that match. Kubernetes names go through the world-readable
 * /var/log/containers/<pod>_<ns>_<container>-<id>.log links. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

struct cc_claim {
	uint32_t pid;          /* 0 when not resolved */
	uint64_t start_time;   /* from /proc/PID/stat; pins the process */
	char runtime[32];      /* "pid", "docker", ... */
	char id[160];
	char name[256];
	char note[256];        /* how the PID was chosen when it was a choice */
};

/* Where the resolver looks: the real /proc, or a fixture tree in tests. */
struct cc_resolve_ctx {
	const char *proc_root;      /* "/proc" */
	const char *cgroup_root;    /* "/sys/fs/cgroup" */
	const char *log_containers; /* "/var/log/containers"; NULL: no k8s names */
	/* Names that only the runtime knows (resolve_docker.c, resolve_podman.c).
	 * NULL: not asked (fixtures); "": the runtime's usual places. */
	const char *docker_host;    /* a unix socket path; "": $DOCKER_HOST (unix://), /run/docker.sock, /var/run/docker.sock */
	const char *podman_host;    /* a unix socket path; "": $CONTAINER_HOST (unix://), /run/podman/podman.sock */
	const char *podman_bin;     /* "/usr/bin/podman", run as the user for its own (or, as root, rootful) storage */
};

extern const struct cc_resolve_ctx cc_resolve_host;

int cc_resolve(const struct cc_resolve_ctx *ctx, const char *spec, struct cc_claim *out, cc_error *err);

/* ---- Listing (crashcart --list) ---- */

enum cc_mounted { CC_MOUNTED_UNKNOWN = -1, CC_MOUNTED_NO = 0, CC_MOUNTED_YES = 1 };

struct cc_container {
	char runtime[32];
	char id[160];
	char name[256];        /* "" when the runtime does not put it anywhere readable */
	char cgroup[512];      /* path inside the hierarchy it was found in */
	uint32_t pid;          /* init (or the chosen process) */
	uint64_t start_time;
	bool own_pidns;        /* pid is the init of a PID namespace */
	int mounted;           /* enum cc_mounted: /dev/crashcart in its mountinfo */
	char note[256];
};

/* Every container the resolver can see (with a live process), sorted by
 * runtime then id. *out is malloc'ed (free() it); *n may be 0. */
int cc_list(const struct cc_resolve_ctx *ctx, struct cc_container **out, size_t *n, cc_error *err);

/* A table with a header line (RUNTIME ID NAME PID MOUNTED); ids and names
 * are escaped (cc_escape) so that container names cannot forge lines.
 * Returns 0 or -errno of the write. */
int cc_list_print_table(FILE *f, const struct cc_container *c, size_t n);
/* {"containers":[{"runtime":..,"id":..,"short_id":..,"name":..,"pid":..,
 *  "start_time":..,"pidns":..,"mounted":true|false|null,"cgroup":..,"note":..}]} + "\n" */
int cc_list_print_json(FILE *f, const struct cc_container *c, size_t n);

/* ---- Internal to the resolver (resolve*.c, list.c); exposed for tests ---- */

/* Order of candidates: runtime, id, name, PID. */
int cc_container_cmp(const struct cc_container *x, const struct cc_container *y);
/* Why a lookup found nothing, for the "not found" message (why may be NULL). */
void cc_set_why(char *why, size_t max, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Short form of an id for humans: its first 12 bytes. */
void cc_short_id(const char *id, char out[13]);
/* 1 when /proc/PID/mountinfo has a mount at /dev/crashcart, 0 when not,
 * negative errno when it cannot be read. */
int cc_proc_has_crashcart(int procfd, uint32_t pid);

/* What /proc and the cgroup tree say, parsed (resolve_cgroup.c, list.c).
 * The text is container-controlled (a process writes its own comm; a
 * delegated cgroup names its children): these parse from memory or an fd,
 * apart from the reads, so that tests/fuzz/ can give them anything. */

/* The NSpid: line of /proc/PID/status (not its first line): the last PID
 * (the one in the innermost namespace) and the number of levels. -ENOENT:
 * no NSpid line; -EINVAL: a malformed one. */
int cc_parse_status_nspid(const char *status, uint64_t *last, int *levels);
/* Field 4 (ppid) of /proc/PID/stat text, read after the last ')'. */
int cc_parse_stat_ppid(const char *stat, uint32_t *ppid);
/* 1 when the mountinfo read from fd (to its end, at most 16 MiB) has a
 * mount at /dev/crashcart, 0 when not, negative errno on a read error or
 * a larger file. Parsed by libmount (src/common/mountinfo.c): lines it
 * cannot parse are skipped, escaped mount points are compared unescaped. */
int cc_mountinfo_has_crashcart(int fd);

/* What container, if any, a cgroup directory is, from its name (base), its
 * parent's name, its depth (1 = child of the hierarchy root) and its path
 * relative to that root. */
struct cc_cgroup_class {
	unsigned rt;            /* one CC_RT_* */
	const char *runtime;    /* "docker", ... (static) */
	char id[160];
	char name[256];
	bool need_shim; /* "/<namespace>/<id>": only a containerd shim's child proves it */
	bool generic;   /* unrecognised cgroup named like the spec (runc/crun cgroupfs) */
};
bool cc_cgroup_classify(const char *base, const char *parent, int depth, const char *path, struct cc_cgroup_class *c);

/* The cgroup walker (resolve_cgroup.c). A query selects which containers to
 * keep before their members are read, so that resolution reads only the
 * cgroups that match. */
enum cc_match { CC_MATCH_NONE = 0, CC_MATCH_PREFIX = 1, CC_MATCH_EXACT = 2 };

struct cc_query {
	const char *spec;        /* NULL: every container (listing) */
	unsigned runtimes;       /* bit mask of CC_RT_*; 0 = all */
	bool full_id_only;       /* only exact ids (k8s log links) */
	const char *const *ids;  /* with full_id_only: the ids wanted (NULL-terminated) */
};

enum {
	CC_RT_DOCKER = 1u << 0,
	CC_RT_PODMAN = 1u << 1,
	CC_RT_CONTAINERD = 1u << 2,
	CC_RT_CRIO = 1u << 3,
	CC_RT_RUNC = 1u << 4,
	CC_RT_LXC = 1u << 5,
	CC_RT_MACHINE = 1u << 6,
};

struct cc_found {
	struct cc_container c;
	int match; /* enum cc_match */
	int hier;  /* which hierarchy it was found in (walk order) */
};

/* Walk the hierarchies under ctx->cgroup_root; append what matches q to
 * *v (*nv elements, realloc'ed). Containers whose cgroups hold no process
 * are left out; one container seen in several hierarchies (same cgroup path
 * or same process) is kept once. Two cgroups of one hierarchy that claim the
 * same id are both kept: a container with a delegated cgroup can name its
 * sub-cgroups like another container, and that must end in ambiguity, not
 * in whichever the walk met first. */
int cc_cgroup_find(const struct cc_resolve_ctx *ctx, const struct cc_query *q, struct cc_found **v, size_t *nv,
		   cc_error *err);

/* Kubernetes (resolve_k8s.c): spec is NAMESPACE/POD[/CONTAINER]; appends the
 * running containers it names (match exact). explicit: the user wrote k8s://,
 * so a malformed spec or an unknown pod is an error rather than no match. */
int cc_k8s_find(const struct cc_resolve_ctx *ctx, const char *spec, bool explicit, struct cc_found **v, size_t *nv,
		cc_error *err);
/* Fill empty names of c[] from the log links ("ns/pod/container"). */
void cc_k8s_name(const struct cc_resolve_ctx *ctx, struct cc_container *c, size_t n);

/* ---- Names from the runtime's own metadata (resolve_docker.c, resolve_podman.c) ---- */

/* What the resolver takes from a container's inspect document (Docker
 * Engine API GET /containers/NAME/json, podman's compatible API, or
 * `podman container inspect`). */
struct cc_inspect {
	char id[65];    /* 64 lowercase hex */
	char name[256]; /* without Docker's leading '/' */
	uint32_t pid;   /* State.Pid: the init's host PID; 0 when not running */
	bool running;
};

/* Replies larger than this are refused, not parsed. */
#define CC_INSPECT_MAX_BYTES (1024 * 1024)
/* Nesting deeper than this is refused by the tokenizer. */
#define CC_INSPECT_MAX_DEPTH 64

/* Parse an inspect document. The reply is hostile: anyone can answer on a
 * socket named by $DOCKER_HOST. array: podman's CLI prints a JSON array
 * that must hold exactly one object. Checks types and ranges (Id 64 hex,
 * Pid an integer in 0..2^30, Name a string without control bytes) and that
 * nothing but white space follows the document. */
int cc_inspect_parse(const char *buf, size_t len, bool array, struct cc_inspect *out, cc_error *err);

/* A name Docker or podman could have given (optional leading '/', then
 * [A-Za-z0-9][A-Za-z0-9_.-]*, at most 253 bytes): safe in a URL path and
 * in argv without quoting. */
bool cc_runtime_name_ok(const char *s);

/* The unix socket to use: explicit (non-empty), else the environment
 * variable env ("unix:///path"; other schemes are refused), else the first
 * of defaults that exists. 0 with *path set; 0 with path "" when none;
 * negative errno when env names something that is not a unix socket. */
/* Where the Docker daemon listens when DOCKER_HOST does not say. */
extern const char *const cc_docker_sockets[];
int cc_api_socket(const char *explicit_path, const char *env, const char *const *defaults, char *path, size_t max,
		  cc_error *err);

/* GET http://localhost<url_path> over the unix socket; the body (at most
 * CC_INSPECT_MAX_BYTES) in *body (malloc'ed, NUL-terminated), the HTTP
 * status in *status. Negative errno when the socket cannot be reached or
 * the reply is too large or too slow; err says which. */
/* GET /containers/NAME/json from a Docker-compatible API (Docker, podman)
 * and parse it: 1 with *in filled when NAME (or a full id) is a container,
 * 0 with the reason in why otherwise. *answered: the service replied. */
int cc_api_inspect_name(const char *label, const char *sock, const char *name, struct cc_inspect *in, bool *answered,
			char *why, size_t whymax);
int cc_api_get(const char *socket_path, const char *url_path, char **body, size_t *len, long *status, cc_error *err);

/* Look NAME up through a runtime's metadata and append what it names
 * (match exact) to *v. NAME must be the container's name or full id there
 * (prefix look-ups are the cgroup walker's). The PID is the one the cgroup
 * walker finds for the returned id, or else the runtime's State.Pid when its
 * /proc/PID/cgroup names the id. why (may be NULL) says, when nothing was
 * appended, what each way of knowing names lacked (no socket, socket
 * unreachable, no such container, no storage, ...), for a bare name as for
 * docker:// or podman://: the first message says what was missing. Errors
 * only for what is wrong, not for what is absent. */
int cc_docker_find(const struct cc_resolve_ctx *ctx, const char *name, struct cc_found **v, size_t *nv,
		   char *why, size_t whymax, cc_error *err);
int cc_podman_find(const struct cc_resolve_ctx *ctx, const char *name, struct cc_found **v, size_t *nv,
		   char *why, size_t whymax, cc_error *err);
/* --list: fill the empty names of Docker containers in c[] from the Docker
 * API's GET /containers/json, when the user can reach the socket (as for
 * docker://NAME); the number named, 0 when the API is not reachable. */
int cc_docker_names(const struct cc_resolve_ctx *ctx, struct cc_container *c, size_t n);
/* The name podman gave the container whose init is pid and whose id is id,
 * from its parent conmon's world-readable command line (-c ID -n NAME),
 * when that conmon is root's or the user's: 1 with name set, 0 when not
 * known that way, negative errno on ENOMEM (resolve_podman.c). */
int cc_conmon_name(int procfd, uint32_t pid, const char *id, char *name, size_t max);
/* CC_RT_* of a runtime name as the walker writes it ("docker", "cri-o", ...); 0 if unknown. */
unsigned cc_runtime_bit(const char *runtime);
/* Shared by both: append the container the runtime named (after the
 * checks above); runtime is "docker" or "podman". */
int cc_inspect_add(const struct cc_resolve_ctx *ctx, const char *runtime, unsigned rt, const struct cc_inspect *in,
		   struct cc_found **v, size_t *nv, char *why, size_t whymax, cc_error *err);
