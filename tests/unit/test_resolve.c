/* The resolver against fixture trees built at run time in a temp dir: a
 * fake /proc (status with NSpid, stat with ppid and start time, comm,
 * mountinfo), a fake /sys/fs/cgroup (hybrid: unified + pids, or a pure
 * cgroup2 root) and a fake /var/log/containers. Every runtime's cgroup
 * naming is covered, plus ambiguity, names that look like ids, containers
 * without a PID namespace and hostile contents. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "resolve.h"

/* Ids: A and AB share a 3-char prefix ("abc" / "abcd..."). */
#define ID_A "abc0000000000000000000000000000000000000000000000000000000000001"
#define ID_AB "abcd000000000000000000000000000000000000000000000000000000000002"
#define ID_P "bbbb000000000000000000000000000000000000000000000000000000000003"
#define ID_P2 "bbbc000000000000000000000000000000000000000000000000000000000004"
#define ID_K "c0ffee0000000000000000000000000000000000000000000000000000000005"
#define ID_K2 "c0ffee1000000000000000000000000000000000000000000000000000000006"
#define ID_O "cccc000000000000000000000000000000000000000000000000000000000007"
#define ID_NUM "1234567000000000000000000000000000000000000000000000000000000008"
#define ID_DB "deadbeef00000000000000000000000000000000000000000000000000000009"

static char root[256], proc[300], cg[300], logs[300];
static struct cc_resolve_ctx ctx;

static void mkdirs(const char *path)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			(void)mkdir(buf, 0755);
			*p = '/';
		}
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

/* A process: NSpid fields (tab separated, e.g. "100\t1"), start time, parent, comm. */
static void add_proc_full(unsigned pid, const char *nspid, unsigned long long start, unsigned ppid, const char *comm)
{
	char d[512], p[600];
	snprintf(d, sizeof(d), "%s/%u", proc, pid);
	mkdirs(d);
	snprintf(p, sizeof(p), "%s/status", d);
	write_file(p, "Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t%u\nNgid:\t0\nPid:\t%u\nPPid:\t%u\n"
		   "NStgid:\t%s\nNSpid:\t%s\nNSpgid:\t%s\nNSsid:\t%s\nVmPeak:\t1 kB\n",
		   comm, pid, pid, ppid, nspid, nspid, nspid, nspid);
	snprintf(p, sizeof(p), "%s/stat", d);
	write_file(p, "%u (%s) S %u 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %llu 0 0\n", pid, comm, ppid, start);
	snprintf(p, sizeof(p), "%s/comm", d);
	write_file(p, "%s\n", comm);
	snprintf(p, sizeof(p), "%s/mountinfo", d);
	write_file(p, "22 1 0:21 / / rw - overlay overlay rw\n23 22 0:22 / /dev rw,nosuid - tmpfs tmpfs rw\n");
}

static void add_proc(unsigned pid, const char *nspid, unsigned long long start)
{
	add_proc_full(pid, nspid, start, 1, "sleep");
}

/* A cgroup (hierarchy-relative path) with member PIDs (0-terminated). */
static void add_cgroup(const char *hier, const char *path, ...)
{
	char d[4096], p[4200], procs[1024] = "";
	va_list ap;
	unsigned pid;
	snprintf(d, sizeof(d), "%s/%s/%s", cg, hier, path);
	mkdirs(d);
	va_start(ap, path);
	while ((pid = va_arg(ap, unsigned)) != 0)
		snprintf(procs + strlen(procs), sizeof(procs) - strlen(procs), "%u\n", pid);
	va_end(ap);
	snprintf(p, sizeof(p), "%s/cgroup.procs", d);
	write_file(p, "%s", procs);
}

static void add_log(const char *pod, const char *ns, const char *ctr, const char *id)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s/%s_%s_%s-%s.log", logs, pod, ns, ctr, id);
	ck_assert_int_eq(symlink("/var/log/pods/nowhere/0.log", p), 0);
}

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/cc-resolve.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	snprintf(proc, sizeof(proc), "%s/proc", root);
	snprintf(cg, sizeof(cg), "%s/cgroup", root);
	snprintf(logs, sizeof(logs), "%s/logs", root);
	mkdirs(proc);
	mkdirs(cg);
	mkdirs(logs);
	/* hybrid layout like this project's machines */
	add_cgroup("unified", "", 0);
	add_cgroup("pids", "", 0);
	ctx.proc_root = proc;
	ctx.cgroup_root = cg;
	ctx.log_containers = logs;
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
	(void)nftw(root, rm_one, 64, FTW_DEPTH | FTW_PHYS);
}

