/* Kubernetes names: the kubelet keeps world-readable links
 * /var/log/containers/<pod>_<namespace>_<container>-<id>.log for every
 * container it runs. Only the link names are read (never their targets), so
 * k8s://NAMESPACE/POD[/CONTAINER] maps to container ids without privilege;
 * the ids are then found in the cgroup tree like any other. */
#include "resolve.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#define K8S_MAX_ENTRIES 100000 /* directory entries read */
#define K8S_MAX_IDS 256        /* containers of one pod (restarts included) */

struct k8s_entry {
	char pod[254], ns[64], ctr[64];
	char id[65];
};

/* "<pod>_<ns>_<ctr>-<64hex>.log" */
static bool parse_log_name(const char *name, struct k8s_entry *e)
{
	size_t n = strlen(name);
	const char *p1, *p2;

	if (n < 4 + 65 + 5 || strcmp(name + n - 4, ".log") != 0)
		return false;
	n -= 4;
	const char *id = name + n - 64;
	if (id[-1] != '-')
		return false;
	for (size_t i = 0; i < 64; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	size_t rest = (size_t)(id - 1 - name);
	p1 = memchr(name, '_', rest);
	if (!p1)
		return false;
	p2 = memchr(p1 + 1, '_', rest - (size_t)(p1 + 1 - name));
	if (!p2 || memchr(p2 + 1, '_', rest - (size_t)(p2 + 1 - name)))
		return false;
	size_t lpod = (size_t)(p1 - name), lns = (size_t)(p2 - p1 - 1), lctr = rest - (size_t)(p2 + 1 - name);
	if (!lpod || !lns || !lctr || lpod >= sizeof(e->pod) || lns >= sizeof(e->ns) || lctr >= sizeof(e->ctr))
		return false;
	memcpy(e->pod, name, lpod);
	e->pod[lpod] = '\0';
	memcpy(e->ns, p1 + 1, lns);
	e->ns[lns] = '\0';
	memcpy(e->ctr, p2 + 1, lctr);
	e->ctr[lctr] = '\0';
	memcpy(e->id, id, 64);
	e->id[64] = '\0';
	return true;
}

/* Calls fn for each well-formed link name; stops when fn returns nonzero. */
static int k8s_scan(const struct cc_resolve_ctx *ctx, int (*fn)(const struct k8s_entry *, void *), void *data)
{
	if (!ctx->log_containers)
		return 0;
	int fd = open(ctx->log_containers, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		(void)close(fd);
		return -ENOMEM;
	}
	struct dirent *de;
	size_t seen = 0;
	int r = 0;
	while (r == 0 && (de = readdir(d)) && ++seen <= K8S_MAX_ENTRIES) {
		struct k8s_entry e;
		if (parse_log_name(de->d_name, &e))
			r = fn(&e, data);
	}
	closedir(d);
	return r < 0 ? r : 0;
}

struct want {
	const char *ns, *pod, *ctr;
	struct k8s_entry *found;
	size_t n;
	bool pod_seen;
};

static int collect(const struct k8s_entry *e, void *data)
{
	struct want *w = data;
	if (strcmp(e->ns, w->ns) != 0 || strcmp(e->pod, w->pod) != 0)
		return 0;
	w->pod_seen = true;
	if (w->ctr && strcmp(e->ctr, w->ctr) != 0)
		return 0;
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->found[i].id, e->id) == 0)
			return 0;
	if (w->n >= K8S_MAX_IDS)
		return 0;
	w->found[w->n++] = *e;
	return 0;
}

