/* Unit tests for the seccomp filters (src/common/seccomp.c, built from
 * policy/seccomp-*.list): each filter is loaded in a forked process, which
 * then makes one call and ends; the test looks at how it ended. Killed by
 * SIGSYS is what the worker's and the broker's allowlists do to an unlisted
 * call; EPERM is what the tool's blocklist answers. Check runs every test in
 * its own process (CK_FORK=yes), so a filter never outlives its test. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <dirent.h>
#include <libmount/libmount.h>

#include "config.h"
#include "seccomp.h"

/* Exit codes of the filtered child: which of its steps went wrong. */
enum { OK = 0, LOAD_FAILED = 100, UNEXPECTED = 101 };

static int expect_errno(long r, int e)
{
	return r == -1 && errno == e ? OK : UNEXPECTED;
}

/* Forks; the child loads `which` and returns body()'s value as its exit
 * code. Returns the child's wait status. */
static int run_filtered(enum cc_filter which, int (*body)(void))
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		cc_error err;
		if (cc_seccomp_load(which, &err) < 0)
			_exit(LOAD_FAILED);
		_exit(body());
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static void assert_exited_ok(int status)
{
	ck_assert_msg(WIFEXITED(status), "killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	ck_assert_msg(WEXITSTATUS(status) != LOAD_FAILED, "the filter did not load");
	ck_assert_int_eq(WEXITSTATUS(status), OK);
}

static void assert_sigsys(int status)
{
	ck_assert_msg(WIFSIGNALED(status), "not killed (exit %d)", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	ck_assert_int_eq(WTERMSIG(status), SIGSYS);
}

static void load(enum cc_filter which)
{
	cc_error err = { 0 };
	ck_assert_msg(cc_seccomp_load(which, &err) == 0, "%s", err.msg);
}

/* ---- every list builds: names known to libseccomp, rules accepted ---- */

START_TEST(test_lists_build)
{
	static const enum cc_filter all[] = { CC_FILTER_WORKER, CC_FILTER_BROKER, CC_FILTER_TOOL };
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		cc_error err = { 0 };
		int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		ck_assert_int_ge(fd, 0);
		ck_assert_msg(cc_seccomp_export_pfc(all[i], fd, &err) == 0, "%s", err.msg);
		close(fd);
		ck_assert_int_gt(cc_seccomp_count(all[i]), 10);
		ck_assert_ptr_nonnull(cc_seccomp_name(all[i]));
	}
	ck_assert_ptr_null(cc_seccomp_name((enum cc_filter)42));
	cc_error err = { 0 };
	ck_assert_int_lt(cc_seccomp_load((enum cc_filter)42, &err), 0);
}
END_TEST

/* ---- the BPF compiled in is what libseccomp makes of the lists ---- */

/* The installed programs load the BPF that crashcart-filters wrote at build
 * time (seccomp-bpf.h) with seccomp(2), without libseccomp. Built again here
 * by libseccomp from the same lists, each program must be the same,
 * instruction for instruction: a list, the generator or libseccomp that
 * changed and a stale header would differ. */
START_TEST(test_compiled_in_is_libseccomps)
{
	static const enum cc_filter all[] = { CC_FILTER_WORKER, CC_FILTER_BROKER, CC_FILTER_TOOL, CC_FILTER_TRAIL };
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		cc_error err = { 0 };
		struct sock_filter *now = NULL;
		const struct sock_filter *built = NULL;
		size_t nnow = 0, nbuilt = 0;
		ck_assert_msg(cc_seccomp_build_bpf(all[i], &now, &nnow, &err) == 0, "%s", err.msg);
		ck_assert_int_eq(cc_seccomp_program(all[i], &built, &nbuilt), 0);
		ck_assert_msg(nnow == nbuilt, "filter %zu: libseccomp makes %zu instructions, %zu compiled in", i, nnow,
			      nbuilt);
		for (size_t k = 0; k < nnow; k++)
			ck_assert_msg(memcmp(&now[k], &built[k], sizeof(now[k])) == 0,
				      "filter %zu differs at instruction %zu: libseccomp {%#x,%u,%u,%#x}, compiled in {%#x,%u,%u,%#x}",
				      i, k, now[k].code, now[k].jt, now[k].jf, now[k].k, built[k].code, built[k].jt,
				      built[k].jf, built[k].k);
		free(now);
	}
	const struct sock_filter *p;
	size_t n;
	ck_assert_int_lt(cc_seccomp_program((enum cc_filter)42, &p, &n), 0);
	/* the exec trail's names, without libseccomp at run time */
	char name[32];
#if defined(__x86_64__)
	cc_seccomp_syscall_name(AUDIT_ARCH_X86_64, __NR_execve, name, sizeof(name));
	ck_assert_str_eq(name, "execve");
	cc_seccomp_syscall_name(AUDIT_ARCH_X86_64, __NR_execveat, name, sizeof(name));
	ck_assert_str_eq(name, "execveat");
	cc_seccomp_syscall_name(AUDIT_ARCH_I386, 11, name, sizeof(name));
	ck_assert_str_eq(name, "execve");
#endif
	cc_seccomp_syscall_name(0x1234, 1, name, sizeof(name));
	ck_assert_str_eq(name, "?");
}
END_TEST