/* Resolve and expect success. */
#define RESOLVE_OK(spec, want_pid, want_rt, want_id)                                                     \
	do {                                                                                             \
		struct cc_claim c_;                                                                      \
		cc_error e_ = { 0 };                                                                     \
		int r_ = cc_resolve(&ctx, (spec), &c_, &e_);                                             \
		ck_assert_msg(r_ == 0, "%s: %d %s", (spec), r_, e_.msg);                                 \
		ck_assert_uint_eq(c_.pid, (want_pid));                                                   \
		ck_assert_str_eq(c_.runtime, (want_rt));                                                 \
		ck_assert_str_eq(c_.id, (want_id));                                                      \
	} while (0)

static int resolve_err(const char *spec, cc_error *e)
{
	struct cc_claim c;
	memset(e, 0, sizeof(*e));
	int r = cc_resolve(&ctx, spec, &c, e);
	ck_assert_msg(r < 0, "%s resolved to PID %u", spec, c.pid);
	ck_assert_uint_eq(c.pid, 0);
	return r;
}

/* ---- PIDs ---- */

START_TEST(pid_forms)
{
	add_proc(4242, "4242", 77);
	RESOLVE_OK("4242", 4242, "pid", "4242");
	RESOLVE_OK("pid://4242", 4242, "pid", "4242");
	cc_error e;
	ck_assert_int_eq(resolve_err("pid://4243", &e), -ESRCH);
	ck_assert_str_eq(e.msg, "no process with PID 4243");
	ck_assert_int_eq(resolve_err("pid://web", &e), -EINVAL);
	ck_assert_str_eq(e.msg, "'pid://web' is not a valid pid id");
	ck_assert_int_eq(resolve_err("4243", &e), -ESRCH);
	ck_assert_str_eq(e.msg, "no process with PID 4243, and no container id '4243' "
				"(searched: docker, podman, containerd, cri-o, runc, lxc, machine)");
}
END_TEST

/* ---- cgroupfs forms (what this project's machines show) ---- */

START_TEST(docker_cgroupfs)
{
	add_proc(100, "100\t1", 10);
	add_proc(101, "101\t7", 11);
	add_cgroup("pids", "docker/" ID_A, 101, 100, 0);
	RESOLVE_OK(ID_A, 100, "docker", ID_A);
	RESOLVE_OK("abc000000000", 100, "docker", ID_A);
	RESOLVE_OK("docker://abc0", 100, "docker", ID_A);
	struct cc_claim c;
	cc_error e = { 0 };
	ck_assert_int_eq(cc_resolve(&ctx, "docker://abc0", &c, &e), 0);
	ck_assert_uint_eq(c.start_time, 10);
	ck_assert_str_eq(c.note, "");
	ck_assert_str_eq(c.name, "");
	ck_assert_int_eq(resolve_err("podman://abc0", &e), -ENOENT);
	ck_assert_str_eq(e.msg, "no container 'podman://abc0' (searched: podman)");
}
END_TEST

START_TEST(podman_cgroupfs)
{
	add_proc(200, "200\t1", 10);
	add_proc(199, "199", 5); /* conmon, in its own cgroup */
	add_cgroup("pids", "libpod_parent/libpod-" ID_P, 200, 0);
	add_cgroup("pids", "libpod_parent/conmon", 199, 0);
	RESOLVE_OK("bbbb", 200, "podman", ID_P);
	RESOLVE_OK("podman://" ID_P, 200, "podman", ID_P);
	cc_error e;
	ck_assert_int_eq(resolve_err("docker://bbbb", &e), -ENOENT);
}
END_TEST

START_TEST(containerd_cgroupfs_namespaces)
{
	add_proc_full(299, "299", 5, 1, "containerd-shim");
	add_proc_full(300, "300\t1", 10, 299, "nginx");
	add_proc_full(310, "310\t1", 12, 299, "nginx");
	add_proc_full(320, "320\t1", 13, 299, "redis");
	add_proc_full(330, "330\t1", 14, 1, "sleep"); /* not under a shim */
	add_cgroup("pids", "default/web", 300, 0);
	add_cgroup("pids", "k8s.io/web", 310, 0);
	add_cgroup("pids", "default/web2", 320, 0);
	add_cgroup("pids", "microct/box", 330, 0);

	RESOLVE_OK("containerd://default/web", 300, "containerd", "web");
	RESOLVE_OK("k8s.io/web", 310, "containerd", "web");
	RESOLVE_OK("web2", 320, "containerd", "web2");
	/* "web" is an exact id in two namespaces: ambiguous; "web2" is not a candidate */
	cc_error e;
	ck_assert_int_eq(resolve_err("web", &e), -EEXIST);
	ck_assert_str_eq(e.msg, "'web' is ambiguous: 2 containers match: containerd web default/web (PID 300); "
				"containerd web k8s.io/web (PID 310)");
	/* /microct/box: no shim parent, so not containerd; an unrecognised
	 * cgroup named exactly like the spec with a PID-namespace init is */
	ck_assert_int_eq(resolve_err("containerd://box", &e), -ENOENT);
	RESOLVE_OK("box", 330, "runc", "box");
	struct cc_claim c;
	ck_assert_int_eq(cc_resolve(&ctx, "runc://box", &c, &e), 0);
	ck_assert_str_eq(c.note, "cgroup /microct/box does not name its runtime (runc, crun or similar)");
	/* generic matches are exact only */
	ck_assert_int_eq(resolve_err("runc://bo", &e), -ENOENT);
	ck_assert_str_eq(e.msg, "no container 'runc://bo' (searched: runc)");
}
END_TEST

