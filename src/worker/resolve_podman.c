/* podman names, unprivileged.
 *
 * podman's cgroups carry the id only (libpod-<id>); the name is in its
 * storage, which only its owner can read. Two ways in, tried in order:
 *  1. podman's API socket, when the user can reach it: $CONTAINER_HOST
 *     (unix://), /run/podman/podman.sock (rootful `podman system service`)
 *     or $XDG_RUNTIME_DIR/podman/podman.sock (the user's own service). Its
 *     Docker-compatible GET /containers/NAME/json is asked and parsed like
 *     Docker's (resolve_docker.c).
 *  2. `podman container inspect -- NAME` run as the user: the user's own
 *     (rootless) storage, or the rootful one when the user is root. Fixed
 *     argv, no shell, stdin /dev/null, output bounded, a time limit, only
 *     when that storage exists or $CONTAINERS_STORAGE_CONF names one (so
 *     that a bare name does not cost a podman start-up on hosts without
 *     podman).
 *  3. conmon's command line, which needs nothing at all: podman starts one
 *     conmon per container, the container's init is its child (conmon is
 *     its subreaper), and its argv carries `-c <id>` and `-n <name>`;
 *     /proc/PID/cmdline is world-readable. This is how a non-root operator
 *     names rootful podman containers, whose storage and /run/libpod are
 *     root's only (0700) and whose API socket is root's unless the site
 *     shares it. Only a conmon owned by root or by the user counts, only
 *     when it is the parent of the container's init and its -c is the id
 *     of the container's cgroup: another user's conmon cannot name root's
 *     containers (and two containers of one name end in ambiguity).
 * Either way the PID comes from the cgroup walker for the id the runtime
 * returned (State.Pid only as a checked fall-back; cc_inspect_add). */
#include "resolve.h"
#include "spawner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define PODMAN_TIMEOUT_MS 10000
#define PODMAN_STDERR_MAX 512
#define CMDLINE_MAX (64 * 1024)

extern char **environ;


