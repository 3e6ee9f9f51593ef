/* Names from the runtimes' own metadata (resolve_docker.c, resolve_podman.c)
 * without a daemon: the inspect parser against well-formed, hostile, huge
 * and malformed replies; the socket choice from $DOCKER_HOST; and the whole
 * path (HTTP over a unix socket, then the cgroup walker for the returned
 * id) against a fake Engine API served by a forked child, with a fixture
 * /proc and /sys/fs/cgroup like test_resolve's. */
#include <check.h>
#include <grp.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "resolve.h"

#define ID_WEB "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID_DB "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define ID_GHOST "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const char good[] = "{\"Id\":\"" ID_WEB "\",\"Name\":\"/web\",\"State\":{\"Status\":\"running\","
			   "\"Running\":true,\"Pid\":4242},\"Config\":{\"Env\":[\"A=1\"]}}";

static int parse(const char *s, bool array, struct cc_inspect *in)
{
	cc_error e = { 0 };
	return cc_inspect_parse(s, strlen(s), array, in, &e);
}

/* ------------------------------------------------------------ parser */

START_TEST(parse_docker_reply)
{
	struct cc_inspect in;
	ck_assert_int_eq(parse(good, false, &in), 0);
	ck_assert_str_eq(in.id, ID_WEB);
	ck_assert_str_eq(in.name, "web");
	ck_assert_uint_eq(in.pid, 4242);
	ck_assert(in.running);
	/* white space after the document is fine */
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s\n\n  ", good);
	ck_assert_int_eq(parse(buf, false, &in), 0);
	/* stopped: Pid 0, not running */
	ck_assert_int_eq(parse("{\"Id\":\"" ID_WEB "\",\"Name\":\"/web\",\"State\":{\"Running\":false,\"Pid\":0}}",
			       false, &in),
			 0);
	ck_assert(!in.running);
	ck_assert_uint_eq(in.pid, 0);
	/* no Name at all is allowed (full-id look-ups) */
	ck_assert_int_eq(parse("{\"Id\":\"" ID_WEB "\",\"State\":{\"Running\":true,\"Pid\":7}}", false, &in), 0);
	ck_assert_str_eq(in.name, "");
}
END_TEST

START_TEST(parse_podman_array)
{
	struct cc_inspect in;
	char buf[2048];
	snprintf(buf, sizeof(buf), "[\n%s\n]\n", good);
	ck_assert_int_eq(parse(buf, true, &in), 0);
	ck_assert_str_eq(in.id, ID_WEB);
	ck_assert_uint_eq(in.pid, 4242);
	/* podman's names have no slash */
	ck_assert_int_eq(parse("[{\"Id\":\"" ID_DB "\",\"Name\":\"db\",\"State\":{\"Running\":true,\"Pid\":9}}]", true,
			       &in),
			 0);
	ck_assert_str_eq(in.name, "db");
	/* an object where an array is wanted, and the other way round */
	ck_assert_int_lt(parse(good, true, &in), 0);
	ck_assert_int_lt(parse(buf, false, &in), 0);
	/* zero or two containers */
	ck_assert_int_lt(parse("[]", true, &in), 0);
	snprintf(buf, sizeof(buf), "[%s,%s]", good, good);
	ck_assert_int_lt(parse(buf, true, &in), 0);
}
END_TEST

