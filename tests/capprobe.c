/* The kernel operations the broker depends on, one at a time, for the
 * integration test that proves each of the broker's capabilities is needed
 * by the kernel itself (not merely checked by the broker): run as the
 * operator with a chosen set of ambient capabilities (setpriv), it prints
 * "ok" or the errno name of the first failing call and exits 0 / 1.
 *
 *   capprobe mntns PID    setns(pidfd, CLONE_NEWNS)     SYS_ADMIN SYS_CHROOT SYS_PTRACE
 *   capprobe mkdir PID    a plain mkdir in the container's /dev: needs
 *                         DAC_OVERRIDE, which the broker does not hold, so
 *                         it must fail (EACCES) with the broker's four
 *   capprobe mkdir-idmap PID
 *                         what the broker does instead (src/broker/idmap.c):
 *                         setns into the container's mount namespace, an
 *                         idmapped clone of its /dev (a user namespace that
 *                         maps 0 to the caller), mkdir through it; checks the
 *                         directory is root-owned in the container's /dev,
 *                         removes it the same way     SYS_ADMIN SYS_CHROOT SYS_PTRACE
 *   capprobe mknod        a loop node in a private tmpfs  SYS_ADMIN MKNOD */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static int failed(const char *what)
{
	printf("%s: %s\n", what, strerrorname_np(errno));
	return 1;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	(void)close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* A user namespace mapping 0 to us, as the broker makes it at start-up. */
static int make_userns(void)
{
	int go[2], ready[2];
	char c, path[64], map[64];
	if (pipe(go) < 0 || pipe(ready) < 0)
		return -1;
	pid_t child = fork();
	if (child == 0) {
		(void)close(go[1]);
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		(void)!write(ready[1], "x", 1);
		(void)!read(go[0], &c, 1);
		_exit(0);
	}
	(void)close(go[0]);
	if (child < 0 || read(ready[0], &c, 1) != 1)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/setgroups", child);
	if (write_file(path, "deny") < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/uid_map", child);
	snprintf(map, sizeof(map), "0 %u 1\n", getuid());
	if (write_file(path, map) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/gid_map", child);
	snprintf(map, sizeof(map), "0 %u 1\n", getgid());
	if (write_file(path, map) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", child);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int e = errno;
	(void)close(go[1]);
	(void)waitpid(child, NULL, 0);
	errno = e;
	return fd;
}

static int mkdir_idmap(const char *pid)
{
	struct stat st;
	int userns = make_userns();
	if (userns < 0)
		return failed("userns");
	int pidfd = (int)syscall(SYS_pidfd_open, atoi(pid), 0);
	if (pidfd < 0)
		return failed("pidfd_open");
	if (setns(pidfd, CLONE_NEWNS) < 0)
		return failed("setns");
	int dev = open("/dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dev < 0)
		return failed("open /dev");
	int tree = (int)syscall(SYS_open_tree, dev, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0)
		return failed("open_tree");
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns };
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return failed("mount_setattr");
	if (mkdirat(tree, "crashcart-capprobe", 0755) < 0)
		return failed("mkdir");
	/* in the container's own /dev (not only in the clone), owned by 0:0 */
	if (fstatat(dev, "crashcart-capprobe", &st, AT_SYMLINK_NOFOLLOW) < 0)
		return failed("stat");
	if (st.st_uid != 0 || st.st_gid != 0) {
		printf("mkdir: owned by %u:%u, not 0:0\n", st.st_uid, st.st_gid);
		return 1;
	}
	if (unlinkat(dev, "crashcart-capprobe", AT_REMOVEDIR) == 0) {
		printf("rmdir without the idmapped clone succeeded\n");
		return 1;
	}
	if (unlinkat(tree, "crashcart-capprobe", AT_REMOVEDIR) < 0)
		return failed("rmdir");
	return 0;
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
	} else if (argc == 3 && strcmp(argv[1], "mkdir-idmap") == 0) {
		if (mkdir_idmap(argv[2]) != 0)
			return 1;
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
		fprintf(stderr, "usage: capprobe mntns PID | mkdir PID | mkdir-idmap PID | mknod\n");
		return 2;
	}
	printf("ok\n");
	return 0;
}
