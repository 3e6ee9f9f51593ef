/* Mounting the image into the container, and taking it out again.
 *
 * The filesystem is created and mounted (detached, held by an fd) in the
 * broker's own mount namespace, where the loop device path is ours; then the
 * broker enters the container's mount namespace and moves that mount onto
 * /dev/crashcart, which it reached with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_SYMLINKS) from the container's root: a symlink the container
 * planted cannot redirect it. No device node is created in the container,
 * and there is no other way: without the new mount API, the broker refuses
 * (the old technique, a block node in the container's /dev mounted by path,
 * let the container swap the node between the two calls).
 *
 * The container's /dev must be the container's own tmpfs: a tmpfs, and not
 * one the host mounts (a host directory or host tmpfs bound onto /dev would
 * otherwise get /dev/crashcart and the state xattr). Its lock is never waited
 * for: the container can hold it. /dev/crashcart is made and removed through
 * an idmapped clone of /dev (idmap.c), not with CAP_DAC_OVERRIDE; looking it
 * up needs only search permission.
 *
 * State that must outlive one broker (was the directory made by us? is the
 * mount persistent, -m, or a session's?) is kept in a trusted.* xattr on the
 * container's /dev, which only CAP_SYS_ADMIN can write. */
#include "broker.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <linux/magic.h>
#include <time.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "caps.h"
#include "config.h"
#include "fault.h"

#define STATE_XATTR "trusted.crashcart"
#define NS_CAPS (CC_CAP(CAP_SYS_ADMIN) | CC_CAP(CAP_SYS_CHROOT) | CC_CAP(CAP_SYS_PTRACE))
#define DEV_WHAT "the container's /dev"
/* The container's /dev lock: held by brokers for the few milliseconds of a
 * mount or unmount. Tried, never waited for (the container can hold it
 * forever): LOCK_TRIES times, LOCK_WAIT_MS apart. */
#define LOCK_TRIES 100
#define LOCK_WAIT_MS 20

struct dir_state {
	bool created;    /* crashcart made /dev/crashcart */
	bool persistent; /* mounted with -m */
	bool known;      /* the xattr was there */
	char session[33]; /* the audit session that mounted it ("" unknown) */
};

/* ---- entering and leaving the container's mount namespace ---- */

static int enter_mntns(const struct cc_pin *p, cc_error *err)
{
	int r;
	/* setns(CLONE_NEWNS) needs SYS_ADMIN and SYS_CHROOT (mntns_install);
	 * through a pidfd of another user's process also SYS_PTRACE. */
	WITH_CAPS(NS_CAPS, r = setns(p->pidfd, CLONE_NEWNS));
	if (r < 0 && errno == ESRCH)
		return cc_fail(err, ESRCH, "PID %d has exited (the container ended?): its mount namespace is gone", p->pid);
	if (r < 0)
		return cc_failx(err, errno, "cannot enter the mount namespace of PID %d", p->pid);
	return 0;
}

static void leave_mntns(int host_mntns_fd)
{
	int r;
	WITH_CAPS(NS_CAPS, r = setns(host_mntns_fd, CLONE_NEWNS));
	if (r < 0) {
		/* Staying in the container's namespace would make every later
		 * path the container's: stop here. */
		fprintf(stderr, "crashcart-broker: cannot return to the host mount namespace\n");
		abort();
	}
}

/* Is the directory `devfd` the container's own tmpfs? Not a tmpfs: a
 * filesystem of the host's (or an image's) bound in. A tmpfs the host mounts:
 * the host's, bound in (the host's /dev/shm, a host directory under /run). */
static int check_dev(int devfd, const struct cc_host_mounts *hm, cc_error *err)
{
	struct statfs sfs;
	struct stat st;

	if (fstatfs(devfd, &sfs) < 0 || fstat(devfd, &st) < 0)
		return cc_failx(err, errno, "cannot inspect " DEV_WHAT);
	if (sfs.f_type != TMPFS_MAGIC)
		return cc_fail(err, EXDEV, DEV_WHAT " is not a tmpfs (filesystem type %#llx): refusing to write to "
			       "a filesystem that may be the host's", (unsigned long long)sfs.f_type);
	if (cc_host_mounts_dev(hm, st.st_dev))
		return cc_fail(err, EXDEV, DEV_WHAT " is a tmpfs that the host mounts (device %u:%u): refusing to "
			       "write to a host filesystem", major(st.st_dev), minor(st.st_dev));
	return 0;
}