START_TEST(parse_wrong_types_and_ranges)
{
	static const char *const bad[] = {
		"{\"Id\":\"" ID_WEB "\",\"Name\":\"/web\",\"State\":{\"Running\":true,\"Pid\":\"4242\"}}",
		"{\"Id\":\"" ID_WEB "\",\"Name\":\"/web\",\"State\":{\"Running\":true,\"Pid\":4242.5}}",
		"{\"Id\":\"" ID_WEB "\",\"Name\":\"/web\",\"State\":{\"Running\":true,\"Pid\":-1}}",
		"{\"Id\":\"" ID_WEB "\",\"Name\":\"/web\",\"State\":{\"Running\":true,\"Pid\":1099511627776}}",
		"{\"Id\":\"" ID_WEB "\",\"Name\":\"/web\",\"State\":{\"Running\":true,\"Pid\":99999999999999999999999}}",
		"{\"Id\":\"" ID_WEB "\",\"Name\":\"/web\",\"State\":{\"Running\":true,\"Pid\":0}}",
		"{\"Id\":\"" ID_WEB "\",\"Name\":\"/web\",\"State\":{\"Running\":\"yes\",\"Pid\":5}}",
		"{\"Id\":\"" ID_WEB "\",\"Name\":\"/web\",\"State\":{\"Pid\":5}}",
		"{\"Id\":\"" ID_WEB "\",\"Name\":\"/web\",\"State\":[true,5]}",
		"{\"Id\":\"" ID_WEB "\",\"Name\":\"/web\"}",
		"{\"Id\":\"0123\",\"Name\":\"/web\",\"State\":{\"Running\":true,\"Pid\":5}}",
		"{\"Id\":\"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\",\"State\":{\"Running\":true,"
		"\"Pid\":5}}",
		"{\"Id\":\"../../../etc/passwd\",\"State\":{\"Running\":true,\"Pid\":5}}",
		"{\"Id\":12,\"State\":{\"Running\":true,\"Pid\":5}}",
		"{\"Name\":\"/web\",\"State\":{\"Running\":true,\"Pid\":5}}",
		/* names no runtime gives: control bytes, NUL inside, path, too long, not a string */
		"{\"Id\":\"" ID_WEB "\",\"Name\":\"/we\\nb\",\"State\":{\"Running\":true,\"Pid\":5}}",
		"{\"Id\":\"" ID_WEB "\",\"Name\":\"/we\\u0000b\",\"State\":{\"Running\":true,\"Pid\":5}}",
		"{\"Id\":\"" ID_WEB "\",\"Name\":\"/a/b\",\"State\":{\"Running\":true,\"Pid\":5}}",
		"{\"Id\":\"" ID_WEB "\",\"Name\":[\"web\"],\"State\":{\"Running\":true,\"Pid\":5}}",
		"{\"Id\":\"" ID_WEB "\",\"Name\":\"\x1b[2Jweb\",\"State\":{\"Running\":true,\"Pid\":5}}",
		"[]",
		"null",
		"42",
		"\"" ID_WEB "\"",
	};
	struct cc_inspect in;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&in, 0x5a, sizeof(in));
		ck_assert_msg(parse(bad[i], false, &in) < 0, "accepted: %s", bad[i]);
		/* nothing half-filled on failure */
		ck_assert_uint_eq(in.pid, 0);
		ck_assert_str_eq(in.id, "");
	}
	char longname[600];
	memset(longname, 'a', 300);
	longname[300] = '\0';
	char buf[1024];
	snprintf(buf, sizeof(buf), "{\"Id\":\"" ID_WEB "\",\"Name\":\"/%s\",\"State\":{\"Running\":true,\"Pid\":5}}",
		 longname);
	ck_assert_int_lt(parse(buf, false, &in), 0);
}
END_TEST

START_TEST(parse_malformed)
{
	static const char *const bad[] = {
		"",
		"   ",
		"{",
		"{\"Id\":\"" ID_WEB "\"",                                         /* truncated */
		"{\"Id\":\"" ID_WEB "\",}",                                       /* trailing comma */
		"{'Id':'x'}",                                                     /* not JSON quotes */
		"HTTP/1.1 200 OK\r\n\r\n{}",
		"{\"Id\":\"" ID_WEB "\",\"State\":{\"Running\":true,\"Pid\":5}} {}", /* two documents */
		"{\"Id\":\"" ID_WEB "\",\"State\":{\"Running\":true,\"Pid\":5}}garbage",
		"\xff\xfe{}",
	};
	struct cc_inspect in;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(parse(bad[i], false, &in) < 0, "accepted: %s", bad[i]);
	/* a NUL byte inside the buffer */
	char nul[] = "{\"Id\":\"" ID_WEB "\",\"State\":{\"Running\":true,\"Pid\":5}}\0{}";
	cc_error e = { 0 };
	ck_assert_int_lt(cc_inspect_parse(nul, sizeof(nul) - 1, false, &in, &e), 0);
}
END_TEST

