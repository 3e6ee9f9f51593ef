/* Loop devices without CAP_DAC_OVERRIDE on /dev: /dev/loop-control and
 * /dev/loopN are root-owned 0600/0660, so the broker makes its own nodes
 * (CAP_MKNOD) in a private tmpfs that is reachable only through an fd (a
 * detached mount: no path, no other process sees it) and opens those.
 *
 * Autoclear: the loop device frees itself when its last opener goes away.
 * We hold our fd open until the mount holds the device, so it can neither
 * vanish under us nor be rebound to another file between check and mount. */
#include "broker.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "caps.h"

#define LOOP_MAJOR 7
#define LOOP_CONTROL_MAJOR 10
#define LOOP_CONTROL_MINOR 237

int cc_devdir_open(cc_error *err)
{
	_cleanup_close_ int fsfd = -1;
	int r, mfd;

	WITH_CAPS(CC_CAP(CAP_SYS_ADMIN), fsfd = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC));
	if (fsfd < 0 && errno == ENOSYS)
		return cc_fail(err, EOPNOTSUPP, "the kernel lacks the new mount API (fsopen: %s; Linux >= 5.2, and a "
			       "seccomp profile that allows it)", strerror(ENOSYS));
	if (fsfd < 0)
		return cc_failx(err, errno, "cannot create a private tmpfs");
	WITH_CAPS(CC_CAP(CAP_SYS_ADMIN), {
		r = (int)syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "mode", "0700", 0);
		if (r == 0)
			r = (int)syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "size", "64k", 0);
		if (r == 0)
			r = (int)syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
		if (r == 0)
			r = mfd = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSUID);
	});
	if (r < 0)
		return cc_failx(err, errno, "cannot create a private tmpfs");
	return mfd;
}

/* Make (or remake) a node in the private dir and open it. */
static int open_node(int devdir, const char *name, mode_t type, dev_t dev, int flags)
{
	int r, fd;

	(void)unlinkat(devdir, name, 0);
	WITH_CAPS(CC_CAP(CAP_MKNOD), r = mknodat(devdir, name, type | 0600, dev));
	if (r < 0)
		return -errno;
	fd = openat(devdir, name, flags | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	return fd;
}

static bool status_matches(const struct loop_info64 *li, const struct cc_image *img)
{
	return li->lo_device == img->dev && li->lo_inode == img->ino && li->lo_offset == 0 &&
	       li->lo_sizelimit == 0 && (li->lo_flags & LO_FLAGS_READ_ONLY);
}

/* Opens loopN and checks it is bound read-only to img; returns the fd or
 * a negative errno (-ENXIO: not bound, -ESTALE: bound to something else). */
static int open_if_backs(int devdir, unsigned minor, const struct cc_image *img)
{
	struct loop_info64 li;
	char name[32];
	int fd, r;

	snprintf(name, sizeof(name), "loop%u", minor);
	fd = open_node(devdir, name, S_IFBLK, makedev(LOOP_MAJOR, minor), O_RDONLY);
	if (fd < 0)
		return fd;
	WITH_CAPS(CC_CAP(CAP_SYS_ADMIN), r = ioctl(fd, LOOP_GET_STATUS64, &li));
	if (r < 0) {
		r = -errno;
		(void)close(fd);
		return r;
	}
	if (!status_matches(&li, img)) {
		(void)close(fd);
		return -ESTALE;
	}
	return fd;
}

int cc_loop_backs(int devdir, uint64_t dev, const struct cc_image *img)
{
	if (major(dev) != LOOP_MAJOR)
		return 0;
	int fd = open_if_backs(devdir, minor(dev), img);
	if (fd < 0)
		return 0;
	(void)close(fd);
	return 1;
}

/* A loop device already bound to this image (another container uses it). */
static int find_bound(int devdir, const struct cc_image *img, unsigned *minor)
{
	DIR *d = opendir("/sys/block");
	struct dirent *e;
	int found = -ENOENT;

	if (!d)
		return -ENOENT;
	while ((e = readdir(d))) {
		char path[300], text[32];
		unsigned maj, min;
		if (strncmp(e->d_name, "loop", 4) != 0)
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file", e->d_name);
		if (access(path, F_OK) < 0)
			continue; /* not bound */
		snprintf(path, sizeof(path), "/sys/block/%s/dev", e->d_name);
		if (cc_read_file_at(AT_FDCWD, path, text, sizeof(text)) < 0 ||
		    sscanf(text, "%u:%u", &maj, &min) != 2 || maj != LOOP_MAJOR)
			continue;
		int fd = open_if_backs(devdir, min, img);
		if (fd >= 0) {
			*minor = min;
			found = fd;
			break;
		}
	}
	closedir(d);
	return found;
}

static int attach_new(int devdir, const struct cc_image *img, const char *path, unsigned *minor, cc_error *err)
{
	_cleanup_close_ int ctl = open_node(devdir, "loop-control", S_IFCHR,
					    makedev(LOOP_CONTROL_MAJOR, LOOP_CONTROL_MINOR), O_RDWR);
	if (ctl < 0)
		return cc_fail(err, -ctl, "cannot open loop-control: %s", strerror(-ctl));

	/* LOOP_CTL_GET_FREE and LOOP_CONFIGURE race with other attachers: a
	 * device taken in between answers EBUSY, and we ask again. */
	for (int attempt = 0; attempt < 16; attempt++) {
		struct loop_config cfg;
		char name[32];
		int n, fd, r;

		WITH_CAPS(CC_CAP(CAP_SYS_ADMIN), n = ioctl(ctl, LOOP_CTL_GET_FREE));
		if (n < 0)
			return cc_failx(err, errno, "no free loop device");
		snprintf(name, sizeof(name), "loop%d", n);
		fd = open_node(devdir, name, S_IFBLK, makedev(LOOP_MAJOR, (unsigned)n), O_RDONLY);
		if (fd < 0)
			return cc_fail(err, -fd, "cannot open loop device %d: %s", n, strerror(-fd));
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = (uint32_t)img->fd;
		cfg.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
		snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%s", path);
		WITH_CAPS(CC_CAP(CAP_SYS_ADMIN), r = ioctl(fd, LOOP_CONFIGURE, &cfg));
		if (r == 0) {
			*minor = (unsigned)n;
			return fd;
		}
		r = errno;
		(void)close(fd);
		if (r != EBUSY)
			return cc_failx(err, r, "cannot attach %s to loop%d", path, n);
	}
	return cc_fail(err, EBUSY, "cannot attach %s: loop devices keep being taken", path);
}

int cc_loop_attach(int devdir, const struct cc_image *img, const char *image_path, struct cc_loop *lo, cc_error *err)
{
	struct stat st;
	char host[32];
	int fd;

	memset(lo, 0, sizeof(*lo));
	fd = find_bound(devdir, img, &lo->minor);
	lo->reused = fd >= 0;
	if (fd < 0)
		fd = attach_new(devdir, img, image_path, &lo->minor, err);
	if (fd < 0)
		return fd;
	lo->fd = fd;
	/* The mount source is looked up by path: the host's node when it is the
	 * right device (what mountinfo then shows), else our private one. */
	snprintf(host, sizeof(host), "/dev/loop%u", lo->minor);
	if (stat(host, &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == makedev(LOOP_MAJOR, lo->minor))
		snprintf(lo->source, sizeof(lo->source), "%s", host);
	else
		snprintf(lo->source, sizeof(lo->source), "/proc/self/fd/%d/loop%u", devdir, lo->minor);
	return 0;
}

void cc_loop_release(struct cc_loop *lo)
{
	cc_closep(&lo->fd);
	lo->fd = -1;
}
