/* tracee.h: what the suite's ptrace-injecting attackers (devopen.c,
 * mknodinj.c) share: attach to a process stopped in a system call, make it
 * run system calls of ours at its own `syscall` instruction, write into its
 * memory, and leave it as it was. x86_64 only. Each program stays one
 * static binary of the hostile container's own. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>

static pid_t tracee;
static struct user_regs_struct saved;
static unsigned long sc;

/* Attach and find the syscall instruction it stopped at; who prefixes the
 * message. 0, or 3 (the programs' "attach failed" status). */
static int tracee_attach(pid_t pid, const char *who)
{
	int st;
	tracee = pid;
	if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) < 0) {
		printf("%s: attach: %s\n", who, strerror(errno));
		return 3;
	}
	if (waitpid(pid, &st, __WALL) != pid || !WIFSTOPPED(st) || ptrace(PTRACE_GETREGS, pid, NULL, &saved) < 0) {
		printf("%s: attach: no stop\n", who);
		return 3;
	}
	sc = saved.rip - 2; /* stopped in a syscall: `syscall` is just before rip */
	errno = 0;
	long word = ptrace(PTRACE_PEEKTEXT, pid, (void *)sc, NULL);
	if (errno || (word & 0xffff) != 0x050f) {
		printf("%s: no syscall instruction at rip-2\n", who);
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
		return 3;
	}
	return 0;
}

/* one system call in the tracee: its result, or -errno of ptrace */
static long tracee_call(long nr, long a, long b, long c, long d)
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
	if (ptrace(PTRACE_SETREGS, tracee, NULL, &r) < 0 || ptrace(PTRACE_SINGLESTEP, tracee, NULL, NULL) < 0)
		return -errno;
	if (waitpid(tracee, &st, __WALL) != tracee || !WIFSTOPPED(st) || ptrace(PTRACE_GETREGS, tracee, NULL, &r) < 0)
		return -EIO;
	return (long)r.rax;
}

/* n bytes of s into the tracee at `at` */
static void tracee_poke(unsigned long at, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i += sizeof(long)) {
		long w = 0;
		memcpy(&w, s + i, n - i < sizeof(long) ? n - i : sizeof(long));
		(void)ptrace(PTRACE_POKEDATA, tracee, (void *)(at + i), (void *)w);
	}
}

/* scratch space below the red zone of the tracee's stack */
static unsigned long tracee_scratch(void)
{
	return (saved.rsp - 1024) & ~7UL;
}

static void tracee_detach(void)
{
	(void)ptrace(PTRACE_SETREGS, tracee, NULL, &saved);
	(void)ptrace(PTRACE_DETACH, tracee, NULL, NULL);
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