START_TEST(parse_hostile_sizes)
{
	struct cc_inspect in;
	cc_error e = { 0 };
	/* deeper than the tokenizer allows */
	size_t depth = 100000;
	char *deep = malloc(2 * depth + 1);
	ck_assert_ptr_nonnull(deep);
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	deep[2 * depth] = '\0';
	ck_assert_int_lt(cc_inspect_parse(deep, 2 * depth, true, &in, &e), 0);
	/* just past the limit that the tokenizer allows, inside an ignored field */
	char *d2 = malloc(4096);
	size_t o = (size_t)snprintf(d2, 4096, "{\"Id\":\"" ID_WEB "\",\"State\":{\"Running\":true,\"Pid\":5},\"X\":");
	for (int i = 0; i < CC_INSPECT_MAX_DEPTH + 2; i++)
		d2[o++] = '[';
	for (int i = 0; i < CC_INSPECT_MAX_DEPTH + 2; i++)
		d2[o++] = ']';
	d2[o++] = '}';
	d2[o] = '\0';
	ck_assert_int_lt(cc_inspect_parse(d2, o, false, &in, &e), 0);
	free(d2);
	free(deep);
	/* larger than the cap: refused before parsing, whatever it holds */
	size_t big = CC_INSPECT_MAX_BYTES + 1;
	char *huge = malloc(big + 1);
	ck_assert_ptr_nonnull(huge);
	memset(huge, ' ', big);
	memcpy(huge, good, strlen(good));
	huge[big] = '\0';
	ck_assert_int_eq(cc_inspect_parse(huge, big, false, &in, &e), -EFBIG);
	/* the same just under the cap is fine (white space after the object) */
	ck_assert_int_eq(cc_inspect_parse(huge, big - 1, false, &in, &e), 0);
	free(huge);
	/* a huge string inside an ignored field, under the cap */
	size_t n = CC_INSPECT_MAX_BYTES - 200;
	char *s = malloc(n + 1);
	o = (size_t)snprintf(s, n, "{\"Id\":\"" ID_WEB "\",\"State\":{\"Running\":true,\"Pid\":5},\"X\":\"");
	memset(s + o, 'x', n - o - 2);
	s[n - 2] = '"';
	s[n - 1] = '}';
	s[n] = '\0';
	ck_assert_int_eq(cc_inspect_parse(s, n, false, &in, &e), 0);
	ck_assert_uint_eq(in.pid, 5);
	free(s);
}
END_TEST

START_TEST(names_ok)
{
	ck_assert(cc_runtime_name_ok("web"));
	ck_assert(cc_runtime_name_ok("/web"));
	ck_assert(cc_runtime_name_ok("my_app.1-2"));
	ck_assert(cc_runtime_name_ok(ID_WEB));
	ck_assert(!cc_runtime_name_ok(""));
	ck_assert(!cc_runtime_name_ok("/"));
	ck_assert(!cc_runtime_name_ok("-rm"));
	ck_assert(!cc_runtime_name_ok(".hidden"));
	ck_assert(!cc_runtime_name_ok("a/b"));
	ck_assert(!cc_runtime_name_ok("a b"));
	ck_assert(!cc_runtime_name_ok("a?b"));
	ck_assert(!cc_runtime_name_ok("a%2fb"));
	ck_assert(!cc_runtime_name_ok("a\nb"));
	char l[300];
	memset(l, 'a', 299);
	l[299] = '\0';
	ck_assert(!cc_runtime_name_ok(l));
	l[253] = '\0';
	ck_assert(cc_runtime_name_ok(l));
	l[254] = '\0';
	l[253] = 'a';
	ck_assert(!cc_runtime_name_ok(l));
}
END_TEST

START_TEST(socket_choice)
{
	char p[256];
	cc_error e = { 0 };
	static const char *const none[] = { "/nonexistent/docker.sock", NULL };

	ck_assert_int_eq(cc_api_socket("/x/explicit.sock", "DOCKER_HOST", none, p, sizeof(p), &e), 0);
	ck_assert_str_eq(p, "/x/explicit.sock");
	setenv("DOCKER_HOST", "unix:///tmp/d.sock", 1);
	ck_assert_int_eq(cc_api_socket("", "DOCKER_HOST", none, p, sizeof(p), &e), 0);
	ck_assert_str_eq(p, "/tmp/d.sock");
	setenv("DOCKER_HOST", "tcp://10.0.0.1:2375", 1);
	ck_assert_int_eq(cc_api_socket("", "DOCKER_HOST", none, p, sizeof(p), &e), -EPROTONOSUPPORT);
	setenv("DOCKER_HOST", "unix://relative.sock", 1);
	ck_assert_int_lt(cc_api_socket("", "DOCKER_HOST", none, p, sizeof(p), &e), 0);
	char longp[300] = "unix:///";
	memset(longp + 8, 'a', 200);
	longp[208] = '\0';
	setenv("DOCKER_HOST", longp, 1);
	ck_assert_int_eq(cc_api_socket("", "DOCKER_HOST", none, p, sizeof(p), &e), -ENAMETOOLONG);
	unsetenv("DOCKER_HOST");
	ck_assert_int_eq(cc_api_socket("", "DOCKER_HOST", none, p, sizeof(p), &e), 0);
	ck_assert_str_eq(p, "");
}
END_TEST

/* ------------------------------------------------------------ fixtures */

static char root[256], proc[300], cg[300], sock[300];
static struct cc_resolve_ctx ctx;
static pid_t server = -1;

static void mkdirs(const char *path)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *q = buf + 1; *q; q++)
		if (*q == '/') {
			*q = '\0';
			(void)mkdir(buf, 0755);
			*q = '/';
		}
	(void)mkdir(buf, 0755);
}

static void write_file(const char *path, const char *fmt, ...)
{
	va_list ap;
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "cannot create %s", path);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

