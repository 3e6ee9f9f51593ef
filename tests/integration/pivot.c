/* ctpivot NEWROOT PROG [ARG...]: the last step of the microcontainer
 * start-up, run from the host filesystem inside the new namespaces.
 * NEWROOT must be a mount point in a private mount namespace.
 * pivot_root(".", ".") stacks the old root on top of the new one and
 * umount2(".", MNT_DETACH) drops it (pivot_root(2), NOTES), so the
 * container root needs no put_old directory and holds nothing but what
 * the test put there. Then exec PROG, resolved inside the new root. */
#include <stdio.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: ctpivot NEWROOT PROG [ARG...]\n");
		return 2;
	}
	if (chdir(argv[1]) < 0) {
		perror("ctpivot: chdir");
		return 1;
	}
	if (syscall(SYS_pivot_root, ".", ".") < 0) {
		perror("ctpivot: pivot_root");
		return 1;
	}
	if (umount2(".", MNT_DETACH) < 0) {
		perror("ctpivot: umount2 old root");
		return 1;
	}
	if (chdir("/") < 0) {
		perror("ctpivot: chdir /");
		return 1;
	}
	execv(argv[2], argv + 2);
	perror("ctpivot: execv");
	return 127;
}
