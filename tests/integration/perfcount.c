/* What `perf stat -e task-clock -p PID` does first, without the perf binary:
 * the integration suite puts this static binary into a microcontainer and
 * runs it as the tool (tests-profiles.sh, issue 12).
 *   perfcount PID   a task-clock counter on PID (user space only, what
 *                   perf_event_paranoid 2 allows an unprivileged caller),
 *                   read after half a second:
 *                   "perf_event_open pid=PID: ok task-clock=N ns" (exit 0
 *                   if N > 0) or "perf_event_open pid=PID: EPERM" (exit 1)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ESRCH: return "ESRCH";
	case ENOSYS: return "ENOSYS";
	default: return strerror(e);
	}
}

int main(int argc, char **argv)
{
	struct perf_event_attr a = { .type = PERF_TYPE_SOFTWARE, .size = sizeof(a),
				     .config = PERF_COUNT_SW_TASK_CLOCK, .exclude_kernel = 1, .exclude_hv = 1 };
	struct timespec half = { 0, 500000000 };
	uint64_t n = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: perfcount PID\n");
		return 2;
	}
	int pid = atoi(argv[1]);
	long fd = syscall(SYS_perf_event_open, &a, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		printf("perf_event_open pid=%d: %s\n", pid, errname(errno));
		return 1;
	}
	nanosleep(&half, NULL);
	if (read((int)fd, &n, sizeof(n)) != (ssize_t)sizeof(n)) {
		printf("perf_event_open pid=%d: read: %s\n", pid, errname(errno));
		return 1;
	}
	printf("perf_event_open pid=%d: ok task-clock=%llu ns\n", pid, (unsigned long long)n);
	return n > 0 ? 0 : 1;
}