/* A container init: NSpid "<pid>\t1", its /proc/PID/cgroup naming cgpath. */
static void add_proc(unsigned pid, const char *cgpath)
{
	char d[512], p[600];
	snprintf(d, sizeof(d), "%s/%u", proc, pid);
	mkdirs(d);
	snprintf(p, sizeof(p), "%s/status", d);
	write_file(p, "Name:\tsleep\nPid:\t%u\nPPid:\t1\nNSpid:\t%u\t1\n", pid, pid);
	snprintf(p, sizeof(p), "%s/stat", d);
	write_file(p, "%u (sleep) S 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %u 0 0\n", pid, 1000 + pid);
	snprintf(p, sizeof(p), "%s/cgroup", d);
	write_file(p, "12:pids:%s\n0::%s\n", cgpath, cgpath);
}

/* A process with a parent PID and comm (containerd's shim check). */
static void add_proc_parent(unsigned pid, unsigned ppid, const char *comm, const char *nspid)
{
	char d[512], p[600];
	snprintf(d, sizeof(d), "%s/%u", proc, pid);
	mkdirs(d);
	snprintf(p, sizeof(p), "%s/status", d);
	write_file(p, "Name:\t%s\nPid:\t%u\nPPid:\t%u\nNSpid:\t%s\n", comm, pid, ppid, nspid);
	snprintf(p, sizeof(p), "%s/stat", d);
	write_file(p, "%u (%s) S %u 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %u 0 0\n", pid, comm, ppid, 1000 + pid);
	snprintf(p, sizeof(p), "%s/comm", d);
	write_file(p, "%s\n", comm);
}

static void add_cgroup(const char *hier, const char *path, unsigned pid)
{
	char d[4096], p[4200];
	snprintf(d, sizeof(d), "%s/%s/%s", cg, hier, path);
	mkdirs(d);
	snprintf(p, sizeof(p), "%s/cgroup.procs", d);
	if (pid)
		write_file(p, "%u\n", pid);
	else
		write_file(p, "%s", "");
}

/* The fake Engine API: answers every request with reply_for(path). */
static const char *replies[8][2]; /* { path, full HTTP reply } */
static size_t nreplies;

static void on_path(const char *path, const char *reply)
{
	replies[nreplies][0] = path;
	replies[nreplies][1] = reply;
	nreplies++;
}

static void serve(int lfd)
{
	for (;;) {
		int c = accept(lfd, NULL, NULL);
		if (c < 0)
			_exit(0);
		char req[8192];
		size_t n = 0;
		while (n + 1 < sizeof(req)) {
			ssize_t k = read(c, req + n, sizeof(req) - 1 - n);
			if (k <= 0)
				break;
			n += (size_t)k;
			req[n] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		req[n] = '\0';
		const char *reply = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		for (size_t i = 0; i < nreplies; i++) {
			char want[512];
			snprintf(want, sizeof(want), "GET %s HTTP/", replies[i][0]);
			if (strncmp(req, want, strlen(want)) == 0)
				reply = replies[i][1];
		}
		if (strcmp(reply, "HUGE") == 0) {
			/* an endless body */
			const char *h = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"a\":\"";
			(void)!write(c, h, strlen(h));
			char x[65536];
			memset(x, 'x', sizeof(x));
			for (int i = 0; i < 64; i++)
				if (write(c, x, sizeof(x)) < 0)
					break;
		} else {
			(void)!write(c, reply, strlen(reply));
		}
		close(c);
	}
}

static void start_server(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(lfd, 8), 0);
	server = fork();
	ck_assert_int_ge(server, 0);
	if (server == 0) {
		signal(SIGPIPE, SIG_IGN);
		serve(lfd);
	}
	close(lfd);
}

static char *http_json(const char *body)
{
	static char buf[8][4096];
	static int i;
	char *b = buf[i++ % 8];
	snprintf(b, 4096, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		 strlen(body), body);
	return b;
}

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/cc-names.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	snprintf(proc, sizeof(proc), "%s/proc", root);
	snprintf(cg, sizeof(cg), "%s/cgroup", root);
	snprintf(sock, sizeof(sock), "%s/docker.sock", root);
	mkdirs(proc);
	mkdirs(cg);
	add_cgroup("unified", "", 0);
	add_cgroup("pids", "", 0);
	/* docker web (cgroupfs driver) and db (systemd driver) */
	add_proc(100, "/docker/" ID_WEB);
	add_cgroup("unified", "docker/" ID_WEB, 100);
	add_cgroup("pids", "docker/" ID_WEB, 100);
	add_proc(200, "/system.slice/docker-" ID_DB ".scope");
	add_cgroup("unified", "system.slice/docker-" ID_DB ".scope", 200);
	/* podman (cgroupfs) */
	add_proc(300, "/libpod_parent/libpod-" ID_GHOST);
	add_cgroup("unified", "libpod_parent/libpod-" ID_GHOST, 300);
	memset(&ctx, 0, sizeof(ctx));
	ctx.proc_root = proc;
	ctx.cgroup_root = cg;
	ctx.docker_host = sock;
	nreplies = 0;
	unsetenv("DOCKER_HOST");
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void teardown(void)
{
	if (server > 0) {
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
		server = -1;
	}
	(void)nftw(root, rm_one, 64, FTW_DEPTH | FTW_PHYS);
}

