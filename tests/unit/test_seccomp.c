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
#include <sys/mount.h>
#include <linux/mount.h>
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
#include <linux/perf_event.h>
#include <linux/seccomp.h>
#include <dirent.h>
#include <libmount/libmount.h>
#include <grp.h>
#include <libseccomp.h> /* the oracle filter below, names to numbers */

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
	static const enum cc_filter all[] = { CC_FILTER_WORKER, CC_FILTER_BROKER, CC_FILTER_TOOL, CC_FILTER_TOOL_PTRACE };
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		cc_error err = { 0 };
		int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		ck_assert_int_ge(fd, 0);
		ck_assert_msg(cc_seccomp_export_pfc(all[i], fd, &err) == 0, "%s", err.msg);
		close(fd);
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
	static const enum cc_filter all[] = { CC_FILTER_WORKER, CC_FILTER_BROKER, CC_FILTER_TOOL, CC_FILTER_TOOL_PTRACE,
					      CC_FILTER_TRAIL };
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

/* ---- the counts SECURITY.md states ---- */

/* The number in the last cell of SECURITY.md's filter table row for
 * `filter` ("| tool | ... | 49 refused with EPERM |"); for the broker
 * built with -Daudit_write=true, the one in "(66 with ...)". */
static int doc_count(const char *filter, bool audit_write)
{
	char line[1024], head[64];
	FILE *f = fopen(CC_SOURCE_ROOT "/SECURITY.md", "r");
	int n = -1;

	ck_assert_msg(f != NULL, "cannot open %s/SECURITY.md", CC_SOURCE_ROOT);
	snprintf(head, sizeof(head), "| %s | ", filter);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, head, strlen(head)) == 0) {
			char *end = strrchr(line, '|');
			*end = '\0';
			char *cell = strrchr(line, '|') + 1;
			char *alt = strchr(cell, '(');
			n = (int)strtol(audit_write && alt ? alt + 1 : cell, NULL, 10);
			break;
		}
	fclose(f);
	ck_assert_msg(n > 0, "SECURITY.md has no filter table row for %s", filter);
	return n;
}

START_TEST(test_counts_are_documented)
{
	ck_assert_int_eq(cc_seccomp_count(CC_FILTER_WORKER), doc_count("worker", false));
	ck_assert_int_eq(cc_seccomp_count(CC_FILTER_BROKER), doc_count("broker", CRASHCART_AUDIT_WRITE));
	/* the tool's: "N refused with EPERM" (clone3's ENOSYS is not counted);
	 * test_tool_refuses_every_listed_call counts those from the list */
}
END_TEST

/* ---- every call the tool's list refuses, in every ABI it exists in ----
 *
 * The oracle: under a second filter that answers this one call with
 * SECCOMP_RET_TRACE, and no tracer, the kernel returns ENOSYS without
 * running it. RET_ERRNO takes precedence over RET_TRACE, so with the tool's
 * filter as well the call must fail with EPERM, and without it (the control)
 * with ENOSYS: the EPERM is the tool filter's, not the kernel's (which would
 * say EPERM for most of these to an unprivileged caller anyway), and no
 * call ever reaches the kernel, whatever its arguments. The child also
 * drops to uid 65534 first, in case an oracle ever let a call through. */

enum abi { ABI_NATIVE, ABI_I386 };
static const char *const abi_name[] = { "native", "i386" };

#if defined(__x86_64__)
/* A call through the i386 ABI from this 64-bit process. */
static long int80(long nr, const long a[6])
{
	long r;
	__asm__ volatile("int $0x80"
			 : "=a"(r)
			 : "a"(nr), "b"(a[0]), "c"(a[1]), "d"(a[2]), "S"(a[3]), "D"(a[4])
			 : "memory", "cc", "r8", "r9", "r10", "r11");
	return (int)r; /* eax, sign-extended: -errno */
}
#endif

static int abi_nr(const char *name, enum abi abi)
{
#if defined(__x86_64__)
	if (abi == ABI_I386)
		return seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, name);
#endif
	return abi == ABI_NATIVE ? seccomp_syscall_resolve_name_arch(SCMP_ARCH_NATIVE, name) : -1;
}