/* ---- broker ---- */

START_TEST(test_broker_kills_unlisted)
{
	load(CC_FILTER_BROKER);
	syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0); /* SIGSYS: Check expects the signal */
}
END_TEST

static int broker_allowed(void)
{
	char buf[64];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0 || close(fd) < 0)
		return UNEXPECTED;
	return getpid() > 0 ? OK : UNEXPECTED;
}

START_TEST(test_broker_allows_listed)
{
	assert_exited_ok(run_filtered(CC_FILTER_BROKER, broker_allowed));
}
END_TEST

/* A terminal ioctl the relay does not use: setting the operator's mode is
 * the worker's business, never the broker's. */
static int broker_ioctl_tty(void)
{
	struct termios t;
	memset(&t, 0, sizeof(t));
	(void)ioctl(0, TCSETS, &t);
	return UNEXPECTED;
}

/* The relay's: isatty() and window sizes pass the filter (the kernel
 * answers ENOTTY on /dev/null). */
static int broker_ioctl_relay(void)
{
	struct winsize ws;
	struct termios t;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return UNEXPECTED;
	if (ioctl(fd, TCGETS, &t) == 0 || errno != ENOTTY)
		return UNEXPECTED;
	return ioctl(fd, TIOCGWINSZ, &ws) < 0 && errno == ENOTTY ? OK : UNEXPECTED;
}

static int broker_ioctl_loop(void)
{
	struct loop_info64 li;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return UNEXPECTED;
	/* Allowed through the filter; /dev/null is no loop device. */
	return ioctl(fd, LOOP_GET_STATUS64, &li) < 0 && errno != 0 ? OK : UNEXPECTED;
}

START_TEST(test_broker_ioctl)
{
	assert_sigsys(run_filtered(CC_FILTER_BROKER, broker_ioctl_tty));
	assert_exited_ok(run_filtered(CC_FILTER_BROKER, broker_ioctl_loop));
	assert_exited_ok(run_filtered(CC_FILTER_BROKER, broker_ioctl_relay));
}
END_TEST

static int ns_fd = -1;

static int broker_setns_any(void)
{
	(void)setns(ns_fd, 0);
	return UNEXPECTED;
}

static int broker_setns_user(void)
{
	(void)setns(ns_fd, CLONE_NEWUSER);
	return UNEXPECTED;
}

static int broker_setns_mnt(void)
{
	/* Allowed through the filter; re-entering our own namespace without
	 * CAP_SYS_CHROOT fails, as root it succeeds: either is fine here. */
	long r = setns(ns_fd, CLONE_NEWNS);
	return r == 0 || errno == EPERM || errno == EINVAL ? OK : UNEXPECTED;
}

START_TEST(test_broker_setns)
{
	ns_fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(ns_fd, 0);
	assert_sigsys(run_filtered(CC_FILTER_BROKER, broker_setns_any));
	assert_sigsys(run_filtered(CC_FILTER_BROKER, broker_setns_user));
	assert_exited_ok(run_filtered(CC_FILTER_BROKER, broker_setns_mnt));
	close(ns_fd);
}
END_TEST