/* The container's /dev, reached from its root without following any
 * symlink (a lookup: search permission is all it needs), and checked to be
 * the container's own tmpfs. */
static int open_dev_checked(const struct cc_pin *p, const struct cc_host_mounts *hm, cc_error *err)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	_cleanup_close_ int root = -1, fd = -1;
	int r;

	/* /proc/PID/root: the container's root (also for chroot-ed targets). */
	WITH_CAPS(CC_CAP(CAP_SYS_PTRACE), root = openat(p->procfd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC));
	if (root < 0)
		return cc_failx(err, errno, "cannot open the root of PID %d", p->pid);
	fd = (int)syscall(SYS_openat2, root, "dev", &how, sizeof(how));
	if (fd < 0) {
		if (errno == ELOOP)
			return cc_fail(err, ELOOP, DEV_WHAT " is a symlink: refusing");
		return cc_failx(err, errno, "cannot open " DEV_WHAT);
	}
	r = check_dev(fd, hm, err);
	if (r < 0)
		return r;
	r = fd;
	fd = -1;
	return r;
}

int cc_mount_dev_open(const struct cc_pin *p, cc_error *err)
{
	__attribute__((cleanup(cc_host_mounts_free))) struct cc_host_mounts hm = { 0 };
	int r = cc_host_mounts_read(&hm, err);
	if (r < 0)
		return r;
	return open_dev_checked(p, &hm, err);
}

/* open_dev_checked, locked (flock, released when the fd closes): two
 * brokers mounting into the same container at once must not both create
 * /dev/crashcart or both mount onto it; the second sees the first's mount
 * and shares it. The container can take the same lock: never block on it. */
static int open_container_dev(const struct cc_pin *p, const struct cc_host_mounts *hm, cc_error *err)
{
	_cleanup_close_ int fd = open_dev_checked(p, hm, err);
	const struct timespec wait = { 0, LOCK_WAIT_MS * 1000000L };

	if (fd < 0)
		return fd;
	for (int i = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; i++) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return cc_failx(err, errno, "cannot lock " DEV_WHAT);
		if (i >= LOCK_TRIES)
			return cc_fail(err, EAGAIN, DEV_WHAT " stays locked by another process (the container, or a "
				       "crashcart session that does not finish): not waiting for it");
		(void)nanosleep(&wait, NULL);
	}
	int r = fd;
	fd = -1;
	return r;
}