START_TEST(lxc_and_machine)
{
	add_proc(400, "400\t1", 10);
	add_proc(401, "401", 9); /* lxc monitor */
	add_proc(410, "410\t1", 20);
	add_proc(411, "411", 19); /* nspawn supervisor */
	add_cgroup("pids", "lxc.payload.box", 0);
	add_cgroup("pids", "lxc.payload.box/init.scope", 400, 0); /* systemd inside: init in a child */
	add_cgroup("pids", "lxc.monitor.box", 401, 0);
	add_cgroup("unified", "machine.slice/machine-my\\x2dbox.scope", 0);
	add_cgroup("unified", "machine.slice/machine-my\\x2dbox.scope/payload", 410, 0);
	add_cgroup("unified", "machine.slice/machine-my\\x2dbox.scope/supervisor", 411, 0);
	RESOLVE_OK("lxc://box", 400, "lxc", "box");
	RESOLVE_OK("box", 400, "lxc", "box");
	RESOLVE_OK("machine://my-box", 410, "machine", "my-box");
	RESOLVE_OK("my-box", 410, "machine", "my-box");
	cc_error e;
	ck_assert_int_eq(resolve_err("lxc://bo", &e), -ENOENT); /* names are exact */
	ck_assert_int_eq(resolve_err("machine://box", &e), -ENOENT);
	ck_assert_str_eq(e.msg, "no container 'machine://box' (searched: machine)");
}
END_TEST

/* ---- systemd scope forms and Kubernetes nesting ---- */

START_TEST(systemd_scopes)
{
	add_proc(500, "500\t1", 10);
	add_proc(501, "501", 9);
	add_proc(510, "510\t1", 10);
	add_proc(511, "511", 9);
	add_proc(520, "520\t1", 10);
	add_proc(530, "530\t1", 10);
	add_cgroup("unified", "system.slice/docker-" ID_A ".scope", 500, 0);
	add_cgroup("unified", "machine.slice/libpod-conmon-" ID_P ".scope", 501, 0);
	add_cgroup("unified", "machine.slice/libpod-" ID_P ".scope", 0);
	add_cgroup("unified", "machine.slice/libpod-" ID_P ".scope/container", 510, 0);
	add_cgroup("unified", "system.slice/crio-conmon-" ID_O ".scope", 511, 0);
	add_cgroup("unified", "system.slice/crio-" ID_O ".scope", 520, 0);
	add_cgroup("unified", "system.slice/runc-mybox.scope", 530, 0);
	RESOLVE_OK("abc", 500, "docker", ID_A);
	RESOLVE_OK("podman://bbbb0", 510, "podman", ID_P);
	RESOLVE_OK("cri-o://cccc", 520, "cri-o", ID_O);
	RESOLVE_OK("crio://cccc", 520, "cri-o", ID_O);
	RESOLVE_OK("runc://myb", 530, "runc", "mybox");
}
END_TEST

START_TEST(kubepods_nesting)
{
	add_proc(600, "600\t1", 10); /* pause */
	add_proc(601, "601\t1", 11);
	add_proc(610, "610\t1", 12);
	add_proc(620, "620\t1", 13);
	const char *pod = "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234_5678.slice";
	char p[512];
	snprintf(p, sizeof(p), "%s/cri-containerd-%s.scope", pod, ID_O);
	add_cgroup("unified", p, 600, 0);
	snprintf(p, sizeof(p), "%s/cri-containerd-%s.scope", pod, ID_K);
	add_cgroup("unified", p, 601, 0);
	/* cgroupfs driver */
	add_cgroup("pids", "kubepods/burstable/pod1234-5678/" ID_P, 610, 0);
	add_cgroup("pids", "kubepods/podabcd/crio-" ID_AB, 620, 0);
	RESOLVE_OK("c0ffee", 601, "containerd", ID_K);
	RESOLVE_OK("containerd://cccc", 600, "containerd", ID_O);
	RESOLVE_OK("bbbb", 610, "containerd", ID_P);
	RESOLVE_OK("cri-o://abcd", 620, "cri-o", ID_AB);
}
END_TEST

START_TEST(pure_cgroup2_root)
{
	/* a host with only the unified hierarchy, mounted at the root */
	teardown();
	setup();
	char p[600];
	snprintf(p, sizeof(p), "%s/unified", cg);
	(void)nftw(p, rm_one, 64, FTW_DEPTH | FTW_PHYS);
	snprintf(p, sizeof(p), "%s/pids", cg);
	(void)nftw(p, rm_one, 64, FTW_DEPTH | FTW_PHYS);
	snprintf(p, sizeof(p), "%s/cgroup.controllers", cg);
	write_file(p, "cpu memory pids\n");
	add_proc(700, "700\t1", 10);
	add_cgroup(".", "system.slice/docker-" ID_A ".scope", 700, 0);
	RESOLVE_OK("abc0", 700, "docker", ID_A);
}
END_TEST