static int resolve(const char *spec, struct cc_claim *c, cc_error *e)
{
	memset(e, 0, sizeof(*e));
	return cc_resolve(&ctx, spec, c, e);
}

/* resolve() as a user without privileges: this process when it is not
 * root; as root a child that drops to uid/gid 65534 and sends back what it
 * got. */
static int resolve_unprivileged(const char *spec, cc_error *e)
{
	struct cc_claim c;
	struct { int r; cc_error e; } res = { 0 };
	int p[2], status;

	if (geteuid() != 0)
		return resolve(spec, &c, e);
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(2);
		res.r = resolve(spec, &c, &res.e);
		_exit(write(p[1], &res, sizeof(res)) == (ssize_t)sizeof(res) ? 0 : 3);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &res, sizeof(res)), (ssize_t)sizeof(res));
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the unprivileged child failed (status %#x)", status);
	*e = res.e;
	return res.r;
}

/* ------------------------------------------------------------ whole path */

START_TEST(docker_name_through_api)
{
	struct cc_claim c;
	cc_error e;
	on_path("/containers/web/json",
		http_json("{\"Id\":\"" ID_WEB "\",\"Name\":\"/web\",\"State\":{\"Running\":true,\"Pid\":100}}"));
	on_path("/containers/db/json",
		http_json("{\"Id\":\"" ID_DB "\",\"Name\":\"/db\",\"State\":{\"Running\":true,\"Pid\":200}}"));
	start_server();
	ck_assert_msg(resolve("docker://web", &c, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(c.pid, 100);
	ck_assert_str_eq(c.runtime, "docker");
	ck_assert_str_eq(c.id, ID_WEB);
	ck_assert_str_eq(c.name, "web");
	ck_assert_uint_eq(c.start_time, 1100);
	/* bare name, systemd-driver cgroup */
	ck_assert_msg(resolve("db", &c, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(c.pid, 200);
	ck_assert_str_eq(c.id, ID_DB);
	ck_assert_str_eq(c.name, "db");
	/* an id still resolves without the API */
	ck_assert_msg(resolve(ID_WEB, &c, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(c.pid, 100);
	/* unknown name: 404, said in the error */
	ck_assert_int_eq(resolve("docker://nope", &c, &e), -ENOENT);
	ck_assert_uint_eq(c.pid, 0);
	ck_assert_msg(strstr(e.msg, "no such container") != NULL, "%s", e.msg);
	/* names that cannot be a runtime's are never sent */
	ck_assert_int_lt(resolve("docker://../../x", &c, &e), 0);
	ck_assert_int_lt(resolve("docker://a?b", &c, &e), 0);
}
END_TEST

START_TEST(docker_name_beats_id_prefix)
{
	/* a container named like a prefix of another container's id */
	struct cc_claim c;
	cc_error e;
	on_path("/containers/fedcba/json",
		http_json("{\"Id\":\"" ID_WEB "\",\"Name\":\"/fedcba\",\"State\":{\"Running\":true,\"Pid\":100}}"));
	start_server();
	ck_assert_msg(resolve("fedcba", &c, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(c.id, ID_WEB);
	/* without that name, the prefix is the other container's */
	ck_assert_msg(resolve("fedcb", &c, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(c.id, ID_DB);
}
END_TEST

START_TEST(docker_prefix_reply_ignored)
{
	struct cc_claim c;
	cc_error e;
	/* the daemon resolves "0123" as an id prefix; that is no name */
	on_path("/containers/zz0123/json",
		http_json("{\"Id\":\"" ID_WEB "\",\"Name\":\"/web\",\"State\":{\"Running\":true,\"Pid\":100}}"));
	start_server();
	ck_assert_int_eq(resolve("docker://zz0123", &c, &e), -ENOENT);
	ck_assert_msg(strstr(e.msg, "is not a container's name") != NULL, "%s", e.msg);
}
END_TEST

START_TEST(docker_hostile_replies)
{
	struct cc_claim c;
	cc_error e;
	/* a PID whose cgroup does not name the id it claims */
	on_path("/containers/liar/json",
		http_json("{\"Id\":\"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\",\"Name\":\"/liar\","
			  "\"State\":{\"Running\":true,\"Pid\":1}}"));
	on_path("/containers/liar2/json",
		http_json("{\"Id\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"Name\":\"/liar2\","
			  "\"State\":{\"Running\":true,\"Pid\":100}}"));
	on_path("/containers/huge/json", "HUGE");
	on_path("/containers/junk/json", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{{{{{");
	on_path("/containers/notjson/json", "this is not HTTP at all\r\n\r\n");
	on_path("/containers/redirect/json",
		"HTTP/1.1 302 Found\r\nLocation: file:///etc/shadow\r\nContent-Length: 0\r\n\r\n");
	on_path("/containers/stopped/json",
		http_json("{\"Id\":\"" ID_WEB "\",\"Name\":\"/stopped\",\"State\":{\"Running\":false,\"Pid\":0}}"));
	start_server();
	ck_assert_int_eq(resolve("docker://liar", &c, &e), -ENOENT);
	ck_assert_uint_eq(c.pid, 0);
	ck_assert_msg(strstr(e.msg, "does not name the container") || strstr(e.msg, "gone"), "%s", e.msg);
	/* an id no cgroup has, and a PID (100) whose cgroup names another id */
	ck_assert_int_eq(resolve("docker://liar2", &c, &e), -ENOENT);
	ck_assert_msg(strstr(e.msg, "does not name the container") != NULL, "%s", e.msg);
	ck_assert_int_eq(resolve("docker://huge", &c, &e), -ENOENT);
	ck_assert_msg(strstr(e.msg, "larger than") != NULL, "%s", e.msg);
	ck_assert_int_eq(resolve("docker://junk", &c, &e), -ENOENT);
	ck_assert_msg(strstr(e.msg, "not JSON") != NULL, "%s", e.msg);
	ck_assert_int_eq(resolve("docker://notjson", &c, &e), -ENOENT);
	ck_assert_int_eq(resolve("docker://redirect", &c, &e), -ENOENT);
	ck_assert_msg(strstr(e.msg, "302") != NULL, "%s", e.msg);
	ck_assert_int_eq(resolve("docker://stopped", &c, &e), -ENOENT);
	ck_assert_msg(strstr(e.msg, "not running") != NULL, "%s", e.msg);
}
END_TEST

START_TEST(docker_api_unreachable)
{
	struct cc_claim c;
	cc_error e;
	/* no server on the socket path */
	ck_assert_int_eq(resolve("docker://web", &c, &e), -ENOENT);
	ck_assert_msg(strstr(e.msg, "Docker API") != NULL, "%s", e.msg);
	/* a socket the user may not use (as root: as uid 65534, since root
	 * may use any socket), against the same socket usable (the control) */
	start_server();
	ck_assert_int_eq(chmod(root, 0711), 0);
	ck_assert_int_eq(chmod(sock, 0), 0);
	ck_assert_int_eq(resolve_unprivileged("docker://web", &e), -ENOENT);
	ck_assert_msg(strstr(e.msg, "Permission denied") != NULL, "%s", e.msg);
	ck_assert_int_eq(chmod(sock, 0666), 0);
	resolve_unprivileged("docker://web", &e);
	ck_assert_msg(strstr(e.msg, "Permission denied") == NULL, "%s", e.msg);
	/* a bare name without any socket says nothing about Docker */
	ctx.docker_host = "";
	setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock", 1);
	ck_assert_int_eq(resolve("docker://web", &c, &e), -ENOENT);
	ck_assert_msg(strstr(e.msg, "/nonexistent/docker.sock") != NULL, "%s", e.msg);
	setenv("DOCKER_HOST", "tcp://127.0.0.1:1", 1);
	ck_assert_int_eq(resolve("docker://web", &c, &e), -ENOENT);
	ck_assert_msg(strstr(e.msg, "not a unix socket") != NULL, "%s", e.msg);
	unsetenv("DOCKER_HOST");
	/* fixtures: NULL means never asked */
	ctx.docker_host = NULL;
	ck_assert_int_eq(resolve("docker://web", &c, &e), -ENOENT);
	ck_assert_str_eq(e.msg, "no container 'docker://web' (searched: docker)");
}
END_TEST

START_TEST(podman_name_through_api)
{
	struct cc_claim c;
	cc_error e;
	/* podman's Docker-compatible service on its own socket */
	ctx.docker_host = NULL;
	ctx.podman_host = sock;
	on_path("/containers/pm1/json",
		http_json("{\"Id\":\"" ID_GHOST "\",\"Name\":\"/pm1\",\"State\":{\"Running\":true,\"Pid\":300}}"));
	on_path("/containers/pm2/json",
		http_json("{\"Id\":\"" ID_WEB "\",\"Name\":\"/pm2\",\"State\":{\"Running\":true,\"Pid\":100}}"));
	start_server();
	ck_assert_msg(resolve("podman://pm1", &c, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(c.pid, 300);
	ck_assert_str_eq(c.runtime, "podman");
	ck_assert_str_eq(c.id, ID_GHOST);
	ck_assert_str_eq(c.name, "pm1");
	ck_assert_msg(resolve("pm1", &c, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(c.pid, 300);
	/* docker:// does not ask podman */
	ck_assert_int_eq(resolve("docker://pm1", &c, &e), -ENOENT);
	/* the id podman returns must be a podman container in the cgroup tree:
	 * a Docker container's id is not taken for a podman one */
	ck_assert_int_eq(resolve("podman://pm2", &c, &e), -ENOENT);
	ck_assert_msg(strstr(e.msg, "is a docker container") != NULL, "%s", e.msg);
}
END_TEST

START_TEST(podman_binary_absent)
{
	struct cc_claim c;
	cc_error e;
	ctx.docker_host = NULL;
	ctx.podman_host = NULL;
	ctx.podman_bin = "/nonexistent/podman";
	ck_assert_int_eq(resolve("podman://pm1", &c, &e), -ENOENT);
	ck_assert_msg(strstr(e.msg, "no podman binary") != NULL, "%s", e.msg);
	/* bare: the same, in the first message (it said nothing about podman) */
	ck_assert_int_eq(resolve("pm1", &c, &e), -ENOENT);
	ck_assert_msg(strstr(e.msg, "podman: no API socket") != NULL && strstr(e.msg, "no podman binary") != NULL,
		      "%s", e.msg);
}
END_TEST

/* A bare name nobody knows: the one message says what each runtime that
 * keeps names to itself needed and lacked, as docker:// and podman:// do. */
START_TEST(bare_name_says_what_each_runtime_lacked)
{
	struct cc_claim c;
	cc_error e;
	ctx.docker_host = "";
	ctx.podman_host = "";
	ctx.podman_bin = "/nonexistent/podman";
	setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock", 1);
	setenv("CONTAINER_HOST", "unix:///nonexistent/podman.sock", 1);
	ck_assert_int_eq(resolve("web", &c, &e), -ENOENT);
	ck_assert_msg(strncmp(e.msg, "no container 'web' (searched: docker, podman, containerd, cri-o, runc, lxc, machine; ",
			      85) == 0, "%s", e.msg);
	ck_assert_msg(strstr(e.msg, "; Docker API: cannot use /nonexistent/docker.sock: No such file or directory") != NULL,
		      "%s", e.msg);
	ck_assert_msg(strstr(e.msg, "; podman API: cannot use /nonexistent/podman.sock") != NULL, "%s", e.msg);
	ck_assert_msg(strstr(e.msg, "conmon: none of the 1 running podman container has this name; no podman binary)") != NULL,
		      "%s", e.msg);
	unsetenv("CONTAINER_HOST");
	unsetenv("DOCKER_HOST");
}
END_TEST

/* conmon's world-readable command line names a (rootful) podman container
 * for anyone: its init's parent, root's or the user's, naming that id. */
static void conmon(unsigned pid, const char *argv0, const char *id, const char *name)
{
	char p[600];
	add_proc_parent(pid, 1, "conmon", "7");
	snprintf(p, sizeof(p), "%s/%u/cmdline", proc, pid);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%s%c--api-version%c1%c-c%c%s%c-u%c%s%c-r%c/usr/bin/runc%c-b%c/b%c-n%c%s%c--exit-dir%c/x%c", argv0,
		0, 0, 0, 0, id, 0, 0, id, 0, 0, 0, 0, 0, 0, name, 0, 0, 0);
	fclose(f);
}

START_TEST(podman_name_through_conmon)
{
	struct cc_claim c;
	cc_error e;
	char p[600];
	ctx.docker_host = NULL;
	ctx.podman_host = NULL;
	ctx.podman_bin = "/nonexistent/podman";
	/* the container's init (300) is conmon's child */
	add_proc_parent(300, 299, "sleeper", "300\t1");
	conmon(299, "/usr/bin/conmon", ID_GHOST, "pm1");
	ck_assert_msg(resolve("podman://pm1", &c, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(c.pid, 300);
	ck_assert_str_eq(c.id, ID_GHOST);
	ck_assert_str_eq(c.name, "pm1");
	ck_assert_msg(resolve("pm1", &c, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(c.pid, 300);
	/* --list shows the name */
	struct cc_container *l = NULL;
	size_t n = 0;
	ck_assert_int_eq(cc_list(&ctx, &l, &n, &e), 0);
	bool named = false;
	for (size_t i = 0; i < n; i++)
		named |= strcmp(l[i].id, ID_GHOST) == 0 && strcmp(l[i].name, "pm1") == 0;
	free(l);
	ck_assert_msg(named, "--list does not name the podman container");
	ck_assert_int_eq(resolve("pm2", &c, &e), -ENOENT);
	ck_assert_msg(strstr(e.msg, "conmon: none of the 1 running podman container has this name") != NULL, "%s", e.msg);
	/* a conmon naming another id, and a parent that is not conmon */
	conmon(299, "/usr/bin/conmon", ID_DB, "pm1");
	ck_assert_int_eq(resolve("podman://pm1", &c, &e), -ENOENT);
	conmon(299, "/tmp/not-conmon", ID_GHOST, "pm1");
	ck_assert_int_eq(resolve("podman://pm1", &c, &e), -ENOENT);
	/* another user's conmon does not name root's containers */
	conmon(299, "conmon", ID_GHOST, "pm1");
	ck_assert_msg(resolve("podman://pm1", &c, &e) == 0, "%s", e.msg);
	if (geteuid() == 0) {
		snprintf(p, sizeof(p), "%s/299", proc);
		ck_assert_int_eq(chown(p, 4321, 4321), 0);
		ck_assert_int_eq(resolve("podman://pm1", &c, &e), -ENOENT);
	}
}
END_TEST

/* --list names Docker containers from GET /containers/json */
START_TEST(list_names_docker_containers)
{
	struct cc_container *l = NULL;
	size_t n = 0;
	cc_error e;
	on_path("/containers/json",
		http_json("[{\"Id\":\"" ID_WEB "\",\"Names\":[\"/web\"],\"State\":\"running\"},"
			  "{\"Id\":\"" ID_DB "\",\"Names\":[\"/bad name\"]},"
			  "{\"Id\":\"" ID_GHOST "\",\"Names\":[\"/notdocker\"]}]"));
	start_server();
	ck_assert_int_eq(cc_list(&ctx, &l, &n, &e), 0);
	int seen = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(l[i].id, ID_WEB) == 0)
			seen += strcmp(l[i].name, "web") == 0;
		if (strcmp(l[i].id, ID_DB) == 0)
			seen += l[i].name[0] == '\0' ? 2 : 100; /* a name no runtime gives is not shown */
		if (strcmp(l[i].id, ID_GHOST) == 0)
			seen += l[i].name[0] == '\0' ? 4 : 100; /* the podman container is not Docker's to name */
	}
	free(l);
	ck_assert_int_eq(seen, 7);
}
END_TEST

/* Found by the integration test with ctr: /<ns>/<id> in every hierarchy;
 * the first hierarchy makes it a containerd container, the next ones (seen
 * already) used to add it again as an unrecognised cgroup named like the
 * spec, and a bare id was "ambiguous" between the container and itself. */
START_TEST(containerd_bare_id_in_several_hierarchies)
{
	struct cc_claim c;
	cc_error e;
	ctx.docker_host = NULL;
	add_proc_parent(500, 0, "containerd-shim", "500");
	add_proc_parent(501, 500, "sleeper", "501\t1");
	add_cgroup("unified", "ccit/web1", 501);
	add_cgroup("pids", "ccit/web1", 501);
	ck_assert_msg(resolve("web1", &c, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(c.pid, 501);
	ck_assert_str_eq(c.runtime, "containerd");
	ck_assert_msg(resolve("ccit/web1", &c, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(c.pid, 501);
	ck_assert_msg(resolve("containerd://web1", &c, &e) == 0, "%s", e.msg);
	/* runc:// still finds it by its cgroup's name */
	ck_assert_msg(resolve("runc://web1", &c, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(c.pid, 501);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("resolve_names");
	TCase *t = tcase_create("parse");
	tcase_add_test(t, parse_docker_reply);
	tcase_add_test(t, parse_podman_array);
	tcase_add_test(t, parse_wrong_types_and_ranges);
	tcase_add_test(t, parse_malformed);
	tcase_add_test(t, parse_hostile_sizes);
	tcase_add_test(t, names_ok);
	tcase_add_test(t, socket_choice);
	suite_add_tcase(s, t);
	t = tcase_create("api");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 30);
	tcase_add_test(t, docker_name_through_api);
	tcase_add_test(t, docker_name_beats_id_prefix);
	tcase_add_test(t, docker_prefix_reply_ignored);
	tcase_add_test(t, docker_hostile_replies);
	tcase_add_test(t, docker_api_unreachable);
	tcase_add_test(t, podman_name_through_api);
	tcase_add_test(t, podman_binary_absent);
	tcase_add_test(t, bare_name_says_what_each_runtime_lacked);
	tcase_add_test(t, podman_name_through_conmon);
	tcase_add_test(t, list_names_docker_containers);
	tcase_add_test(t, containerd_bare_id_in_several_hierarchies);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *r = srunner_create(suite());
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