static bool is_dir(const char *p)
{
	struct stat st;
	return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Does the storage podman would open for this user exist? */
static bool podman_storage_exists(void)
{
	char p[4096];
	const char *e;

	/* storage the user configured explicitly */
	if ((e = getenv("CONTAINERS_STORAGE_CONF")) && *e == '/' && access(e, R_OK) == 0)
		return true;
	if (geteuid() == 0)
		return is_dir("/run/containers/storage") || is_dir("/var/lib/containers/storage");
	if ((e = getenv("XDG_RUNTIME_DIR")) && *e == '/' && snprintf(p, sizeof(p), "%s/containers", e) < (int)sizeof(p) &&
	    is_dir(p))
		return true;
	if ((e = getenv("XDG_DATA_HOME")) && *e == '/' &&
	    snprintf(p, sizeof(p), "%s/containers/storage", e) < (int)sizeof(p) && is_dir(p))
		return true;
	if ((e = getenv("HOME")) && *e == '/' &&
	    snprintf(p, sizeof(p), "%s/.local/share/containers/storage", e) < (int)sizeof(p) && is_dir(p))
		return true;
	return false;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Run argv[0] with argv; stdout (at most max bytes) into *out. Returns the
 * exit status (>= 0), or negative errno (err set) on failure, timeout or
 * output beyond max. errbuf gets the start of stderr. */
int cc_run_bounded(const char *bin, char *const argv[], char **out, size_t *outlen, size_t max, char *errbuf,
		   size_t errmax, cc_error *err)
{
	int opipe[2] = { -1, -1 }, epipe[2] = { -1, -1 };
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, elen = 0;
	int r = 0, status;
	pid_t pid;

	*out = NULL;
	*outlen = 0;
	if (errmax)
		errbuf[0] = '\0';
	buf = malloc(max + 1);
	if (!buf)
		return cc_fail(err, ENOMEM, "out of memory");
	if (pipe2(opipe, O_CLOEXEC) < 0 || pipe2(epipe, O_CLOEXEC) < 0) {
		r = cc_failx(err, errno, "pipe");
		goto close_all;
	}
	pid = fork();
	if (pid < 0) {
		r = cc_failx(err, errno, "fork");
		goto close_all;
	}
	if (pid == 0) {
		sigset_t all;
		int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		sigemptyset(&all);
		(void)sigprocmask(SIG_SETMASK, &all, NULL);
		for (int s = 1; s < NSIG; s++)
			(void)signal(s, SIG_DFL);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(opipe[1], 1) < 0 || dup2(epipe[1], 2) < 0)
			_exit(127);
		(void)close_range(3, ~0U, 0);
		execve(bin, argv, environ);
		_exit(127);
	}
	(void)close(opipe[1]);
	(void)close(epipe[1]);
	opipe[1] = epipe[1] = -1;

	long deadline = now_ms() + PODMAN_TIMEOUT_MS;
	bool oopen = true, eopen = true, killed = false;
	while (oopen || eopen) {
		struct pollfd p[2] = { { .fd = oopen ? opipe[0] : -1, .events = POLLIN },
				       { .fd = eopen ? epipe[0] : -1, .events = POLLIN } };
		long left = deadline - now_ms();
		if (left <= 0) {
			r = cc_fail(err, ETIMEDOUT, "%s took longer than %d ms", bin, PODMAN_TIMEOUT_MS);
			killed = true;
			break;
		}
		int n = poll(p, 2, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = cc_failx(err, errno, "poll");
			killed = true;
			break;
		}
		if (oopen && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t k = read(opipe[0], buf + len, max + 1 - len);
			if (k < 0 && errno != EINTR && errno != EAGAIN)
				oopen = false;
			else if (k == 0)
				oopen = false;
			else if (k > 0 && (len += (size_t)k) > max) {
				r = cc_fail(err, EFBIG, "%s printed more than %zu bytes", bin, max);
				killed = true;
				break;
			}
		}
		if (eopen && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			char tmp[512];
			ssize_t k = read(epipe[0], tmp, sizeof(tmp));
			if (k < 0 && errno != EINTR && errno != EAGAIN)
				eopen = false;
			else if (k == 0)
				eopen = false;
			else if (k > 0 && elen + 1 < errmax) {
				size_t c = (size_t)k < errmax - 1 - elen ? (size_t)k : errmax - 1 - elen;
				memcpy(errbuf + elen, tmp, c);
				elen += c;
				errbuf[elen] = '\0';
			}
		}
	}
	if (killed)
		(void)kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			if (r == 0)
				r = cc_failx(err, errno, "waitpid");
			goto close_all;
		}
	}
	if (r == 0) {
		buf[len] = '\0';
		*out = TAKE_PTR(buf);
		*outlen = len;
		r = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
close_all:
	for (int i = 0; i < 2; i++) {
		if (opipe[i] >= 0)
			(void)close(opipe[i]);
		if (epipe[i] >= 0)
			(void)close(epipe[i]);
	}
	return r;
}

static int via_api(const struct cc_resolve_ctx *ctx, const char *name, struct cc_found **v, size_t *nv, char *why,
		   size_t whymax, bool *done, cc_error *err)
{
	char user_sock[4096] = "", sock[256];
	const char *defaults[3] = { "/run/podman/podman.sock", NULL, NULL };
	const char *x = getenv("XDG_RUNTIME_DIR");
	struct cc_inspect in;
	cc_error e = { 0 };
	int r;

	*done = false;
	if (geteuid() != 0 && x && *x == '/' &&
	    snprintf(user_sock, sizeof(user_sock), "%s/podman/podman.sock", x) < (int)sizeof(user_sock)) {
		defaults[0] = user_sock; /* a user's own service before the rootful one */
		defaults[1] = "/run/podman/podman.sock";
	}
	r = cc_api_socket(ctx->podman_host, "CONTAINER_HOST", defaults, sock, sizeof(sock), &e);
	if (r < 0 || !sock[0]) {
		if (r < 0)
			cc_set_why(why, whymax, "podman API: %s", e.msg);
		return 0;
	}
	/* once the service answers, its storage is the one asked */
	if (cc_api_inspect_name("podman", sock, name, &in, done, why, whymax) <= 0)
		return 0;
	return cc_inspect_add(ctx, "podman", CC_RT_PODMAN, &in, v, nv, why, whymax, err);
}