static int broker_mknod_reg(void)
{
	(void)mknodat(AT_FDCWD, "/nonexistent-crashcart-dir/f", S_IFREG | 0600, 0);
	return UNEXPECTED;
}

static int broker_mknod_wrong_dev(void)
{
	/* a character device, but not loop-control (1:3 is /dev/null) */
	(void)mknodat(AT_FDCWD, "/nonexistent-crashcart-dir/n", S_IFCHR | 0600, makedev(1, 3));
	return UNEXPECTED;
}

static int broker_mknod_loop(void)
{
	/* Allowed through the filter; the directory does not exist. */
	long r = mknodat(AT_FDCWD, "/nonexistent-crashcart-dir/loop0", S_IFBLK | 0600, makedev(7, 0));
	if (expect_errno(r, ENOENT) != OK && expect_errno(r, EPERM) != OK)
		return UNEXPECTED;
	r = mknodat(AT_FDCWD, "/nonexistent-crashcart-dir/loop-control", S_IFCHR | 0600, makedev(10, 237));
	return expect_errno(r, ENOENT) == OK || expect_errno(r, EPERM) == OK ? OK : UNEXPECTED;
}

START_TEST(test_broker_mknod)
{
	assert_sigsys(run_filtered(CC_FILTER_BROKER, broker_mknod_reg));
	assert_sigsys(run_filtered(CC_FILTER_BROKER, broker_mknod_wrong_dev));
	assert_exited_ok(run_filtered(CC_FILTER_BROKER, broker_mknod_loop));
}
END_TEST

static int clone3_enosys(void)
{
	return expect_errno(syscall(SYS_clone3, NULL, 0), ENOSYS);
}

/* Why the broker parses mountinfo by hand (target.c, trace.c) and the
 * worker uses libmount (list.c): libmount, after parsing a mountinfo line,
 * realpath()s the file's name and turns a source of "/dev/root" into a
 * device name through /sys/dev/block (readlink) and /proc/cmdline. Containers
 * show "/dev/root" for every bind of a host file on hosts that boot without
 * an initramfs; the broker's filter kills readlink (default build). If these
 * start to pass, libmount has become usable in the broker. */
#if !CRASHCART_AUDIT_WRITE
static char block_devno[32]; /* "MAJ:MIN" of a block device this machine has */

static int libmount_parses(const char *text, const char *name)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct libmnt_table *tb = mnt_new_table();
	if (!f || !tb)
		return UNEXPECTED;
	int r = mnt_table_parse_stream(tb, f, name);
	return r == 0 && mnt_table_get_nents(tb) == 1 ? OK : UNEXPECTED;
}

static int libmount_dev_root(void)
{
	char line[128];
	snprintf(line, sizeof(line), "22 1 %s /etc/hosts /etc/hosts rw - ext4 /dev/root rw\n", block_devno);
	return libmount_parses(line, ""); /* "": no realpath of the name */
}

static int libmount_proc_name(void)
{
	return libmount_parses("22 1 0:21 / /proc rw - proc proc rw\n", "/proc/self/mountinfo");
}

START_TEST(test_broker_kills_libmount)
{
	DIR *d = opendir("/sys/dev/block");
	struct dirent *e;
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) && e->d_name[0] == '.')
		;
	ck_assert_msg(e, "no block device in /sys/dev/block");
	snprintf(block_devno, sizeof(block_devno), "%s", e->d_name);
	closedir(d);
	/* unfiltered, both parse */
	ck_assert_int_eq(libmount_dev_root(), OK);
	ck_assert_int_eq(libmount_proc_name(), OK);
	assert_sigsys(run_filtered(CC_FILTER_BROKER, libmount_dev_root));
	assert_sigsys(run_filtered(CC_FILTER_BROKER, libmount_proc_name));
}
END_TEST
#endif