/* ---- Kubernetes names through /var/log/containers ---- */

START_TEST(k8s_names)
{
	add_proc(800, "800\t1", 10);
	add_proc(801, "801\t1", 11);
	add_cgroup("unified", "kubepods.slice/kubepods-podx.slice/cri-containerd-" ID_K ".scope", 800, 0);
	add_cgroup("unified", "kubepods.slice/kubepods-podx.slice/cri-containerd-" ID_K2 ".scope", 801, 0);
	add_log("web-7d9", "prod", "nginx", ID_K);
	add_log("web-7d9", "prod", "sidecar", ID_K2);
	add_log("web-7d9", "prod", "nginx", ID_O); /* an earlier, exited instance */
	add_log("db-0", "prod", "pg", ID_P);       /* not running here */

	struct cc_claim c;
	cc_error e = { 0 };
	ck_assert_int_eq(cc_resolve(&ctx, "k8s://prod/web-7d9/nginx", &c, &e), 0);
	ck_assert_uint_eq(c.pid, 800);
	ck_assert_str_eq(c.runtime, "containerd");
	ck_assert_str_eq(c.id, ID_K);
	ck_assert_str_eq(c.name, "prod/web-7d9/nginx");
	RESOLVE_OK("k8s://prod/web-7d9/sidecar", 801, "containerd", ID_K2);
	RESOLVE_OK("prod/web-7d9/sidecar", 801, "containerd", ID_K2);

	ck_assert_int_eq(resolve_err("k8s://prod/web-7d9", &e), -EEXIST);
	ck_assert_str_eq(e.msg, "'k8s://prod/web-7d9' is ambiguous: 2 containers match: containerd c0ffee000000 "
				"prod/web-7d9/nginx (PID 800); containerd c0ffee100000 prod/web-7d9/sidecar (PID 801)");
	ck_assert_int_eq(resolve_err("k8s://prod/nope", &e), -ENOENT);
	ck_assert_msg(strstr(e.msg, "no pod prod/nope in ") != NULL, "%s", e.msg);
	ck_assert_int_eq(resolve_err("k8s://prod/web-7d9/nope", &e), -ENOENT);
	ck_assert_msg(strstr(e.msg, "pod prod/web-7d9 has no container 'nope'") != NULL, "%s", e.msg);
	ck_assert_int_eq(resolve_err("k8s://prod/db-0", &e), -ENOENT);
	ck_assert_str_eq(e.msg, "pod prod/db-0: none of its 1 container(s) is running here");
	ck_assert_int_eq(resolve_err("k8s://prod", &e), -EINVAL);
	ck_assert_str_eq(e.msg, "'k8s://prod': expected k8s://NAMESPACE/POD[/CONTAINER]");
}
END_TEST

/* ---- choosing the process ---- */

START_TEST(no_pid_namespace)
{
	add_proc(902, "902", 200);
	add_proc(901, "901", 200);
	add_proc(900, "900", 300);
	add_cgroup("pids", "docker/" ID_A, 900, 902, 901, 0);
	struct cc_claim c;
	cc_error e = { 0 };
	ck_assert_int_eq(cc_resolve(&ctx, "abc", &c, &e), 0);
	ck_assert_uint_eq(c.pid, 901);
	ck_assert_uint_eq(c.start_time, 200);
	ck_assert_str_eq(c.note, "no PID namespace of its own: chose PID 901, the oldest process in the cgroup "
				 "(start time 200; lowest PID on a tie)");
}
END_TEST

START_TEST(nested_pid_namespaces)
{
	/* docker-in-docker: the outer init (2 levels) wins over the inner (3) */
	add_proc(950, "950\t40\t1", 5);
	add_proc(940, "940\t1", 50);
	add_proc(941, "941\t2", 51);
	add_cgroup("pids", "docker/" ID_A, 941, 940, 0);
	add_cgroup("pids", "docker/" ID_A "/docker/" ID_AB, 950, 0);
	struct cc_claim c;
	cc_error e = { 0 };
	ck_assert_int_eq(cc_resolve(&ctx, ID_A, &c, &e), 0);
	ck_assert_uint_eq(c.pid, 940);
	ck_assert_str_eq(c.note, "PID 940: the outermost (then oldest) of 2 PID-namespace inits in the cgroup");
	RESOLVE_OK("abcd", 950, "docker", ID_AB);
}
END_TEST

/* ---- ids that are prefixes of each other, names that look like ids ---- */