int cc_conmon_name(int procfd, uint32_t pid, const char *id, char *name, size_t max)
{
	char path[48], stat[2048];
	_cleanup_free_ char *cmd = malloc(CMDLINE_MAX);
	uint32_t ppid;
	struct stat st;
	ssize_t len;

	if (!cmd)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%u/stat", pid);
	if (cc_read_file_at(procfd, path, stat, sizeof(stat)) < 0 || cc_parse_stat_ppid(stat, &ppid) < 0 || ppid <= 1)
		return 0;
	snprintf(path, sizeof(path), "%u", ppid);
	/* root's conmon (rootful podman) or the user's own (rootless) */
	if (fstatat(procfd, path, &st, 0) < 0 || (st.st_uid != 0 && st.st_uid != geteuid()))
		return 0;
	snprintf(path, sizeof(path), "%u/cmdline", ppid);
	_cleanup_close_ int fd = openat(procfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return 0;
	len = 0;
	for (ssize_t k; len < CMDLINE_MAX - 1; len += k) {
		k = read(fd, cmd + len, (size_t)(CMDLINE_MAX - 1 - len));
		if (k < 0 && errno == EINTR)
			k = 0;
		else if (k <= 0)
			break;
	}
	if (len <= 0)
		return 0;
	cmd[len] = '\0';
	const char *argv0 = strrchr(cmd, '/') ? strrchr(cmd, '/') + 1 : cmd;
	if (strcmp(argv0, "conmon") != 0)
		return 0;
	const char *cid = NULL, *cname = NULL;
	for (const char *a = cmd + strlen(cmd) + 1; a < cmd + len; a += strlen(a) + 1) {
		const char *next = a + strlen(a) + 1;
		const char *val = next < cmd + len ? next : NULL;
		if ((strcmp(a, "-c") == 0 || strcmp(a, "--cid") == 0) && val)
			cid = val;
		else if ((strcmp(a, "-n") == 0 || strcmp(a, "--name") == 0) && val)
			cname = val;
		else if (strncmp(a, "--cid=", 6) == 0)
			cid = a + 6;
		else if (strncmp(a, "--name=", 7) == 0)
			cname = a + 7;
	}
	if (!cid || !cname || strcmp(cid, id) != 0 || !cc_runtime_name_ok(cname) || strlen(cname) >= max)
		return 0;
	snprintf(name, max, "%s", cname);
	return 1;
}

/* Every podman container the walker sees whose conmon names it `name`;
 * *seen: how many podman containers it saw. */
static int via_conmon(const struct cc_resolve_ctx *ctx, const char *name, struct cc_found **v, size_t *nv,
		      size_t *seen, cc_error *err)
{
	_cleanup_free_ struct cc_found *f = NULL;
	struct cc_query q = { .spec = NULL, .runtimes = CC_RT_PODMAN };
	size_t nf = 0;
	int r;

	*seen = 0;
	r = cc_cgroup_find(ctx, &q, &f, &nf, err);
	if (r < 0)
		return r;
	_cleanup_close_ int procfd = open(ctx->proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return cc_failx(err, errno, "cannot open %s", ctx->proc_root);
	for (size_t i = 0; i < nf; i++) {
		char cname[256];
		if (strcmp(f[i].c.runtime, "podman") != 0)
			continue;
		(*seen)++;
		if (cc_conmon_name(procfd, f[i].c.pid, f[i].c.id, cname, sizeof(cname)) <= 0 ||
		    strcmp(cname, name + (*name == '/')) != 0)
			continue;
		struct cc_found *n = realloc(*v, (*nv + 1) * sizeof(**v));
		if (!n)
			return cc_fail(err, ENOMEM, "out of memory");
		*v = n;
		n[*nv] = f[i];
		n[*nv].match = CC_MATCH_EXACT;
		snprintf(n[*nv].c.name, sizeof(n[*nv].c.name), "%s", cname);
		if (!n[*nv].c.note[0])
			snprintf(n[*nv].c.note, sizeof(n[*nv].c.note), "name from conmon's command line");
		(*nv)++;
	}
	return 0;
}

int cc_podman_find(const struct cc_resolve_ctx *ctx, const char *name, struct cc_found **v, size_t *nv,
		   char *why, size_t whymax, cc_error *err)
{
	char apiwhy[256] = "", errbuf[PODMAN_STDERR_MAX];
	_cleanup_free_ char *out = NULL;
	struct cc_inspect in;
	cc_error e = { 0 };
	size_t len;
	bool done;
	int r;

	if (!ctx->podman_host && !ctx->podman_bin)
		return 0;
	if (!cc_runtime_name_ok(name)) {
		cc_set_why(why, whymax, "not a name podman gives");
		return 0;
	}
	if (ctx->podman_host) {
		size_t before = *nv;
		r = via_api(ctx, name, v, nv, apiwhy, sizeof(apiwhy), &done, err);
		if (r < 0 || *nv > before) {
			cc_set_why(why, whymax, "%s", apiwhy);
			return r;
		}
	}
	if (!apiwhy[0])
		snprintf(apiwhy, sizeof(apiwhy), "podman: no API socket (CONTAINER_HOST unset, no %s)",
			 "/run/podman/podman.sock");
	/* conmon's command line: no socket, no storage, no privilege */
	size_t before = *nv, seen = 0;
	r = via_conmon(ctx, name, v, nv, &seen, err);
	if (r < 0 || *nv > before)
		return r;
	char conwhy[160];
	if (seen == 0)
		snprintf(conwhy, sizeof(conwhy), "conmon: no podman container runs here");
	else
		snprintf(conwhy, sizeof(conwhy), "conmon: none of the %zu running podman container%s has this name", seen,
			 seen == 1 ? "" : "s");
	if (done) { /* the service answered for its storage */
		cc_set_why(why, whymax, "%s; %s", apiwhy, conwhy);
		return 0;
	}
	if (!ctx->podman_bin || !*ctx->podman_bin || access(ctx->podman_bin, X_OK) < 0) {
		cc_set_why(why, whymax, "%s; %s; no podman binary", apiwhy, conwhy);
		return 0;
	}
	if (!podman_storage_exists()) {
		cc_set_why(why, whymax, "%s; %s; no podman storage of %s", apiwhy, conwhy,
			   geteuid() == 0 ? "root" : "this user");
		return 0;
	}
	char *const argv[] = { "podman", "container", "inspect", "--", (char *)(name + (*name == '/')), NULL };
	/* Through the spawner: the CLI must not run under the worker's filter. */
	r = cc_spawn_bounded(ctx->podman_bin, argv, &out, &len, CC_INSPECT_MAX_BYTES, errbuf, sizeof(errbuf), &e);
	if (r < 0) {
		cc_set_why(why, whymax, "%s; %s; podman CLI: %s", apiwhy, conwhy, e.msg);
		return 0;
	}
	if (r != 0) {
		char *nl = strchr(errbuf, '\n'), shown[200];
		if (nl)
			*nl = '\0';
		snprintf(shown, sizeof(shown), "%s", errbuf); /* bounded; escaped where printed */
		cc_set_why(why, whymax, "%s; %s; podman container inspect: exit %d%s%s", apiwhy, conwhy, r,
			   shown[0] ? ": " : "", shown);
		return 0;
	}
	if (cc_inspect_parse(out, len, true, &in, &e) < 0) {
		cc_set_why(why, whymax, "%s; %s; podman container inspect: %s", apiwhy, conwhy, e.msg);
		return 0;
	}
	if (strcmp(in.name, name + (*name == '/')) != 0 && strcmp(in.id, name) != 0) {
		cc_set_why(why, whymax, "%s; %s; podman CLI: '%s' is not a container's name", apiwhy, conwhy, name);
		return 0;
	}
	return cc_inspect_add(ctx, "podman", CC_RT_PODMAN, &in, v, nv, why, whymax, err);
}