START_TEST(test_clone3_enosys)
{
	assert_exited_ok(run_filtered(CC_FILTER_BROKER, clone3_enosys));
	/* the worker forks nothing after its filter (runner, spawner come first) */
	assert_sigsys(run_filtered(CC_FILTER_WORKER, clone3_enosys));
	assert_exited_ok(run_filtered(CC_FILTER_TOOL, clone3_enosys));
}
END_TEST

/* ---- worker ---- */

START_TEST(test_worker_kills_unlisted)
{
	load(CC_FILTER_WORKER);
	syscall(SYS_mount, "none", "/nonexistent", "tmpfs", 0, NULL); /* SIGSYS */
}
END_TEST

static int worker_allowed(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0 || close(fd) < 0)
		return UNEXPECTED;
	char link[256];
	if (readlink("/proc/self/exe", link, sizeof(link)) <= 0)
		return UNEXPECTED;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return s >= 0 && close(s) == 0 ? OK : UNEXPECTED;
}

static int worker_inet_socket(void)
{
	(void)socket(AF_INET, SOCK_STREAM, 0);
	return UNEXPECTED;
}

static int worker_setns(void)
{
	(void)setns(0, CLONE_NEWNS);
	return UNEXPECTED;
}

START_TEST(test_worker)
{
	assert_exited_ok(run_filtered(CC_FILTER_WORKER, worker_allowed));
	assert_sigsys(run_filtered(CC_FILTER_WORKER, worker_inet_socket));
	assert_sigsys(run_filtered(CC_FILTER_WORKER, worker_setns));
	assert_sigsys(run_filtered(CC_FILTER_WORKER, broker_ioctl_loop));
}
END_TEST

/* ---- the tool ---- */

static int tool_refused(void)
{
	if (expect_errno(unshare(CLONE_NEWUSER), EPERM) != OK)
		return 1;
	if (expect_errno(unshare(CLONE_NEWUSER | CLONE_NEWNS), EPERM) != OK)
		return 2;
	if (expect_errno(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0), EPERM) != OK)
		return 3;
	if (expect_errno(syscall(SYS_kexec_load, 0, 0, NULL, 0), EPERM) != OK)
		return 4;
	if (expect_errno(syscall(SYS_mount, "none", "/nonexistent", "tmpfs", 0, NULL), EPERM) != OK)
		return 5;
	if (expect_errno(syscall(SYS_bpf, 0, NULL, 0), EPERM) != OK)
		return 6;
	if (expect_errno(syscall(SYS_init_module, NULL, 0, ""), EPERM) != OK)
		return 7;
	if (expect_errno(syscall(SYS_keyctl, 0, 0, 0, 0, 0), EPERM) != OK)
		return 8;
	if (expect_errno(syscall(SYS_userfaultfd, 0), EPERM) != OK)
		return 9;
	if (expect_errno(syscall(SYS_open_by_handle_at, -1, NULL, 0), EPERM) != OK)
		return 10;
	/* pushing input into a terminal: refused before the kernel looks at
	 * the fd (here not even a terminal) */
	char c = 'x';
	if (expect_errno(ioctl(0, TIOCSTI, &c), EPERM) != OK)
		return 11;
	if (expect_errno(ioctl(0, TIOCLINUX, &c), EPERM) != OK)
		return 12;
	return OK;
}

/* ---- the exec trail ---- */

/* With the supervisor gone (its listener closed), exec fails: fail closed. */
START_TEST(test_exec_trail_fails_closed)
{
	pid_t pid = fork();
	int status;
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		cc_error err;
		int fd;
		if (cc_seccomp_exec_trail(&fd, &err) < 0)
			_exit(LOAD_FAILED);
		close(fd);
		char *argv[] = { "true", NULL }, *envp[] = { NULL };
		execve("/bin/true", argv, envp);
		_exit(errno == ENOSYS ? OK : UNEXPECTED);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	assert_exited_ok(status);
}
END_TEST

/* With a supervisor: the exec waits for it, names its path, and goes on
 * once answered with FLAG_CONTINUE. */
