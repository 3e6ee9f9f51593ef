/* Docker names through the Docker Engine API, unprivileged.
 *
 * The cgroup tree names a Docker container by its id only; its name lives
 * in the daemon. When the user can reach the daemon's socket (member of the
 * docker group, or $DOCKER_HOST names a socket they own), the resolver asks
 * GET /containers/NAME/json over that unix socket (libcurl) and takes the
 * full id from the reply. The PID is then found the same way as for an id,
 * through the cgroup walker; the reply's State.Pid is only a fall-back, and
 * only when that process's cgroup names the id.
 *
 * The reply is hostile: $DOCKER_HOST may name any socket, including one the
 * user serves themselves. It is size-capped before parsing, depth-capped in
 * the tokenizer, type-checked field by field, and it can at most name a
 * container the user could have named by id; the broker verifies the claim
 * on its own and authorises on what it verified. */
#include "resolve.h"

#include <ctype.h>
#include <stdarg.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#define API_TIMEOUT_MS 5000L
#define API_CONNECT_TIMEOUT_MS 2000L
#define CGROUP_FILE_MAX (64 * 1024)

bool cc_runtime_name_ok(const char *s)
{
	if (*s == '/')
		s++;
	if (!isalnum((unsigned char)*s))
		return false;
	size_t n = 0;
	for (; *s; s++, n++) {
		if (n >= 253)
			return false;
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
			return false;
	}
	return true;
}

static json_object *get(json_object *o, const char *key, json_type t)
{
	json_object *v = NULL;
	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, t))
		return NULL;
	return v;
}

int cc_inspect_parse(const char *buf, size_t len, bool array, struct cc_inspect *out, cc_error *err)
{
	json_tokener *tok;
	json_object *root, *doc, *v, *state;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (len > CC_INSPECT_MAX_BYTES)
		return cc_fail(err, EFBIG, "reply of %zu bytes is larger than %d", len, CC_INSPECT_MAX_BYTES);
	if (len == 0)
		return cc_fail(err, EINVAL, "empty reply");
	if (memchr(buf, '\0', len))
		return cc_fail(err, EINVAL, "reply holds a NUL byte");
	tok = json_tokener_new_ex(CC_INSPECT_MAX_DEPTH);
	if (!tok)
		return cc_fail(err, ENOMEM, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error je = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!root || je != json_tokener_success) {
		json_object_put(root);
		return cc_fail(err, EINVAL, "reply is not JSON (%s)",
			       je == json_tokener_continue ? "truncated" : json_tokener_error_desc(je));
	}
	for (size_t i = used; i < len; i++)
		if (!isspace((unsigned char)buf[i])) {
			r = cc_fail(err, EINVAL, "reply has data after the JSON document");
			goto out;
		}
	doc = root;
	if (array) {
		if (!json_object_is_type(root, json_type_array) || json_object_array_length(root) != 1) {
			r = cc_fail(err, EINVAL, "reply is not an array of one container");
			goto out;
		}
		doc = json_object_array_get_idx(root, 0);
	}
	if (!json_object_is_type(doc, json_type_object)) {
		r = cc_fail(err, EINVAL, "reply is not a JSON object");
		goto out;
	}
	v = get(doc, "Id", json_type_string);
	if (!v || !cc_is_hex64(json_object_get_string(v), (size_t)json_object_get_string_len(v))) {
		r = cc_fail(err, EINVAL, "reply has no Id of 64 hex digits");
		goto out;
	}
	snprintf(out->id, sizeof(out->id), "%s", json_object_get_string(v));
	v = NULL;
	if (json_object_object_get_ex(doc, "Name", &v) && !json_object_is_type(v, json_type_string)) {
		r = cc_fail(err, EINVAL, "reply has a Name that is not a string");
		goto out;
	}
	if (v) {
		const char *n = json_object_get_string(v);
		if (*n == '/')
			n++;
		if (json_object_get_string_len(v) >= (int)sizeof(out->name) ||
		    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v) || !cc_runtime_name_ok(n)) {
			r = cc_fail(err, EINVAL, "reply has a Name that no runtime would give");
			goto out;
		}
		snprintf(out->name, sizeof(out->name), "%s", n);
	}
	state = get(doc, "State", json_type_object);
	if (!state) {
		r = cc_fail(err, EINVAL, "reply has no State object");
		goto out;
	}
	v = get(state, "Running", json_type_boolean);
	if (!v) {
		r = cc_fail(err, EINVAL, "reply has no State.Running boolean");
		goto out;
	}
	out->running = json_object_get_boolean(v);
	v = get(state, "Pid", json_type_int);
	if (!v) {
		r = cc_fail(err, EINVAL, "reply has no integer State.Pid");
		goto out;
	}
	errno = 0;
	int64_t pid = json_object_get_int64(v);
	if (errno != 0 || pid < 0 || pid > 0x3fffffff) {
		r = cc_fail(err, ERANGE, "reply has State.Pid out of range");
		goto out;
	}
	out->pid = (uint32_t)pid;
	if (out->running && out->pid == 0) {
		r = cc_fail(err, EINVAL, "reply says running with State.Pid 0");
		goto out;
	}