START_TEST(prefixes_and_lookalikes)
{
	add_proc(1000, "1000\t1", 1);
	add_proc(1001, "1001\t1", 2);
	add_proc(1002, "1002\t1", 3);
	add_proc(1003, "1003\t1", 4);
	add_cgroup("pids", "docker/" ID_A, 1000, 0);
	add_cgroup("pids", "docker/" ID_AB, 1001, 0);
	add_cgroup("pids", "lxc.payload.deadbeef", 1002, 0);
	add_cgroup("pids", "docker/" ID_DB, 1003, 0);

	cc_error e;
	ck_assert_int_eq(resolve_err("abc", &e), -EEXIST);
	ck_assert_str_eq(e.msg, "'abc' is ambiguous: 2 containers match: docker abc000000000 (PID 1000); "
				"docker abcd00000000 (PID 1001)");
	RESOLVE_OK("abcd", 1001, "docker", ID_AB);
	RESOLVE_OK("abc0", 1000, "docker", ID_A);
	/* an exact name beats an id prefix; an id prefix is not a name */
	RESOLVE_OK("deadbeef", 1002, "lxc", "deadbeef");
	RESOLVE_OK("deadbee", 1003, "docker", ID_DB);
	RESOLVE_OK("docker://deadbeef", 1003, "docker", ID_DB);
}
END_TEST

START_TEST(numeric_id_prefix)
{
	add_proc(1100, "1100\t1", 1);
	add_cgroup("pids", "docker/" ID_NUM, 1100, 0);
	/* not a live PID: falls through to ids */
	RESOLVE_OK("1234567", 1100, "docker", ID_NUM);
	/* a live PID wins over an all-digit prefix */
	add_proc(1234, "1234", 1);
	RESOLVE_OK("1234", 1234, "pid", "1234");
	RESOLVE_OK("docker://1234", 1100, "docker", ID_NUM);
}
END_TEST

START_TEST(errors)
{
	cc_error e;
	ck_assert_int_eq(resolve_err("", &e), -EINVAL);
	ck_assert_str_eq(e.msg, "empty container id");
	ck_assert_int_eq(resolve_err("docker://", &e), -EINVAL);
	ck_assert_str_eq(e.msg, "'docker://': nothing after the prefix");
	ck_assert_int_eq(resolve_err("nerd://x", &e), -EINVAL);
	ck_assert_msg(strncmp(e.msg, "unknown runtime prefix in 'nerd://x'", 36) == 0, "%s", e.msg);
	ck_assert_int_eq(resolve_err("zzz", &e), -ENOENT);
	ck_assert_str_eq(e.msg, "no container 'zzz' (searched: docker, podman, containerd, cri-o, runc, lxc, machine)");
	ck_assert_int_eq(resolve_err("a/b", &e), -ENOENT);
	ck_assert_str_eq(e.msg,
			 "no container 'a/b' (searched: docker, podman, containerd, cri-o, runc, lxc, machine, k8s)");
	/* an exited container's leftover cgroup is not a target */
	add_cgroup("pids", "docker/" ID_A, 0);
	ck_assert_int_eq(resolve_err("abc", &e), -ENOENT);
	/* members that vanished between cgroup.procs and /proc */
	add_cgroup("pids", "docker/" ID_AB, 77777, 0);
	ck_assert_int_eq(resolve_err("abcd", &e), -ENOENT);
}
END_TEST

/* ---- hostile contents ---- */

