/* The image is opened once, checked on the open fd, and only that fd is
 * used from then on (the loop device is bound to it): no path is looked up
 * twice, so a file swapped after the check is never what gets mounted.
 * Nothing here runs before the policy has allowed the path (do_mount in
 * session.c): a path no rule allows is never opened, hashed or marked. */
#include "broker.h"

#include <blkid.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "auditlog.h"
#include "caps.h"
#include "config.h"

#define DIGEST_XATTR "trusted.crashcart.sha256"

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
		/* The default path is empty until a toolbox is installed: say how. */
		if (errno == ENOENT && strcmp(path, CRASHCART_DEFAULT_IMAGE) == 0)
			return cc_fail(err, ENOENT, "no toolbox image at %s: build one with crashcart-toolbox-build "
				       "(as root) or give one with -i", path);
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

/* The cache key: a root-owned image changes only by root's hand, and any
 * write changes its mtime or size. The xattr is trusted.*: only
 * CAP_SYS_ADMIN can write it, so the caller cannot plant a digest. */
static void cache_key(const struct stat *st, char *out, size_t len)
{
	snprintf(out, len, "v1 %lld %lld.%09ld ", (long long)st->st_size, (long long)st->st_mtim.tv_sec,
		 st->st_mtim.tv_nsec);
}

int cc_image_sha256(const struct cc_image *img, char out[65], cc_error *err)
{
	char key[96], cached[200];
	struct stat st;
	struct cc_sha256 ctx;
	off_t off = 0;
	ssize_t n;

	if (fstat(img->fd, &st) < 0)
		return cc_failx(err, errno, "cannot stat the image");
	cache_key(&st, key, sizeof(key));
	WITH_CAPS(CC_CAP(CAP_SYS_ADMIN), n = fgetxattr(img->fd, DIGEST_XATTR, cached, sizeof(cached) - 1));
	if (n > 0) {
		cached[n] = '\0';
		size_t k = strlen(key);
		if (strncmp(cached, key, k) == 0 && strlen(cached + k) == 64) {
			memcpy(out, cached + k, 65);
			return 0;
		}
	}
	_cleanup_free_ uint8_t *buf = malloc(1 << 20);
	if (!buf)
		return cc_fail(err, ENOMEM, "out of memory");
	cc_sha256_init(&ctx);
	while ((n = pread(img->fd, buf, 1 << 20, off)) > 0) {
		cc_sha256_update(&ctx, buf, (size_t)n);
		off += n;
	}
	if (n < 0)
		return cc_failx(err, errno, "cannot read the image");
	cc_sha256_final_hex(&ctx, out);
	snprintf(cached, sizeof(cached), "%s%s", key, out);
	/* Best effort: a filesystem without trusted xattrs just hashes again. */
	WITH_CAPS(CC_CAP(CAP_SYS_ADMIN), (void)fsetxattr(img->fd, DIGEST_XATTR, cached, strlen(cached), 0));
	return 0;
}
