/* The kernel operations the broker depends on, one at a time, for the
 * integration test that proves each of the broker's capabilities is needed
 * by the kernel itself (not merely checked by the broker): run as the
 * operator with a chosen set of ambient capabilities (setpriv), it prints
 * "ok" or the errno name of the first failing call and exits 0 / 1.
 *
 *   capprobe mntns PID    setns(pidfd, CLONE_NEWNS)     SYS_ADMIN SYS_CHROOT SYS_PTRACE
 *   capprobe mkdir PID    mkdir in the container's /dev   SYS_PTRACE DAC_OVERRIDE
 *   capprobe mknod        a loop node in a private tmpfs  SYS_ADMIN MKNOD */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int failed(const char *what)
{
	printf("%s: %s\n", what, strerrorname_np(errno));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "mntns") == 0) {
		int fd = (int)syscall(SYS_pidfd_open, atoi(argv[2]), 0);
		if (fd < 0)
			return failed("pidfd_open");
		if (setns(fd, CLONE_NEWNS) < 0)
			return failed("setns");
	} else if (argc == 3 && strcmp(argv[1], "mkdir") == 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%s/root/dev", argv[2]);
		int dev = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dev < 0)
			return failed("open root/dev");
		if (mkdirat(dev, "crashcart-capprobe", 0755) < 0)
			return failed("mkdir");
		if (unlinkat(dev, "crashcart-capprobe", AT_REMOVEDIR) < 0)
			return failed("rmdir");
	} else if (argc == 2 && strcmp(argv[1], "mknod") == 0) {
		int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
		if (fs < 0)
			return failed("fsopen");
		if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
			return failed("fsconfig");
		int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
		if (mnt < 0)
			return failed("fsmount");
		if (mknodat(mnt, "loop0", S_IFBLK | 0600, makedev(7, 0)) < 0)
			return failed("mknod");
	} else {
		fprintf(stderr, "usage: capprobe mntns PID | mkdir PID | mknod\n");
		return 2;
	}
	printf("ok\n");
	return 0;
}