START_TEST(hostile_contents)
{
	char p[8192];
	/* symlink loops and a symlink named like a container: never followed */
	add_proc(1200, "1200\t1", 1);
	add_cgroup("pids", "elsewhere", 1200, 0);
	snprintf(p, sizeof(p), "%s/pids/loop", cg);
	ck_assert_int_eq(symlink(".", p), 0);
	add_cgroup("pids", "docker", 0);
	snprintf(p, sizeof(p), "%s/pids/docker/%s", cg, ID_A);
	ck_assert_int_eq(symlink("../elsewhere", p), 0);
	cc_error e;
	ck_assert_int_eq(resolve_err("abc", &e), -ENOENT);

	/* huge cgroup.procs full of junk around a real member */
	add_proc(1210, "1210\t1", 1);
	add_cgroup("pids", "docker/" ID_AB, 0);
	snprintf(p, sizeof(p), "%s/pids/docker/%s/cgroup.procs", cg, ID_AB);
	FILE *f = fopen(p, "w");
	fprintf(f, "1210\n-1\n0\nfoo\n99999999999999999999\n\n");
	for (int i = 0; i < 200000; i++)
		fputs("x\n", f);
	fclose(f);
	RESOLVE_OK("abcd", 1210, "docker", ID_AB);

	/* a status file larger than the bound, a status without NSpid, a stat
	 * whose comm holds ") (" and newlines */
	add_proc(1220, "1220\t1", 1);
	snprintf(p, sizeof(p), "%s/1220/status", proc);
	f = fopen(p, "w");
	for (int i = 0; i < 5000; i++)
		fputs("Junk:\tjunkjunk\n", f);
	fputs("NSpid:\t1220\t1\n", f);
	fclose(f);
	add_proc(1221, "1221\t1", 5);
	snprintf(p, sizeof(p), "%s/1221/status", proc);
	write_file(p, "Name:\tx\n");
	add_proc(1222, "1222\t1", 9);
	snprintf(p, sizeof(p), "%s/1222/stat", proc);
	write_file(p, "1222 (a) (b\nS 1 ) S 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9 0 0\n");
	add_cgroup("pids", "docker/" ID_P, 1220, 1221, 1222, 0);
	RESOLVE_OK("bbbb", 1222, "docker", ID_P);

	/* a container's own sub-cgroup named like another container: both are
	 * candidates (ambiguity), never whichever the walk meets first */
	add_proc(1250, "1250\t1", 1);
	add_proc(1251, "1251\t1", 2);
	add_cgroup("unified", "system.slice/docker-" ID_K ".scope", 1250, 0);
	add_cgroup("unified", "lxc.payload.evil/docker-" ID_K ".scope", 1251, 0);
	ck_assert_int_eq(resolve_err("c0ffee", &e), -EEXIST);
	ck_assert_str_eq(e.msg, "'c0ffee' is ambiguous: 2 containers match: docker c0ffee000000 (PID 1250); "
				"docker c0ffee000000 (PID 1251)");
	/* the same cgroup in two hierarchies is one container */
	add_proc(1260, "1260\t1", 1);
	add_cgroup("unified", "docker/" ID_K2, 1260, 0);
	add_cgroup("pids", "docker/" ID_K2, 1260, 0);
	RESOLVE_OK("c0ffee1", 1260, "docker", ID_K2);

	/* odd characters in names: kept as bytes; messages carry them as they
	 * are and the worker's printer escapes them (cc_fputs_escaped) */
	add_proc(1230, "1230\t1", 1);
	add_cgroup("pids", "lxc.payload.ev\x1b[2Jil\n", 1230, 0);
	RESOLVE_OK("lxc://ev\x1b[2Jil\n", 1230, "lxc", "ev\x1b[2Jil\n");
	ck_assert_int_eq(resolve_err("lxc://ev\x1b", &e), -ENOENT);
	ck_assert_str_eq(e.msg, "no container 'lxc://ev\x1b' (searched: lxc)");
	char shown[sizeof(e.msg)];
	cc_escape(e.msg, shown, sizeof(shown));
	ck_assert_str_eq(shown, "no container 'lxc://ev\\x1b' (searched: lxc)");

	/* a cgroup tree deeper than the walk's bound: the walk stops there */
	size_t o = (size_t)snprintf(p, sizeof(p), "deep");
	for (int i = 0; i < 40; i++)
		o += (size_t)snprintf(p + o, sizeof(p) - o, "/d");
	snprintf(p + o, sizeof(p) - o, "/docker/%s", ID_O);
	add_proc(1240, "1240\t1", 1);
	add_cgroup("pids", p, 1240, 0);
	ck_assert_int_eq(resolve_err("cccc", &e), -ENOENT);
	add_proc(1241, "1241\t1", 1);
	add_cgroup("pids", "a/b/c/d/e/f/g/h/docker/" ID_O, 1241, 0);
	RESOLVE_OK("cccc", 1241, "docker", ID_O);
}
END_TEST

/* The parsers the walker reads /proc and cgroup names with, from memory
 * (tests/fuzz/fuzz_proc.c gives them anything; these pin what they say). */
START_TEST(proc_text_parsers)
{
	struct cc_cgroup_class c;
	uint64_t last;
	uint32_t ppid;
	int levels;

	ck_assert_int_eq(cc_parse_status_nspid("Name:\tsh\nNSpid:\t4242\t17\t1\nNSpgid:\t1\n", &last, &levels), 0);
	ck_assert_int_eq(levels, 3);
	ck_assert_uint_eq(last, 1);
	ck_assert_int_eq(cc_parse_status_nspid("NSpid:\t12\n", &last, &levels), -ENOENT); /* not a line start of ours */
	ck_assert_int_eq(cc_parse_status_nspid("Name:\tx\nNSpid:\t\n", &last, &levels), -EINVAL);
	ck_assert_int_eq(cc_parse_status_nspid("Name:\tx\nNSpid:\t4294967296\n", &last, &levels), -EINVAL);

	ck_assert_int_eq(cc_parse_stat_ppid("7 (a) b) S 4242 7 7 0", &ppid), 0);
	ck_assert_uint_eq(ppid, 4242);
	ck_assert_int_eq(cc_parse_stat_ppid("7 (a) S -1 7", &ppid), -EINVAL);
	ck_assert_int_eq(cc_parse_stat_ppid("7 (a S 1 7", &ppid), -EINVAL);

	ck_assert(cc_cgroup_classify("docker-" ID_A ".scope", "system.slice", 2, "system.slice/docker-" ID_A ".scope", &c));
	ck_assert_uint_eq(c.rt, CC_RT_DOCKER);
	ck_assert_str_eq(c.id, ID_A);
	ck_assert(!cc_cgroup_classify("docker-abc.scope", "system.slice", 2, "system.slice/docker-abc.scope", &c));
	ck_assert(cc_cgroup_classify("machine-my\\x2dvm.scope", "machine.slice", 2, "machine.slice/machine-my\\x2dvm.scope", &c));
	ck_assert_str_eq(c.name, "my-vm");
	ck_assert(cc_cgroup_classify("redis", "default", 2, "default/redis", &c));
	ck_assert(c.need_shim);
}
END_TEST