out:
	json_object_put(root);
	if (r < 0)
		memset(out, 0, sizeof(*out));
	return r;
}

const char *const cc_docker_sockets[] = { "/run/docker.sock", "/var/run/docker.sock", NULL };

int cc_api_socket(const char *explicit_path, const char *env, const char *const *defaults, char *path, size_t max,
		  cc_error *err)
{
	const size_t sun_max = sizeof(((struct sockaddr_un *)0)->sun_path);
	const char *e;

	path[0] = '\0';
	if (explicit_path && *explicit_path) {
		if (strlen(explicit_path) >= sun_max || strlen(explicit_path) >= max)
			return cc_fail(err, ENAMETOOLONG, "socket path %s is too long", explicit_path);
		snprintf(path, max, "%s", explicit_path);
		return 0;
	}
	e = env ? getenv(env) : NULL;
	if (e && *e) {
		char shown[128];
		snprintf(shown, sizeof(shown), "%s", e); /* bounded; escaped where printed */
		if (strncmp(e, "unix://", 7) != 0 || e[7] != '/')
			return cc_fail(err, EPROTONOSUPPORT, "%s=%s is not a unix socket (unix:///path)", env, shown);
		if (strlen(e + 7) >= sun_max || strlen(e + 7) >= max)
			return cc_fail(err, ENAMETOOLONG, "%s=%s: socket path too long", env, shown);
		snprintf(path, max, "%s", e + 7);
		return 0;
	}
	for (; defaults && *defaults; defaults++) {
		struct stat st;
		if (stat(*defaults, &st) == 0 && S_ISSOCK(st.st_mode)) {
			snprintf(path, max, "%s", *defaults);
			return 0;
		}
	}
	return 0;
}

struct body {
	char *buf;
	size_t len, cap;
	bool too_big;
};

static size_t on_data(char *p, size_t size, size_t n, void *data)
{
	struct body *b = data;
	size_t add = size * n;

	if (add > CC_INSPECT_MAX_BYTES || b->len + add > CC_INSPECT_MAX_BYTES) {
		b->too_big = true;
		return 0; /* aborts the transfer */
	}
	if (b->len + add + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		while (cap < b->len + add + 1)
			cap *= 2;
		char *nb = realloc(b->buf, cap);
		if (!nb)
			return 0;
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, p, add);
	b->len += add;
	b->buf[b->len] = '\0';
	return add;
}

/* libcurl and its ~30 libraries cost every crashcart run 4 ms of loading,
 * for the rare spec that is a Docker or podman name: load it only then. */
static struct {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
} lc;

static int load_libcurl(cc_error *err)
{
	static void *dl;
	if (dl)
		return 0;
	dl = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!dl)
		return cc_fail(err, ENOENT, "cannot load libcurl (needed for container names from a runtime API): %s",
			       dlerror());
#define SYM(field, name) *(void **)&lc.field = dlsym(dl, name)
	SYM(global_init, "curl_global_init");
	SYM(easy_init, "curl_easy_init");
	SYM(easy_setopt, "curl_easy_setopt");
	SYM(easy_perform, "curl_easy_perform");
	SYM(easy_getinfo, "curl_easy_getinfo");
	SYM(easy_cleanup, "curl_easy_cleanup");
	SYM(easy_strerror, "curl_easy_strerror");
