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

#include "tracee.h"

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: mknodinj PID NODE MAJOR MINOR\n");
		return 2;
	}
	pid_t pid = atoi(argv[1]);
	const char *node = argv[2];
	dev_t dev = makedev(atoi(argv[3]), atoi(argv[4]));
	int r0 = tracee_attach(pid, "mknodinj");
	if (r0)
		return r0;
	unsigned long buf = tracee_scratch();
	tracee_poke(buf, node, strlen(node) + 1);
	(void)tracee_call(SYS_unlinkat, AT_FDCWD, (long)buf, 0, 0);
	long r = tracee_call(SYS_mknodat, AT_FDCWD, (long)buf, S_IFBLK | 0600, (long)dev);
	printf("mknodinj: PID %d makes %s: %s\n", (int)pid, node, res(r));
	if (r == 0)
		printf("mknodinj: chmod 0666: %s\n", res(tracee_call(SYS_fchmodat, AT_FDCWD, (long)buf, 0666, 0)));
	tracee_detach();
	return r == 0 ? 0 : 1;
}
