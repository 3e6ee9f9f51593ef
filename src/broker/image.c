/* The image is opened once, checked on the open fd, and only that fd is
 * used from then on (the loop device is bound to it): no path is looked up
 * twice, so a file swapped after the check is never what gets mounted. */
#include "broker.h"

#include <blkid.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

static int probe_fstype(int fd, char *out, size_t outlen, const char *path, cc_error *err)
{
	/* Only filesystems a read-only toolbox can be: the type comes from the
	 * superblock, never from the file name. */
	static char *allowed[] = { "ext2", "ext3", "ext4", "squashfs", "erofs", NULL };
	blkid_probe pr = blkid_new_probe();
	const char *type = NULL;
	int r;

	if (!pr)
		return cc_fail(err, ENOMEM, "cannot probe %s: out of memory", path);
	if (blkid_probe_set_device(pr, fd, 0, 0) < 0) {
		blkid_free_probe(pr);
		return cc_fail(err, EIO, "cannot probe %s", path);
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
	blkid_probe_filter_superblocks_type(pr, BLKID_FLTR_ONLYIN, allowed);
	r = blkid_do_safeprobe(pr);
	if (r == 0 && blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0 && type && strlen(type) < outlen) {
		strcpy(out, type);
		blkid_free_probe(pr);
		return 0;
	}
	blkid_free_probe(pr);
	if (r == -2)
		return cc_fail(err, EINVAL, "%s holds more than one filesystem signature: refusing", path);
	return cc_fail(err, EINVAL, "%s is not an ext2/3/4, squashfs or erofs filesystem", path);
}

int cc_image_open(const char *path, struct cc_image *img, cc_error *err)
{
	struct stat st;
	int r;

	memset(img, 0, sizeof(*img));
	img->fd = -1;
	if (path[0] != '/')
		return cc_fail(err, EINVAL, "image path '%s' is not absolute", path);
	/* As the caller: the image must be readable by the operator anyway. */
	img->fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (img->fd < 0) {
		if (errno == ELOOP)
			return cc_fail(err, ELOOP, "image %s is a symlink: refusing (give the real path)", path);
		return cc_failx(err, errno, "cannot open image %s", path);
	}
	if (fstat(img->fd, &st) < 0) {
		r = cc_failx(err, errno, "cannot stat image %s", path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		r = cc_fail(err, EINVAL, "image %s is not a regular file", path);
		goto fail;
	}
	/* Whoever can write the image decides what runs in every container it
	 * is mounted into: only root may. */
	if (st.st_uid != 0) {
		r = cc_fail(err, EPERM, "image %s is not owned by root (owner uid %u): refusing", path, st.st_uid);
		goto fail;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		r = cc_fail(err, EPERM, "image %s is writable by %s (mode %04o): refusing", path,
			    (st.st_mode & S_IWOTH) ? "others" : "its group", st.st_mode & 07777);
		goto fail;
	}
	img->dev = st.st_dev;
	img->ino = st.st_ino;
	r = probe_fstype(img->fd, img->fstype, sizeof(img->fstype), path, err);
	if (r < 0)
		goto fail;
	return 0;
fail:
	cc_image_close(img);
	return r;
}

void cc_image_close(struct cc_image *img)
{
	cc_closep(&img->fd);
	img->fd = -1;
}