/* Makes the call in a child (oracle, then the tool's filter if asked);
 * returns the errno it failed with, 0 for success, or -1 - signal. */
static int probe(const char *name, enum abi abi, const long a[6], bool oracle, bool tool)
{
	int nr = abi_nr(name, abi), status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		cc_error err;
		if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
				       setresuid(65534, 65534, 65534) < 0))
			_exit(LOAD_FAILED);
		if (oracle) {
			scmp_filter_ctx o = seccomp_init(SCMP_ACT_ALLOW);
			if (!o)
				_exit(LOAD_FAILED);
#if defined(__x86_64__)
			if (seccomp_arch_add(o, SCMP_ARCH_X86) < 0)
				_exit(LOAD_FAILED);
#endif
			if (seccomp_rule_add(o, SCMP_ACT_TRACE(0), seccomp_syscall_resolve_name(name), 0) < 0 ||
			    seccomp_load(o) < 0)
				_exit(LOAD_FAILED);
		}
		if (tool && cc_seccomp_load(CC_FILTER_TOOL, &err) < 0)
			_exit(LOAD_FAILED);
		long r;
#if defined(__x86_64__)
		if (abi == ABI_I386) {
			r = int80(nr, a);
			_exit(r < 0 ? (int)-r : 0);
		}
#endif
		r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		_exit(r < 0 ? errno : 0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		return -1 - WTERMSIG(status);
	ck_assert_msg(WEXITSTATUS(status) != LOAD_FAILED, "%s (%s): a filter did not load", name, abi_name[abi]);
	return WEXITSTATUS(status);
}

/* The symbols the list's argument conditions use. A new one is an error
 * here until it is added: the test must call with a matching argument. */
static unsigned long long list_symbol(const char *sym)
{
	static const struct { const char *name; unsigned long long v; } syms[] = {
		{ "CLONE_NEWUSER", CLONE_NEWUSER }, { "CLONE_NEWNET", CLONE_NEWNET }, { "CLONE_NEWNS", CLONE_NEWNS },
		{ "CLONE_NEWPID", CLONE_NEWPID },   { "CLONE_NEWUTS", CLONE_NEWUTS }, { "CLONE_NEWIPC", CLONE_NEWIPC },
		{ "CLONE_NEWCGROUP", CLONE_NEWCGROUP }, { "TIOCSTI", TIOCSTI },   { "TIOCLINUX", TIOCLINUX },
	};
	for (size_t i = 0; i < ARRAY_SIZE(syms); i++)
		if (strcmp(sym, syms[i].name) == 0)
			return syms[i].v;
	ck_abort_msg("policy/seccomp-tool.list uses %s: teach test_seccomp.c's list_symbol()", sym);
	return 0;
}

