#define _GNU_SOURCE
/* The target of the profile tests (tests-profiles.sh): copied into a
 * microcontainer as its init (/sleeper, see ct_start). As PID 1 it takes
 * the uid in /uid if there is one (gid and group the same; like a runtime
 * that starts the container's process as a user), then forks one worker and
 * reaps. The worker re-executes itself so that it is dumpable as that user
 * ("UID nodump" in /uid: it then makes itself not dumpable, as a process
 * that changed its ids is), with CC_VICTIM in its environment, listens on
 * TCP port 7777 and calls cc_tick() ten times a second: what gdb breaks on,
 * strace sees (nanosleep), ss and lsof show and /proc/PID/environ holds.
 * cc_marker is what gdb reads from its memory. */
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

volatile unsigned long cc_marker = 0x5eedc0deUL;
volatile unsigned long cc_ticks;

__attribute__((noinline, used)) void cc_tick(void)
{
	cc_ticks++;
	__asm__ volatile("" ::: "memory");
}

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

static int worker(bool nodump)
{
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(7777), .sin_addr.s_addr = htonl(INADDR_ANY) };
	if (nodump && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		perror("victim: PR_SET_DUMPABLE");
		return 1;
	}
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0) {
		perror("victim: listen");
		return 1;
	}
	for (;;) {
		struct timespec t = { 0, 100 * 1000 * 1000 };
		cc_tick();
		nanosleep(&t, NULL);
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	if (argc > 1 && strcmp(argv[1], "run") == 0)
		return worker(argc > 2 && strcmp(argv[2], "nodump") == 0);

	FILE *f = fopen("/uid", "r");
	unsigned id;
	char flag[16] = "";
	if (f && fscanf(f, "%u %15s", &id, flag) >= 1) {
		gid_t g = id;
		if (setgroups(1, &g) < 0 || setresgid(id, id, id) < 0 || setresuid(id, id, id) < 0) {
			perror("victim: becoming the user");
			return 1;
		}
	}
	if (f)
		fclose(f);
	pid_t w = fork();
	if (w == 0) {
		char *av[] = { "/sleeper", "run", flag[0] ? flag : NULL, NULL };
		char *ev[] = { "CC_VICTIM=environ-of-the-worker", NULL };
		execve("/sleeper", av, ev);
		_exit(127);
	}
	for (;;)
		if (wait(NULL) < 0)
			pause();
}