static int open_mount_dir(int devfd, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)flags | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	/* a lookup in a 0755 directory: no capability */
	int fd = (int)syscall(SYS_openat2, devfd, CC_MOUNT_DIR, &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

/* ---- the state xattr ---- */

static struct dir_state read_state(int devfd)
{
	struct dir_state s = { 0 };
	char v[128];
	const char *id;
	ssize_t n;

	WITH_CAPS(CC_CAP(CAP_SYS_ADMIN), n = fgetxattr(devfd, STATE_XATTR, v, sizeof(v) - 1));
	if (n <= 0)
		return s;
	v[n] = '\0';
	s.known = true;
	s.created = strstr(v, "created=1") != NULL;
	s.persistent = strstr(v, "persistent=1") != NULL;
	if ((id = strstr(v, " session=")))
		snprintf(s.session, sizeof(s.session), "%.*s", (int)strspn(id + 9, "0123456789abcdef"), id + 9);
	return s;
}

static int write_state(int devfd, const struct dir_state *s)
{
	char v[128];
	int r;

	snprintf(v, sizeof(v), "v1 created=%d persistent=%d session=%s", s->created, s->persistent, s->session);
	WITH_CAPS(CC_CAP(CAP_SYS_ADMIN), r = fsetxattr(devfd, STATE_XATTR, v, strlen(v), 0));
	return r < 0 ? -errno : 0;
}

static void clear_state(int devfd)
{
	WITH_CAPS(CC_CAP(CAP_SYS_ADMIN), (void)fremovexattr(devfd, STATE_XATTR));
}

/* What is at /dev/crashcart: -ENOENT, a plain directory (0), or a mount
 * root (1, with its st_dev). Symlinks and non-directories are refused. */
static int inspect(int devfd, uint64_t *dev, cc_error *err)
{
	struct statx stx;
	int r;

	r = statx(devfd, CC_MOUNT_DIR, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &stx);
	if (r < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return cc_failx(err, errno, "cannot inspect the container's /dev/crashcart");
	}
	if (S_ISLNK(stx.stx_mode))
		return cc_fail(err, ELOOP, "the container's /dev/crashcart is a symlink: refusing to follow it");
	if (!S_ISDIR(stx.stx_mode))
		return cc_fail(err, ENOTDIR, "the container's /dev/crashcart exists and is not a directory");
	*dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	       (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) ? 1 : 0;
}

/* ---- mount ---- */

static int create_detached(const struct cc_image *img, const struct cc_loop *lo, cc_error *err)
{
	_cleanup_close_ int fsfd = -1;
	int r, mfd = -1;
	const char *type = img->fstype;

	WITH_CAPS(CC_CAP(CAP_SYS_ADMIN), fsfd = (int)syscall(SYS_fsopen, type, FSOPEN_CLOEXEC));
	if (fsfd < 0 && errno == ENODEV && strncmp(type, "ext", 3) == 0) {
		type = "ext4"; /* ext2/3 served by the ext4 driver */
		WITH_CAPS(CC_CAP(CAP_SYS_ADMIN), fsfd = (int)syscall(SYS_fsopen, type, FSOPEN_CLOEXEC));
	}
	if (fsfd < 0 && errno == ENOSYS)
		return cc_fail(err, EOPNOTSUPP, "the kernel lacks the new mount API (fsopen: %s; Linux >= 5.2, and a "
			       "seccomp profile that allows it): crashcart does not mount through a device node in the "
			       "container", strerror(ENOSYS));
	if (fsfd < 0)
		return cc_failx(err, errno, "cannot open a %s filesystem context", type);
	WITH_CAPS(CC_CAP(CAP_SYS_ADMIN), {
		r = (int)syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "source", lo->source, 0);
		if (r == 0)
			r = (int)syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_FLAG, "ro", NULL, 0);
		if (r == 0)
			r = (int)syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
		if (r == 0)
			r = mfd = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC,
					       MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	});
	if (r < 0)
		return cc_failx(err, errno, "cannot mount %s from %s", type, lo->source);
	return mfd;
}