START_TEST(test_tool_refuses_every_listed_call)
{
	char line[512], names[128][32];
	size_t nnames = 0;
	int tested = 0, neperm = 0;
	FILE *f = fopen(CC_SOURCE_ROOT "/policy/seccomp-tool.list", "r");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		char name[32] = "", cond[128] = "", *hash = strchr(line, '#');
		bool counted = false;
		long a[6] = { 0 }, other[6] = { 0 };
		int arg = -1, want = EPERM, tested_here = 0;

		if (hash)
			*hash = '\0';
		if (line[0] == '%' || sscanf(line, "%31s %127s", name, cond) < 1)
			continue;
		if (strcmp(cond, "->") == 0) {
			char e[32] = "";
			ck_assert_int_eq(sscanf(line, "%*s -> %31s", e), 1);
			ck_assert_str_eq(e, "ENOSYS"); /* the only one today */
			want = ENOSYS;
		} else if (cond[0] == 'a') {
			/* aN==SYM or aN&SYM==SYM: a matching call, and one that is not */
			char m[64] = "", v[64] = "";
			arg = cond[1] - '0';
			if (sscanf(cond + 2, "&%63[^=]==%63s", m, v) != 2)
				ck_assert_int_eq(sscanf(cond + 2, "==%63s", v), 1);
			a[arg] = (long)list_symbol(v);
			other[arg] = (long)(list_symbol(v) ^ (m[0] ? list_symbol(m) : 0x1));
		}
		bool dup = false;
		for (size_t i = 0; i < nnames; i++)
			dup |= strcmp(names[i], name) == 0;
		if (!dup) {
			ck_assert_uint_lt(nnames, ARRAY_SIZE(names));
			strcpy(names[nnames++], name);
			counted = want == EPERM;
		}
		neperm += counted;
		for (int abi = ABI_NATIVE; abi <= ABI_I386; abi++) {
			if (abi_nr(name, abi) < 0)
				continue; /* not in this ABI (vm86 on x86_64, umount ...) */
			if (want != EPERM) {
				/* its own errno (clone3 -> ENOSYS, which the oracle would
				 * give too): against the call without any filter, whose
				 * arguments (size 0) make the kernel refuse it (EINVAL) */
				ck_assert_str_eq(name, "clone3");
				ck_assert_int_eq(probe(name, abi, a, false, true), want);
				ck_assert_int_eq(probe(name, abi, a, false, false), EINVAL);
			} else {
				int with = probe(name, abi, a, true, true), without = probe(name, abi, a, true, false);
				ck_assert_msg(with == EPERM, "%s (%s ABI): under the tool's filter %s %d, want EPERM",
					      name, abi_name[abi], with < 0 ? "killed by signal" : "errno", with < 0 ? -1 - with : with);
				ck_assert_msg(without == ENOSYS, "%s (%s ABI): the control (oracle only) gave %d, want ENOSYS",
					      name, abi_name[abi], without);
				if (arg >= 0) /* the condition matters: another value passes */
					ck_assert_msg(probe(name, abi, other, true, true) == ENOSYS,
						      "%s (%s ABI): refused with a%d not matching too", name, abi_name[abi], arg);
			}
			tested_here++;
		}
		ck_assert_msg(tested_here > 0, "%s exists in no ABI tested here", name);
		tested += tested_here;
	}
	fclose(f);
	/* every name of the list, the very list the filter is built from */
	ck_assert_int_eq((int)nnames, cc_seccomp_count(CC_FILTER_TOOL));
	ck_assert_int_eq(neperm, doc_count("tool", false)); /* SECURITY.md's count */
	fprintf(stderr, "tool filter: %zu names, %d (name, ABI) calls refused as listed\n", nnames, tested);
}
END_TEST

/* ---- the compat ABI in the allowlists: a kill, even for a listed call ---- */

#if defined(__x86_64__)
static int getpid_i386(void)
{
	static const long a[6] = { 0 };
	(void)int80(20, a); /* getpid in the i386 ABI */
	return UNEXPECTED;
}

static int getpid_native(void)
{
	return getpid() > 0 ? OK : UNEXPECTED;
}

START_TEST(test_compat_abi_killed)
{
	/* the control: the same call, unfiltered, works through int 0x80 */
	pid_t pid = fork();
	int status;
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		static const long a[6] = { 0 };
		_exit(int80(20, a) == getpid() ? OK : UNEXPECTED);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	assert_exited_ok(status);
	assert_exited_ok(run_filtered(CC_FILTER_BROKER, getpid_native));
	assert_sigsys(run_filtered(CC_FILTER_BROKER, getpid_i386));
	assert_exited_ok(run_filtered(CC_FILTER_WORKER, getpid_native));
	assert_sigsys(run_filtered(CC_FILTER_WORKER, getpid_i386));
}
END_TEST
#endif

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

/* ---- the broker's argument filters: the one allowed form passes (the
 * kernel then refuses the bad fd or path), every other form is a kill ---- */

static int broker_ioctl_loop_ctl(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return fd >= 0 && expect_errno(ioctl(fd, LOOP_CTL_GET_FREE), ENOTTY) == OK ? OK : UNEXPECTED;
}

static int broker_ioctl_loop_set_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	(void)ioctl(fd, LOOP_SET_FD, fd); /* the old way to bind a loop device */
	return UNEXPECTED;
}

static int broker_ioctl_loop_set_status(void)
{
	struct loop_info64 li;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	memset(&li, 0, sizeof(li));
	(void)ioctl(fd, LOOP_SET_STATUS64, &li); /* could clear read-only/autoclear */
	return UNEXPECTED;
}