#undef SYM
	if (!lc.global_init || !lc.easy_init || !lc.easy_setopt || !lc.easy_perform || !lc.easy_getinfo ||
	    !lc.easy_cleanup || !lc.easy_strerror) {
		dlclose(dl);
		dl = NULL;
		return cc_fail(err, ENOENT, "libcurl lacks a function crashcart needs");
	}
	return 0;
}


int cc_api_get(const char *socket_path, const char *url_path, char **body, size_t *len, long *status, cc_error *err)
{
	static bool inited;
	struct body b = { 0 };
	char url[512];
	CURL *h;
	CURLcode c;

	*body = NULL;
	*len = 0;
	*status = 0;
	if (access(socket_path, R_OK | W_OK) < 0)
		return cc_failx(err, errno, "cannot use %s", socket_path);
	if (snprintf(url, sizeof(url), "http://localhost%s", url_path) >= (int)sizeof(url))
		return cc_fail(err, ENAMETOOLONG, "request path too long");
	if (load_libcurl(err) < 0)
		return -err->code;
	if (!inited) {
		/* nothing but what a plain HTTP request over a unix socket needs */
		if (lc.global_init(CURL_GLOBAL_NOTHING) != CURLE_OK)
			return cc_fail(err, ENOMEM, "cannot initialise libcurl");
		inited = true;
	}
	h = lc.easy_init();
	if (!h)
		return cc_fail(err, ENOMEM, "cannot initialise libcurl");
	(void)lc.easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, socket_path);
	(void)lc.easy_setopt(h, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	(void)lc.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
#else
	(void)lc.easy_setopt(h, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP);
#endif
	(void)lc.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	(void)lc.easy_setopt(h, CURLOPT_PROXY, "");      /* no proxy from the environment */
	(void)lc.easy_setopt(h, CURLOPT_NOPROXY, "*");
	(void)lc.easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	(void)lc.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	(void)lc.easy_setopt(h, CURLOPT_TIMEOUT_MS, API_TIMEOUT_MS);
	(void)lc.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, API_CONNECT_TIMEOUT_MS);
	(void)lc.easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CC_INSPECT_MAX_BYTES);
	(void)lc.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	(void)lc.easy_setopt(h, CURLOPT_WRITEDATA, &b);
	(void)lc.easy_setopt(h, CURLOPT_USERAGENT, "crashcart/" "resolver");
	c = lc.easy_perform(h);
	(void)lc.easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	lc.easy_cleanup(h);
	if (b.too_big || c == CURLE_FILESIZE_EXCEEDED) {
		free(b.buf);
		return cc_fail(err, EFBIG, "reply from %s is larger than %d bytes", socket_path, CC_INSPECT_MAX_BYTES);
	}
	if (c != CURLE_OK) {
		free(b.buf);
		return cc_fail(err, c == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : ECONNREFUSED, "%s: %s", socket_path,
			       lc.easy_strerror(c));
	}
	if (!b.buf) {
		b.buf = strdup("");
		if (!b.buf)
			return cc_fail(err, ENOMEM, "out of memory");
	}
	*body = b.buf;
	*len = b.len;
	return 0;
}

/* The process's cgroup file names the id (any hierarchy). */
static int cgroup_names(int procfd, uint32_t pid, const char *id)
{
	char path[32];
	_cleanup_free_ char *buf = malloc(CGROUP_FILE_MAX);
	int r;

	if (!buf)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%u/cgroup", pid);
	r = cc_read_file_at(procfd, path, buf, CGROUP_FILE_MAX);
	if (r < 0)
		return r;
	return strstr(buf, id) != NULL;
}


static int push(struct cc_found **v, size_t *nv, const struct cc_container *c, cc_error *err)
{
	for (size_t i = 0; i < *nv; i++)
		if ((*v)[i].match == CC_MATCH_EXACT && strcmp((*v)[i].c.runtime, c->runtime) == 0 &&
		    strcmp((*v)[i].c.id, c->id) == 0 && (*v)[i].c.pid == c->pid) {
			if (!(*v)[i].c.name[0])
				snprintf((*v)[i].c.name, sizeof((*v)[i].c.name), "%s", c->name);
			return 0;
		}
	struct cc_found *n = realloc(*v, (*nv + 1) * sizeof(**v));
	if (!n)
		return cc_fail(err, ENOMEM, "out of memory");
	*v = n;
	memset(&n[*nv], 0, sizeof(n[*nv]));
	n[*nv].c = *c;
	n[*nv].match = CC_MATCH_EXACT;
	n[*nv].hier = -1;
	(*nv)++;
	return 0;
}

