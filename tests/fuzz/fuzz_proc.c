/* libFuzzer harness: what the worker's resolver and `--list` parse from
 * /proc and the cgroup tree, all of it container-controlled: a process
 * writes its own comm (inside /proc/PID/stat and status), a container with
 * a delegated cgroup names its sub-cgroups, and its mounts are its own.
 *
 * Input: one selector byte, then the text for that parser:
 *   0  /proc/PID/stat     cc_parse_stat_start_time, cc_parse_stat_ppid
 *   1  /proc/PID/status   cc_parse_status_nspid
 *   2  /proc/PID/mountinfo cc_mountinfo_has_crashcart (libmount's parser
 *      behind a byte-counting stream), through a memfd; a "yes" must come
 *      from a line that names /dev/crashcart
 *   3  a cgroup directory cc_cgroup_classify: one byte of depth, then the
 *      directory's name, its parent's name and its path, NUL-separated */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "resolve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What any correct reading must satisfy: 0 or 1, and 1 only when some line
 * names the path /dev/crashcart. libmount compares paths, not strings
 * ("/dev//crashcart" and "/dev/crashcart/" are that path too), and it
 * unescapes octal (then a backslash is on that line); either way the last
 * segment, "crashcart", or a backslash is in the text. */
static bool mountinfo_plausible(const char *text, size_t len, int r)
{
	if (r != 0 && r != 1)
		return false;
	return r == 0 || memmem(text, len, "crashcart", 9) || memchr(text, '\\', len);
}

static void mountinfo(const char *text, size_t len)
{
	static int fd = -1;

	if (fd < 0)
		fd = memfd_create("fuzz-mountinfo", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0) < 0 || pwrite(fd, text, len, 0) != (ssize_t)len || lseek(fd, 0, SEEK_SET) < 0)
		abort();
	if (!mountinfo_plausible(text, len, cc_mountinfo_has_crashcart(fd)))
		abort();
}

static void cgroup(const char *text, size_t len)
{
	struct cc_cgroup_class c;
	const char *base, *parent, *path;

	if (len < 1)
		return;
	/* text ends in three NULs: a missing field is "" */
	base = text + 1;
	parent = base + strlen(base) + 1;
	path = parent + strlen(parent) + 1;
	if (!cc_cgroup_classify(base, parent, (unsigned char)text[0] % 40, path, &c))
		return;
	if (!c.runtime || !c.id[0] || !memchr(c.id, '\0', sizeof(c.id)) || !memchr(c.name, '\0', sizeof(c.name)))
		abort();
	if (c.rt == 0 || (c.rt & (c.rt - 1)))
		abort(); /* exactly one runtime */
	if ((c.rt & (CC_RT_DOCKER | CC_RT_PODMAN | CC_RT_CRIO)) && !cc_is_hex64(c.id, strlen(c.id)))
		abort(); /* these runtimes' ids are 64 hex digits, nothing else */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;
	size_t len;
	uint64_t u64;
	uint32_t u32;
	int levels;

	if (size < 1)
		return -1;
	len = size - 1;
	text = calloc(len + 3, 1);
	if (!text)
		abort();
	memcpy(text, data + 1, len);
	switch (data[0] % 4) {
	case 0:
		(void)cc_parse_stat_start_time(text, &u64);
		(void)cc_parse_stat_ppid(text, &u32);
		break;
	case 1:
		if (cc_parse_status_nspid(text, &u64, &levels) == 0 && (levels < 1 || u64 > UINT32_MAX))
			abort();
		break;
	case 2:
		mountinfo(text, len);
		break;
	case 3:
		cgroup(text, len);
		break;
	}
	free(text);
	return 0;
}