START_TEST(test_broker_ioctl_loop_requests)
{
	assert_exited_ok(run_filtered(CC_FILTER_BROKER, broker_ioctl_loop_ctl));
	assert_exited_ok(run_filtered(CC_FILTER_BROKER, broker_ioctl_loop));
	assert_sigsys(run_filtered(CC_FILTER_BROKER, broker_ioctl_loop_set_fd));
	assert_sigsys(run_filtered(CC_FILTER_BROKER, broker_ioctl_loop_set_status));
}
END_TEST

static int broker_fsmount_image(void)
{
	return expect_errno(syscall(SYS_fsmount, -1, FSMOUNT_CLOEXEC,
				    MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV), EBADF);
}

static int broker_fsmount_tmpfs(void)
{
	return expect_errno(syscall(SYS_fsmount, -1, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSUID), EBADF);
}

static int broker_fsmount_devices(void)
{
	(void)syscall(SYS_fsmount, -1, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID); /* no NODEV */
	return UNEXPECTED;
}

static int broker_fsmount_setuid(void)
{
	(void)syscall(SYS_fsmount, -1, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV); /* no NOSUID */
	return UNEXPECTED;
}

static int broker_fsmount_rw(void)
{
	(void)syscall(SYS_fsmount, -1, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV); /* writable */
	return UNEXPECTED;
}

static int broker_mount(void)
{
	(void)syscall(SYS_mount, "none", "/nonexistent-crashcart-dir", "tmpfs", 0, NULL);
	return UNEXPECTED;
}

START_TEST(test_broker_fsmount_and_mount)
{
	assert_exited_ok(run_filtered(CC_FILTER_BROKER, broker_fsmount_image));
	assert_exited_ok(run_filtered(CC_FILTER_BROKER, broker_fsmount_tmpfs));
	assert_sigsys(run_filtered(CC_FILTER_BROKER, broker_fsmount_devices));
	assert_sigsys(run_filtered(CC_FILTER_BROKER, broker_fsmount_setuid));
	assert_sigsys(run_filtered(CC_FILTER_BROKER, broker_fsmount_rw));
	assert_sigsys(run_filtered(CC_FILTER_BROKER, broker_mount));
}
END_TEST

static int broker_move_mount_fds(void)
{
	return expect_errno(syscall(SYS_move_mount, -1, "", -1, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH),
			    EBADF);
}

static int broker_move_mount_to_path(void)
{
	/* onto a path: resolved in whatever namespace, symlinks and all */
	(void)syscall(SYS_move_mount, -1, "", AT_FDCWD, "/nonexistent-crashcart-dir", MOVE_MOUNT_F_EMPTY_PATH);
	return UNEXPECTED;
}

static int broker_move_mount_from_path(void)
{
	(void)syscall(SYS_move_mount, AT_FDCWD, "/nonexistent-crashcart-dir", -1, "", MOVE_MOUNT_T_EMPTY_PATH);
	return UNEXPECTED;
}

START_TEST(test_broker_move_mount)
{
	assert_exited_ok(run_filtered(CC_FILTER_BROKER, broker_move_mount_fds));
	assert_sigsys(run_filtered(CC_FILTER_BROKER, broker_move_mount_to_path));
	assert_sigsys(run_filtered(CC_FILTER_BROKER, broker_move_mount_from_path));
}
END_TEST

static int broker_umount_nofollow(void)
{
	if (expect_errno(umount2("/nonexistent-crashcart-dir", UMOUNT_NOFOLLOW), ENOENT) != OK)
		return 1;
	return expect_errno(umount2("/nonexistent-crashcart-dir", UMOUNT_NOFOLLOW | MNT_DETACH), ENOENT);
}

static int broker_umount_follow(void)
{
	(void)umount2("/nonexistent-crashcart-dir", 0); /* follows a planted symlink */
	return UNEXPECTED;
}

static int broker_umount_detach_follow(void)
{
	(void)umount2("/nonexistent-crashcart-dir", MNT_DETACH);
	return UNEXPECTED;
}