START_TEST(hostile_mountinfo)
{
	char p[600];
	add_proc(1300, "1300\t1", 1);
	int procfd = open(proc, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(procfd, 0);
	ck_assert_int_eq(cc_proc_has_crashcart(procfd, 1300), 0);
	snprintf(p, sizeof(p), "%s/1300/mountinfo", proc);
	/* a 20000-byte line that mentions /dev/crashcart as a root, not a mount point */
	FILE *f = fopen(p, "w");
	fputs("1 0 0:1 /dev/crashcart /", f);
	for (int i = 0; i < 20000; i++)
		fputc('x', f);
	fputs(" rw - ext4 /dev/crashcart rw\n", f);
	fputs("2 1 0:2 / /dev/crashcart2 ro - ext4 /dev/loop0 ro\n", f);
	fclose(f);
	ck_assert_int_eq(cc_proc_has_crashcart(procfd, 1300), 0);
	f = fopen(p, "a");
	fputs("3 1 7:0 / /dev/crashcart ro,nosuid,nodev - ext4 /dev/loop0 ro", f); /* no final newline */
	fclose(f);
	ck_assert_int_eq(cc_proc_has_crashcart(procfd, 1300), 1);
	ck_assert_int_eq(cc_proc_has_crashcart(procfd, 1399), -ENOENT);

	/* libmount's reading: a mount point the kernel escaped is compared
	 * unescaped ("/dev/crashcart x" is not ours) ... */
	f = fopen(p, "w");
	fputs("1 0 0:1 / / rw - ext4 /dev/vda rw\n", f);
	fputs("2 1 7:0 / /dev/crashcart\\040x ro - ext4 /dev/loop0 ro\n", f);
	fputs("3 1 7:0 / /dev/crashcart\\011 ro - ext4 /dev/loop0 ro\n", f);
	fclose(f);
	ck_assert_int_eq(cc_proc_has_crashcart(procfd, 1300), 0);
	/* ... a line is a line however long (options of 20000 bytes), and a
	 * malformed line before it does not stop the reading */
	f = fopen(p, "a");
	fputs("garbage without fields\n4 1 7:0 / /dev/crashcart ro,nosuid,nodev shared:1 - ext4 /dev/loop0 ro", f);
	for (int i = 0; i < 2000; i++)
		fputs(",opt123456", f);
	fputs("\n", f);
	fclose(f);
	ck_assert_int_eq(cc_proc_has_crashcart(procfd, 1300), 1);
	/* more than 16 MiB: refused, not read without bound */
	f = fopen(p, "w");
	for (int i = 0; i < 300000; i++)
		fprintf(f, "%d 1 0:%d / /tmp/m%d rw - tmpfs tmpfs rw,size=%d\n", i + 2, i, i, i);
	fputs("400000 1 7:0 / /dev/crashcart ro - ext4 /dev/loop0 ro\n", f);
	ck_assert_int_gt(ftell(f), 16 << 20);
	fclose(f);
	ck_assert_int_eq(cc_proc_has_crashcart(procfd, 1300), -EFBIG);
	close(procfd);
}
END_TEST

/* ---- listing ---- */

static char *print_to_string(int (*fn)(FILE *, const struct cc_container *, size_t), struct cc_container *c,
			     size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_int_eq(fn(f, c, n), 0);
	fclose(f);
	return buf;
}

START_TEST(listing)
{
	char p[600];
	add_proc(1400, "1400\t1", 10);
	add_proc(1401, "1401", 11);
	add_proc(1410, "1410\t1", 12);
	add_proc(1420, "1420\t1", 13);
	add_proc(1430, "1430\t1", 14);
	/* the same container in two hierarchies: listed once */
	add_cgroup("unified", "system.slice/docker-" ID_A ".scope", 1400, 0);
	add_cgroup("pids", "docker/" ID_A, 1400, 0);
	add_cgroup("pids", "libpod_parent/libpod-" ID_P, 1410, 0);
	add_cgroup("pids", "lxc.payload.b\tad", 1420, 0);
	add_cgroup("unified", "kubepods.slice/cri-containerd-" ID_K ".scope", 1430, 0);
	add_cgroup("pids", "docker/" ID_AB, 0); /* exited */
	add_cgroup("pids", "microct/box", 1401, 0); /* not listed: unrecognised */
	add_log("web", "prod", "nginx", ID_K);
	snprintf(p, sizeof(p), "%s/1410/mountinfo", proc);
	write_file(p, "22 1 0:21 / / rw - overlay overlay rw\n99 22 7:3 / /dev/crashcart ro - ext4 /dev/loop3 ro\n");
	snprintf(p, sizeof(p), "%s/1420/mountinfo", proc);
	unlink(p); /* unreadable: unknown */

	struct cc_container *c;
	size_t n;
	cc_error e = { 0 };
	ck_assert_int_eq(cc_list(&ctx, &c, &n, &e), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(c[0].runtime, "containerd");
	ck_assert_str_eq(c[0].name, "prod/web/nginx");
	ck_assert_str_eq(c[1].runtime, "docker");
	ck_assert_str_eq(c[1].id, ID_A);
	ck_assert_str_eq(c[1].cgroup, "/system.slice/docker-" ID_A ".scope"); /* unified is walked first */
	ck_assert_str_eq(c[2].runtime, "lxc");
	ck_assert_str_eq(c[3].runtime, "podman");
	ck_assert_int_eq(c[3].mounted, CC_MOUNTED_YES);
	ck_assert_int_eq(c[1].mounted, CC_MOUNTED_NO);
	ck_assert_int_eq(c[2].mounted, CC_MOUNTED_UNKNOWN);

	char *t = print_to_string(cc_list_print_table, c, n);
	ck_assert_str_eq(t, "RUNTIME    ID           NAME                                  PID MOUNTED\n"
			    "containerd c0ffee000000 prod/web/nginx                       1430 no\n"
			    "docker     abc000000000 -                                    1400 no\n"
			    "lxc        b\\x09ad      b\\x09ad                              1420 ?\n"
			    "podman     bbbb00000000 -                                    1410 yes\n");
	free(t);
	char *j = print_to_string(cc_list_print_json, c, 1);
	ck_assert_str_eq(j, "{\"containers\":[{\"runtime\":\"containerd\",\"id\":\"" ID_K "\",\"short_id\":\"c0ffee000000\","
			    "\"name\":\"prod/web/nginx\",\"pid\":1430,\"start_time\":14,\"pidns\":true,\"mounted\":false,"
			    "\"cgroup\":\"/kubepods.slice/cri-containerd-" ID_K ".scope\",\"note\":null}]}\n");
	free(j);
	j = print_to_string(cc_list_print_json, c + 2, 1);
	ck_assert_msg(strstr(j, "\"name\":\"b\\u0009ad\"") && strstr(j, "\"mounted\":null"), "%s", j);
	free(j);
	free(c);

	/* nothing to list */
	teardown();
	setup();
	ck_assert_int_eq(cc_list(&ctx, &c, &n, &e), 0);
	ck_assert_uint_eq(n, 0);
	t = print_to_string(cc_list_print_json, c, n);
	ck_assert_str_eq(t, "{\"containers\":[]}\n");
	free(t);
	free(c);
}
END_TEST

START_TEST(missing_roots)
{
	struct cc_resolve_ctx bad = { .proc_root = proc, .cgroup_root = "/nonexistent/cgroup", .log_containers = NULL };
	struct cc_claim c;
	cc_error e = { 0 };
	ck_assert_int_eq(cc_resolve(&bad, "abc", &c, &e), -ENOENT);
	ck_assert_str_eq(e.msg, "cannot open /nonexistent/cgroup: No such file or directory");
	/* no log directory: k8s:// says so */
	add_proc(1, "1", 1);
	ck_assert_int_eq(cc_resolve(&(struct cc_resolve_ctx){ proc, cg, NULL }, "k8s://a/b", &c, &e), -ENOENT);
	ck_assert_str_eq(e.msg, "no Kubernetes log directory configured");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("resolve");
	TCase *tc = tcase_create("resolve");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, pid_forms);
	tcase_add_test(tc, docker_cgroupfs);
	tcase_add_test(tc, podman_cgroupfs);
	tcase_add_test(tc, containerd_cgroupfs_namespaces);
	tcase_add_test(tc, lxc_and_machine);
	tcase_add_test(tc, systemd_scopes);
	tcase_add_test(tc, kubepods_nesting);
	tcase_add_test(tc, pure_cgroup2_root);
	tcase_add_test(tc, k8s_names);
	tcase_add_test(tc, no_pid_namespace);
	tcase_add_test(tc, nested_pid_namespaces);
	tcase_add_test(tc, prefixes_and_lookalikes);
	tcase_add_test(tc, numeric_id_prefix);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, hostile_contents);
	tcase_add_test(tc, proc_text_parsers);
	tcase_add_test(tc, hostile_mountinfo);
	tcase_add_test(tc, listing);
	tcase_add_test(tc, missing_roots);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