START_TEST(test_exec_trail_notifies)
{
	pid_t pid = fork();
	int status;
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		cc_error err;
		int fd, st;
		if (cc_seccomp_exec_trail(&fd, &err) < 0)
			_exit(LOAD_FAILED);
		pid_t child = fork();
		if (child == 0) {
			close(fd);
			char *argv[] = { "true", NULL }, *envp[] = { NULL };
			execve("/bin/true", argv, envp);
			_exit(99);
		}
		struct seccomp_notif req;
		memset(&req, 0, sizeof(req));
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0 || (pid_t)req.pid != child)
			_exit(1);
		char path[64] = "", mem[64];
		snprintf(mem, sizeof(mem), "/proc/%d/mem", child);
		int m = open(mem, O_RDONLY);
		if (m < 0 || pread(m, path, sizeof(path) - 1, (off_t)req.data.args[0]) <= 0 || strcmp(path, "/bin/true"))
			_exit(2);
		struct seccomp_notif_resp resp = { .id = req.id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE };
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0)
			_exit(3);
		if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			_exit(4);
		_exit(OK);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	assert_exited_ok(status);
}
END_TEST

START_TEST(test_tool_refuses)
{
	assert_exited_ok(run_filtered(CC_FILTER_TOOL, tool_refused));
}
END_TEST

/* strace and gdb: ptrace, process_vm_readv, personality. */
static int tool_debugging(void)
{
	static volatile int secret = 4242;
	int status, copy = 0;
	pid_t child = fork();

	if (child < 0)
		return 1;
	if (child == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
			_exit(2);
		raise(SIGSTOP);
		_exit(secret == 4242 ? 0 : 3);
	}
	if (waitpid(child, &status, 0) != child || !WIFSTOPPED(status))
		return 2;
	struct iovec local = { &copy, sizeof(copy) }, remote = { (void *)&secret, sizeof(secret) };
	if (process_vm_readv(child, &local, 1, &remote, 1, 0) != (ssize_t)sizeof(copy) || copy != 4242)
		return 3;
	errno = 0;
	long peek = ptrace(PTRACE_PEEKDATA, child, (void *)&secret, NULL);
	if (errno || (int)peek != 4242)
		return 4;
	if (ptrace(PTRACE_CONT, child, NULL, NULL) < 0)
		return 5;
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return 6;
	/* gdb: read the personality, then disable address randomization */
	int old = personality(0xffffffff);
	if (old < 0 || personality((unsigned long)old | ADDR_NO_RANDOMIZE) < 0)
		return 7;
	/* namespaces other than the user namespace are not filtered here (they
	 * need a capability the tool lacks): the kernel answers, not seccomp */
	if (unshare(CLONE_FILES) < 0)
		return 8;
	return OK;
}

START_TEST(test_tool_debugging_works)
{
	assert_exited_ok(run_filtered(CC_FILTER_TOOL, tool_debugging));
}
END_TEST

static Suite *seccomp_suite(void)
{
	Suite *s = suite_create("seccomp");
	TCase *tc = tcase_create("lists");
	tcase_add_test(tc, test_lists_build);
	tcase_add_test(tc, test_compiled_in_is_libseccomps);
	suite_add_tcase(s, tc);

	tc = tcase_create("broker");
	tcase_add_test_raise_signal(tc, test_broker_kills_unlisted, SIGSYS);
	tcase_add_test(tc, test_broker_allows_listed);
	tcase_add_test(tc, test_broker_ioctl);
	tcase_add_test(tc, test_broker_setns);
	tcase_add_test(tc, test_broker_mknod);
	tcase_add_test(tc, test_clone3_enosys);
#if !CRASHCART_AUDIT_WRITE
	tcase_add_test(tc, test_broker_kills_libmount);
#endif
	suite_add_tcase(s, tc);

	tc = tcase_create("worker");
	tcase_add_test_raise_signal(tc, test_worker_kills_unlisted, SIGSYS);
	tcase_add_test(tc, test_worker);
	suite_add_tcase(s, tc);

	tc = tcase_create("tool");
	tcase_add_test(tc, test_tool_refuses);
	tcase_add_test(tc, test_exec_trail_fails_closed);
	tcase_add_test(tc, test_exec_trail_notifies);
	tcase_add_test(tc, test_tool_debugging_works);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(seccomp_suite());
	/* A filter must never reach the runner: every test in its own process. */
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