static int broker_umount_force(void)
{
	(void)umount2("/nonexistent-crashcart-dir", UMOUNT_NOFOLLOW | MNT_FORCE);
	return UNEXPECTED;
}

START_TEST(test_broker_umount2)
{
	assert_exited_ok(run_filtered(CC_FILTER_BROKER, broker_umount_nofollow));
	assert_sigsys(run_filtered(CC_FILTER_BROKER, broker_umount_follow));
	assert_sigsys(run_filtered(CC_FILTER_BROKER, broker_umount_detach_follow));
	assert_sigsys(run_filtered(CC_FILTER_BROKER, broker_umount_force));
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

/* A few refusals by hand (the arguments a tool would use); that each EPERM
 * is the filter's and not the kernel's, for every listed call in every ABI,
 * is test_tool_refuses_every_listed_call's to show. */
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
	/* the ptrace profile's variant refuses all of it too (bpf included) */
	assert_exited_ok(run_filtered(CC_FILTER_TOOL_PTRACE, tool_refused));
}
END_TEST

/* perf stat's first call: a task-clock counter on this process, user space
 * only (what perf_event_paranoid 2 lets an unprivileged process have). */
static long perf_task_clock(void)
{
	if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
			       setresuid(65534, 65534, 65534) < 0))
		return -2;
	struct perf_event_attr a = { .type = PERF_TYPE_SOFTWARE, .size = sizeof(a),
				     .config = PERF_COUNT_SW_TASK_CLOCK, .exclude_kernel = 1, .exclude_hv = 1 };
	return syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

static int tool_perf_refused(void)
{
	return expect_errno(perf_task_clock(), EPERM) == OK ? OK : 1;
}

static int tool_perf_allowed(void)
{
	long fd = perf_task_clock();
	uint64_t n = 0;
	for (volatile unsigned long i = 0; i < 10000000UL; i++)
		;
	if (fd < 0)
		return 1;
	if (read((int)fd, &n, sizeof(n)) != (ssize_t)sizeof(n) || n == 0)
		return 2;
	return OK;
}

/* The ptrace profile's filter is the tool's without perf_event_open, and
 * only that: one name fewer, every other refusal kept (test_tool_refuses).
 * As uid 65534 (perf_task_clock): the kernel's own perf_event_paranoid checks apply. */
START_TEST(test_tool_ptrace_allows_perf)
{
	ck_assert_int_eq(cc_seccomp_count(CC_FILTER_TOOL_PTRACE), cc_seccomp_count(CC_FILTER_TOOL) - 1);
	ck_assert_str_eq(cc_seccomp_name(CC_FILTER_TOOL_PTRACE), "tool_ptrace");
	assert_exited_ok(run_filtered(CC_FILTER_TOOL, tool_perf_refused));
	FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
	int paranoid = 99;
	if (f) {
		if (fscanf(f, "%d", &paranoid) != 1)
			paranoid = 99;
		fclose(f);
	}
	if (paranoid > 2) /* Debian's 3: no perf for the unprivileged at all */
		return;
	assert_exited_ok(run_filtered(CC_FILTER_TOOL_PTRACE, tool_perf_allowed));
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
	tcase_add_test(tc, test_counts_are_documented);
#if defined(__x86_64__)
	tcase_add_test(tc, test_compat_abi_killed);
#endif
	suite_add_tcase(s, tc);

	tc = tcase_create("broker");
	tcase_add_test_raise_signal(tc, test_broker_kills_unlisted, SIGSYS);
	tcase_add_test(tc, test_broker_allows_listed);
	tcase_add_test(tc, test_broker_ioctl);
	tcase_add_test(tc, test_broker_setns);
	tcase_add_test(tc, test_broker_mknod);
	tcase_add_test(tc, test_broker_ioctl_loop_requests);
	tcase_add_test(tc, test_broker_fsmount_and_mount);
	tcase_add_test(tc, test_broker_move_mount);
	tcase_add_test(tc, test_broker_umount2);
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
	tcase_add_test(tc, test_tool_ptrace_allows_perf);
	tcase_add_test(tc, test_tool_refuses_every_listed_call);
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