int cc_inspect_add(const struct cc_resolve_ctx *ctx, const char *runtime, unsigned rt, const struct cc_inspect *in,
		   struct cc_found **v, size_t *nv, char *why, size_t whymax, cc_error *err)
{
	_cleanup_free_ struct cc_found *f = NULL;
	size_t nf = 0, added = 0;
	struct cc_query q = { .spec = in->id, .runtimes = 0 };
	char sname[128];
	int r;

	snprintf(sname, sizeof(sname), "%s", in->name); /* bounded; escaped where printed */
	if (!in->running || in->pid == 0) {
		cc_set_why(why, whymax, "%s container %s (%.12s) is not running", runtime, sname, in->id);
		return 0;
	}
	r = cc_cgroup_find(ctx, &q, &f, &nf, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < nf; i++) {
		struct cc_container c = f[i].c;
		if (f[i].match != CC_MATCH_EXACT || strcmp(c.id, in->id) != 0)
			continue;
		if (!(cc_runtime_bit(c.runtime) & rt)) {
			/* the id of another runtime's container: not this runtime's to name */
			cc_set_why(why, whymax, "%s names %s %.12s, which is a %s container", runtime, sname, in->id,
				   c.runtime);
			return 0;
		}
		snprintf(c.name, sizeof(c.name), "%s", in->name);
		if (c.pid != in->pid && !c.note[0])
			snprintf(c.note, sizeof(c.note), "%s says PID %u; the cgroup walker chose PID %u", runtime,
				 in->pid, c.pid);
		r = push(v, nv, &c, err);
		if (r < 0)
			return r;
		added++;
	}
	if (added)
		return 0;