static int do_mount(int devfd, int mfd, cc_error *err)
{
	_cleanup_close_ int target = -1;
	int r;

	target = open_mount_dir(devfd, O_PATH | O_NOFOLLOW);
	if (target < 0)
		return cc_fail(err, -target, "cannot open the container's /dev/crashcart: %s", strerror(-target));
	WITH_CAPS(CC_CAP(CAP_SYS_ADMIN),
		  r = (int)syscall(SYS_move_mount, mfd, "", target, "",
				   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
	if (r < 0)
		return cc_failx(err, errno, "cannot move the image onto the container's /dev/crashcart");
	return 0;
}

/* umount2, not lazy, of /dev/crashcart: true if it went, i.e. nothing held
 * it (no session's pinfd, no process's cwd or open file). */
static bool unmount_if_unused(int devfd)
{
	int r;
	if (fchdir(devfd) < 0)
		return false;
	WITH_CAPS(CC_CAP(CAP_SYS_ADMIN), r = umount2(CC_MOUNT_DIR, UMOUNT_NOFOLLOW));
	return r == 0;
}

static int mount_in_ns(const struct cc_pin *p, const struct cc_host_mounts *hm, int devdir,
		       const struct cc_image *img, const struct cc_loop *lo, int mfd, bool persistent,
		       struct cc_mount_state *st, cc_error *err)
{
	_cleanup_close_ int devfd = open_container_dev(p, hm, err);
	struct dir_state ds;
	uint64_t dev = 0;
	int r;

	if (devfd < 0)
		return devfd;
	ds = read_state(devfd);
	r = inspect(devfd, &dev, err);
	if (r == 1 && ds.known && !ds.persistent && major(dev) == 7 && unmount_if_unused(devfd)) {
		/* A session's mount that no session holds (each holds its pinfd
		 * from here, under this lock, until its end): its broker was
		 * killed, or could not record its unmount. Tidied, and said. */
		snprintf(st->tidied, sizeof(st->tidied), "removed a mount of /dev/crashcart left by session %s, "
			 "which ended abnormally", ds.session[0] ? ds.session : "(unknown)");
		r = 0;
	} else if (r == 0 && ds.known && ds.created) {
		/* A directory of ours without its mount: only a broker killed
		 * between mkdir and move_mount, or before its rmdir, leaves one. */
		snprintf(st->tidied, sizeof(st->tidied), "found /dev/crashcart left by session %s, which ended "
			 "abnormally: it goes with this session's mount", ds.session[0] ? ds.session : "(unknown)");
	}
	if (r == 1) {
		/* Already mounted: ours (the same image) is fine, anything else
		 * is not ours to cover. */
		if (!cc_loop_backs(devdir, dev, img))
			return cc_fail(err, EEXIST, "the container's /dev/crashcart is already a mount point of another "
				       "filesystem (unmount it with crashcart -u)");
		st->was_mounted = true;
		if (persistent && !ds.persistent) {
			ds.persistent = true; /* -m over a session's mount: it stays */
			(void)write_state(devfd, &ds);
		}
		st->persistent = ds.known ? ds.persistent : true;
	} else if (r == 0 || r == -ENOENT) {
		/* The state goes first: a broker killed after the mkdir or the
		 * move leaves what the next one needs to tidy it (a session's
		 * mount, a directory crashcart made). */
		struct dir_state old = ds;
		ds = (struct dir_state){ .created = r == -ENOENT || (ds.known && ds.created), .persistent = persistent };
		snprintf(ds.session, sizeof(ds.session), "%s", cc_audit_session());
		ds.known = write_state(devfd, &ds) == 0; /* no xattrs on this /dev: sessions then leave the directory */
		bool made = r == -ENOENT;
		if (made) {
			r = cc_idmap_mkdirat(devfd, CC_MOUNT_DIR, 0755, DEV_WHAT, err);
			if (r < 0) {
				clear_state(devfd);
				return r;
			}
		}
		r = do_mount(devfd, mfd, err);
		if (r == 0)
			cc_fault_point("move_mount");
		if (r < 0) {
			/* as it was: a directory made now goes; one that was there
			 * keeps the state it had (a left one stays ours to tidy) */
			if (made)
				(void)cc_idmap_rmdirat(devfd, CC_MOUNT_DIR, DEV_WHAT, &(cc_error){ 0 });
			if (made || !old.known)
				clear_state(devfd);
			else
				(void)write_state(devfd, &old);
			return r;
		}
		/* Where does /dev/crashcart lead now? It must be our filesystem.
		 * The fd-based move cannot miss, but the root of a user-namespaced
		 * container holds CAP_SYS_ADMIN over its mount namespace and can
		 * mount something over it right after: never use that. */
		if (inspect(devfd, &dev, err) != 1 || major(dev) != 7 || minor(dev) != lo->minor)
			return cc_fail(err, EBUSY, "something was mounted over the container's /dev/crashcart while the "
				       "image was being mounted (the root of a user-namespaced container can): not using it");
		st->was_mounted = false;
		st->persistent = persistent;
	} else {
		return r;
	}
	st->dev = dev;
	/* Hold the mount root: while we do, a concurrent session's
	 * non-lazy unmount fails with EBUSY and our tools stay. */
	st->pinfd = open_mount_dir(devfd, O_PATH);
	if (st->pinfd < 0)
		return cc_fail(err, -st->pinfd, "cannot open the mounted /dev/crashcart: %s", strerror(-st->pinfd));
	return 0;
}

int cc_mount_into(const struct cc_pin *p, int host_mntns_fd, int devdir, const struct cc_image *img,
		  struct cc_loop *lo, bool persistent, struct cc_mount_state *st, cc_error *err)
{
	__attribute__((cleanup(cc_host_mounts_free))) struct cc_host_mounts hm = { 0 };
	_cleanup_close_ int mfd = -1;
	int r;

	memset(st, 0, sizeof(*st));
	st->pinfd = -1;
	/* the host's mounts, read in the host's namespace */
	r = cc_host_mounts_read(&hm, err);
	if (r < 0)
		return r;
	mfd = create_detached(img, lo, err);
	if (mfd < 0)
		return mfd;
	cc_fault_point("fsmount");
	r = enter_mntns(p, err);
	if (r < 0)
		return r;
	r = mount_in_ns(p, &hm, devdir, img, lo, mfd, persistent, st, err);
	leave_mntns(host_mntns_fd);
	return r;
}

/* ---- unmount ---- */

static int unmount_in_ns(const struct cc_pin *p, const struct cc_host_mounts *hm, bool explicit_request,
			 bool force, bool *unmounted, char *tidied, size_t tidied_len, cc_error *err)
{
	_cleanup_close_ int devfd = open_container_dev(p, hm, err);
	struct dir_state ds;
	uint64_t dev = 0;
	int r;

	if (devfd < 0)
		return devfd;
	ds = read_state(devfd);
	r = inspect(devfd, &dev, err);
	if (r == -ENOENT || r == 0) {
		/* Not mounted. Tidy a directory we made and left behind. */
		if (r == 0 && ds.known && ds.created && explicit_request) {
			if (cc_idmap_rmdirat(devfd, CC_MOUNT_DIR, DEV_WHAT, &(cc_error){ 0 }) == 0)
				snprintf(tidied, tidied_len, "removed /dev/crashcart left by session %s, which ended "
					 "abnormally", ds.session[0] ? ds.session : "(unknown)");
			clear_state(devfd);
		}
		return 0;
	}
	if (r < 0)
		return r;
	if (major(dev) != 7)
		return cc_fail(err, EINVAL, "the container's /dev/crashcart is not a crashcart mount (device %u:%u)",
			       major(dev), minor(dev));
	if (!explicit_request && (!ds.known || ds.persistent))
		return 0; /* -m's mount, or one we cannot tell: not the session's to remove */
	/* Relative to the container's /dev, not following a symlink: what we
	 * inspected is what we unmount. Only --force is lazy: if another
	 * session still uses the tools (its pin makes this EBUSY), a session
	 * end leaves the mount to it and -u refuses, saying so. */
	if (fchdir(devfd) < 0)
		return cc_failx(err, errno, "cannot enter the container's /dev");
	WITH_CAPS(CC_CAP(CAP_SYS_ADMIN),
		  r = umount2(CC_MOUNT_DIR, UMOUNT_NOFOLLOW | (explicit_request && force ? MNT_DETACH : 0)));
	if (r < 0) {
		if (errno == EBUSY && !explicit_request)
			return 0;
		if (errno == EBUSY)
			return cc_fail(err, EBUSY, "/dev/crashcart is in use by another crashcart session "
						   "(or a process in the container): use -u --force to detach it anyway");
		return cc_failx(err, errno, "cannot unmount the container's /dev/crashcart");
	}
	*unmounted = true;
	cc_fault_point("unmount");
	if (ds.created)
		(void)cc_idmap_rmdirat(devfd, CC_MOUNT_DIR, DEV_WHAT, &(cc_error){ 0 });
	clear_state(devfd);
	return 0;
}

int cc_unmount_from(const struct cc_pin *p, int host_mntns_fd, bool explicit_request, bool force, bool *unmounted,
		    char *tidied, size_t tidied_len, cc_error *err)
{
	__attribute__((cleanup(cc_host_mounts_free))) struct cc_host_mounts hm = { 0 };
	int r;

	*unmounted = false;
	tidied[0] = '\0';
	r = cc_host_mounts_read(&hm, err);
	if (r < 0)
		return r;
	r = enter_mntns(p, err);
	if (r < 0)
		return r;
	r = unmount_in_ns(p, &hm, explicit_request, force, unmounted, tidied, tidied_len, err);
	leave_mntns(host_mntns_fd);
	return r;
}

bool cc_image_has(int pinfd, const char *rel)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, pinfd, rel, &how, sizeof(how));
	if (fd < 0)
		return false;
	(void)close(fd);
	return true;
}
