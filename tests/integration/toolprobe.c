/* What the tool's process inherited and may do, seen from inside: the
 * integration suite puts this static binary into its test image as
 * /dev/crashcart/bin/toolprobe and runs it as the tool (and, for a control,
 * the same binary in the same container without crashcart).
 *   toolprobe fds          "fds 0 1 2": every open descriptor
 *   toolprobe signals      "ignored - caught - blocked -": signals not at
 *                          their default disposition, and the mask
 *   toolprobe userns       "unshare(CLONE_NEWUSER) native=ok|EPERM|... i386=..."
 *                          natively and through int 0x80 (x86_64)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *errname(int e)
{
	switch (e) {
	case 0: return "ok";
	case EPERM: return "EPERM";
	case ENOSYS: return "ENOSYS";
	case EINVAL: return "EINVAL";
	case EACCES: return "EACCES";
	case ENOSPC: return "ENOSPC";
	default: return "other";
	}
}

/* unshare(CLONE_NEWUSER) in a child (the namespace is the child's only):
 * errno, 0 for success, -SIG if it was killed */
static int try_userns(int i386)
{
	int st;
	pid_t p = fork();
	if (p == 0) {
		long r;
#if defined(__x86_64__)
		if (i386) {
			/* i386 unshare is 310 */
			__asm__ volatile("int $0x80" : "=a"(r) : "a"(310L), "b"((long)CLONE_NEWUSER)
					 : "memory", "cc", "r8", "r9", "r10", "r11");
			r = (int)r;
			_exit(r < 0 ? (int)-r : 0);
		}
#else
		(void)i386;
#endif
		r = syscall(SYS_unshare, CLONE_NEWUSER);
		_exit(r < 0 ? errno : 0);
	}
	if (p < 0 || waitpid(p, &st, 0) != p)
		return -1;
	return WIFSIGNALED(st) ? -WTERMSIG(st) : WEXITSTATUS(st);
}

static void print_userns(const char *abi, int r)
{
	if (r < 0)
		printf(" %s=killed:%d", abi, -r);
	else
		printf(" %s=%s", abi, errname(r));
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "fds") == 0) {
		printf("fds");
		for (int fd = 0; fd < 65536; fd++)
			if (fcntl(fd, F_GETFD) >= 0)
				printf(" %d", fd);
		printf("\n");
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "signals") == 0) {
		char ign[512] = "", cgt[512] = "", blk[512] = "";
		sigset_t mask;
		sigprocmask(SIG_BLOCK, NULL, &mask);
		for (int s = 1; s < NSIG; s++) {
			struct sigaction sa;
			char n[8];
			snprintf(n, sizeof(n), " %d", s);
			if (sigismember(&mask, s) == 1)
				strcat(blk, n);
			if (sigaction(s, NULL, &sa) < 0)
				continue; /* 32, 33: the C library's own */
			if (sa.sa_handler == SIG_IGN)
				strcat(ign, n);
			else if (sa.sa_handler != SIG_DFL)
				strcat(cgt, n);
		}
		printf("ignored%s caught%s blocked%s\n", *ign ? ign : " -", *cgt ? cgt : " -", *blk ? blk : " -");
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "userns") == 0) {
		printf("unshare(CLONE_NEWUSER)");
		print_userns("native", try_userns(0));
#if defined(__x86_64__)
		print_userns("i386", try_userns(1));
#endif
		printf("\n");
		return 0;
	}
	fprintf(stderr, "usage: toolprobe fds|signals|userns\n");
	return 2;
}