	/* Not in a cgroup the walker recognises (another cgroup driver or
	 * layout): State.Pid, if that process's cgroup names the id. */
	_cleanup_close_ int procfd = open(ctx->proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char path[32], stat[2048];
	struct cc_container c;

	if (procfd < 0)
		return cc_failx(err, errno, "cannot open %s", ctx->proc_root);
	r = cgroup_names(procfd, in->pid, in->id);
	if (r <= 0) {
		cc_set_why(why, whymax, "%s names %s PID %u, but %s", runtime, sname, in->pid,
			r == 0 ? "that process's cgroup does not name the container" : "that process is gone");
		return 0;
	}
	memset(&c, 0, sizeof(c));
	snprintf(path, sizeof(path), "%u/stat", in->pid);
	if (cc_read_file_at(procfd, path, stat, sizeof(stat)) < 0 || cc_parse_stat_start_time(stat, &c.start_time) < 0) {
		cc_set_why(why, whymax, "%s names %s PID %u, which is gone", runtime, sname, in->pid);
		return 0;
	}
	snprintf(c.runtime, sizeof(c.runtime), "%s", runtime);
	snprintf(c.id, sizeof(c.id), "%s", in->id);
	snprintf(c.name, sizeof(c.name), "%s", in->name);
	c.pid = in->pid;
	c.mounted = CC_MOUNTED_UNKNOWN;
	snprintf(c.note, sizeof(c.note), "PID %u from %s's metadata (its cgroup names the id; the walker does not know the layout)",
		 in->pid, runtime);
	return push(v, nv, &c, err);
}

int cc_api_inspect_name(const char *label, const char *sock, const char *name, struct cc_inspect *in, bool *answered,
			char *why, size_t whymax)
{
	_cleanup_free_ char *body = NULL;
	char url[300];
	cc_error e = { 0 };
	size_t len;
	long status;

	if (answered)
		*answered = false;
	snprintf(url, sizeof(url), "/containers/%s/json", name + (*name == '/'));
	if (cc_api_get(sock, url, &body, &len, &status, &e) < 0) {
		cc_set_why(why, whymax, "%s API: %s", label, e.msg);
		return 0;
	}
	if (answered)
		*answered = true;
	if (status == 404) {
		cc_set_why(why, whymax, "%s API at %s: no such container", label, sock);
		return 0;
	}
	if (status != 200) {
		cc_set_why(why, whymax, "%s API at %s: HTTP status %ld", label, sock, status);
		return 0;
	}
	if (cc_inspect_parse(body, len, false, in, &e) < 0) {
		cc_set_why(why, whymax, "%s API at %s: %s", label, sock, e.msg);
		return 0;
	}
	/* The daemon also resolves id prefixes; prefixes are the walker's job,
	 * so only a reply for this very name or full id counts. */
	if (strcmp(in->name, name + (*name == '/')) != 0 && strcmp(in->id, name) != 0) {
		cc_set_why(why, whymax, "%s API at %s: '%s' is not a container's name", label, sock, name);
		return 0;
	}
	return 1;
}

int cc_docker_find(const struct cc_resolve_ctx *ctx, const char *name, struct cc_found **v, size_t *nv,
		   char *why, size_t whymax, cc_error *err)
{
	char sock[256];
	struct cc_inspect in;
	cc_error e = { 0 };
	int r;

	if (!ctx->docker_host)
		return 0;
	if (!cc_runtime_name_ok(name)) {
		cc_set_why(why, whymax, "not a name Docker gives");
		return 0;
	}
	r = cc_api_socket(ctx->docker_host, "DOCKER_HOST", cc_docker_sockets, sock, sizeof(sock), &e);
	if (r < 0 || !sock[0]) {
		cc_set_why(why, whymax, "Docker API: %s",
			   r < 0 ? e.msg : "no socket (DOCKER_HOST unset, no /run/docker.sock)");
		return 0;
	}
	if (cc_api_inspect_name("Docker", sock, name, &in, NULL, why, whymax) <= 0)
		return 0;
	return cc_inspect_add(ctx, "docker", CC_RT_DOCKER, &in, v, nv, why, whymax, err);
}


/* GET /containers/json: the running containers with their ids and names
 * (Names: ["/web"]), parsed as hostilely as an inspect reply. */
static int list_names(const char *sock, struct cc_container *c, size_t n)
{
	_cleanup_free_ char *body = NULL;
	cc_error e = { 0 };
	size_t len, named = 0;
	long status;

	if (cc_api_get(sock, "/containers/json", &body, &len, &status, &e) < 0 || status != 200)
		return 0;
	json_tokener *tok = json_tokener_new_ex(CC_INSPECT_MAX_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	json_object *root = json_tokener_parse_ex(tok, body, (int)len);
	bool ok = root && json_tokener_get_error(tok) == json_tokener_success &&
		  json_object_is_type(root, json_type_array);
	json_tokener_free(tok);
	for (size_t k = 0; ok && k < json_object_array_length(root); k++) {
		json_object *o = json_object_array_get_idx(root, k);
		json_object *id = get(o, "Id", json_type_string), *names = get(o, "Names", json_type_array);
		if (!id || !names || json_object_array_length(names) < 1 ||
		    !cc_is_hex64(json_object_get_string(id), (size_t)json_object_get_string_len(id)))
			continue;
		json_object *nm = json_object_array_get_idx(names, 0);
		if (!json_object_is_type(nm, json_type_string))
			continue;
		const char *name = json_object_get_string(nm);
		if (strlen(name) != (size_t)json_object_get_string_len(nm) || !cc_runtime_name_ok(name))
			continue;
		name += *name == '/';
		for (size_t i = 0; i < n; i++)
			if (strcmp(c[i].runtime, "docker") == 0 && !c[i].name[0] &&
			    strcmp(c[i].id, json_object_get_string(id)) == 0 && strlen(name) < sizeof(c[i].name)) {
				snprintf(c[i].name, sizeof(c[i].name), "%s", name);
				named++;
			}
	}
	json_object_put(root);
	return (int)named;
}

int cc_docker_names(const struct cc_resolve_ctx *ctx, struct cc_container *c, size_t n)
{
	char sock[256];
	cc_error e = { 0 };
	bool any = false;

	if (!ctx->docker_host)
		return 0;
	for (size_t i = 0; i < n && !any; i++)
		any = strcmp(c[i].runtime, "docker") == 0 && !c[i].name[0];
	if (!any || cc_api_socket(ctx->docker_host, "DOCKER_HOST", cc_docker_sockets, sock, sizeof(sock), &e) < 0 ||
	    !sock[0])
		return 0;
	return list_names(sock, c, n);
}