int cc_k8s_find(const struct cc_resolve_ctx *ctx, const char *spec, bool explicit, struct cc_found **v, size_t *nv,
		cc_error *err)
{
	char buf[600], *parts[4] = { 0 }, shown[200];
	size_t np = 0;
	int r;

	snprintf(shown, sizeof(shown), "%s", spec); /* bounded; escaped where printed */
	if (strlen(spec) >= sizeof(buf))
		return explicit ? cc_fail(err, EINVAL, "'%s' is too long for NAMESPACE/POD[/CONTAINER]", shown) : 0;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *p = buf, *s; np < 4; p = s + 1) {
		parts[np++] = p;
		s = strchr(p, '/');
		if (!s)
			break;
		*s = '\0';
	}
	if (np < 2 || np > 3 || !*parts[0] || !*parts[1] || (np == 3 && !*parts[2]))
		return explicit ? cc_fail(err, EINVAL, "'k8s://%s': expected k8s://NAMESPACE/POD[/CONTAINER]", shown)
				: 0;
	if (!ctx->log_containers)
		return explicit ? cc_fail(err, ENOENT, "no Kubernetes log directory configured") : 0;

	_cleanup_free_ struct k8s_entry *found = calloc(K8S_MAX_IDS, sizeof(*found));
	if (!found)
		return cc_fail(err, ENOMEM, "out of memory");
	char sp[100], sc[100];
	snprintf(sp, sizeof(sp), "%s", parts[0]); /* bounded; escaped where printed */
	snprintf(sc, sizeof(sc), "%s", parts[1]); /* bounded; escaped where printed */
	struct want w = { .ns = parts[0], .pod = parts[1], .ctr = np == 3 ? parts[2] : NULL, .found = found };
	r = k8s_scan(ctx, collect, &w);
	if (r < 0) {
		if (!explicit)
			return 0;
		return r == -ENOENT ? cc_fail(err, ENOENT, "no pod %s/%s: %s does not exist (not a Kubernetes node?)",
					      sp, sc, ctx->log_containers)
				    : cc_fail(err, -r, "cannot read %s: %s", ctx->log_containers, strerror(-r));
	}
	if (w.n == 0) {
		if (!explicit)
			return 0;
		if (w.pod_seen) {
			char ct[100];
			snprintf(ct, sizeof(ct), "%s", parts[2]); /* bounded; escaped where printed */
			return cc_fail(err, ENOENT, "pod %s/%s has no container '%s' (from %s)", sp, sc, ct,
				       ctx->log_containers);
		}
		return cc_fail(err, ENOENT, "no pod %s/%s in %s", sp, sc, ctx->log_containers);
	}

	const char *ids[K8S_MAX_IDS + 1];
	for (size_t i = 0; i < w.n; i++)
		ids[i] = found[i].id;
	ids[w.n] = NULL;
	struct cc_query q = { .full_id_only = true, .ids = ids };
	size_t before = *nv;
	r = cc_cgroup_find(ctx, &q, v, nv, err);
	if (r < 0)
		return r;
	for (size_t i = before; i < *nv; i++) {
		for (size_t j = 0; j < w.n; j++)
			if (strcmp((*v)[i].c.id, found[j].id) == 0)
				snprintf((*v)[i].c.name, sizeof((*v)[i].c.name), "%s/%s/%s", found[j].ns, found[j].pod,
					 found[j].ctr);
		(*v)[i].match = CC_MATCH_EXACT;
	}
	if (*nv == before && explicit)
		return cc_fail(err, ENOENT, "pod %s/%s: none of its %zu container(s) is running here", sp, sc,
			       w.n);
	return 0;
}

/* For the listing: name the containers that have a log link. */
struct namer {
	struct cc_container *c;
	size_t n;
};

static int name_one(const struct k8s_entry *e, void *data)
{
	struct namer *nm = data;
	for (size_t i = 0; i < nm->n; i++)
		if (!nm->c[i].name[0] && strcmp(nm->c[i].id, e->id) == 0)
			snprintf(nm->c[i].name, sizeof(nm->c[i].name), "%s/%s/%s", e->ns, e->pod, e->ctr);
	return 0;
}

void cc_k8s_name(const struct cc_resolve_ctx *ctx, struct cc_container *c, size_t n)
{
	struct namer nm = { c, n };
	(void)k8s_scan(ctx, name_one, &nm);
}
