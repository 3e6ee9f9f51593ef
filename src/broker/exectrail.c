/* The exec trail: every program a recorded session starts, as the kernel
 * saw it asked for, not as the screen shows it.
 *
 * The launcher loads a filter (cc_seccomp_exec_trail) that answers every
 * execve/execveat of the session, in every ABI, with SECCOMP_RET_USER_NOTIF,
 * and hands its listener to the broker before the tool starts. Here the
 * broker takes each notification, reads the path and argv from the caller's
 * memory (/proc/PID/mem of the host's /proc: the caller runs as the operator
 * and is dumpable, so this needs no capability; a tool that runs as the
 * target's ids, profile ptrace, is read with process_vm_readv and
 * CAP_SYS_PTRACE instead: that file is 0600 and the tool's), checks that the
 * notification is still pending (SECCOMP_IOCTL_NOTIF_ID_VALID: the PID is
 * the caller's, not a reuse), records it, and lets the call go on
 * (SECCOMP_USER_NOTIF_FLAG_CONTINUE). If the broker is gone, the listener is
 * closed and the kernel fails every exec of the session with ENOSYS: no
 * trail, no exec.
 *
 * What this proves, and what not (SECURITY.md): the path and argv are read
 * while the caller waits, but another thread of it (or a ptracer in the
 * container) can change that memory before the kernel reads it again; the
 * kernel does not tell the supervisor whether the exec then succeeded; and
 * what a process does without exec (a shell's builtins, a script's lines,
 * an interpreter's work) is not in the trail: it is in the I/O. */
#include "exectrail.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include "caps.h"
#include "seccomp.h"

#define ARG_MAX_SHOWN 64      /* arguments recorded per exec */
#define ARG_BYTES_MAX 4096    /* bytes recorded per argument (and for the path) */

/* The caller's memory: its /proc/PID/mem, or (a tool under another uid)
 * process_vm_readv with CAP_SYS_PTRACE, the broker's ptrace access. */
struct mem {
	int fd;
	pid_t pid;
};

static ssize_t peek(const struct mem *m, void *buf, size_t n, uint64_t addr)
{
	if (m->fd >= 0)
		return pread(m->fd, buf, n, (off_t)addr);
	struct iovec local = { buf, n }, remote = { (void *)(uintptr_t)addr, n };
	ssize_t r;
	WITH_CAPS(CC_CAP(CAP_SYS_PTRACE), r = process_vm_readv(m->pid, &local, 1, &remote, 1, 0));
	return r;
}

/* A NUL-terminated string of the caller's at addr, at most cap-1 bytes:
 * 1 if it was cut, 0 if whole, -1 if unreadable. */
static int read_string(const struct mem *mem, uint64_t addr, char *buf, size_t cap)
{
	size_t got = 0;
	while (got + 1 < cap) {
		size_t want = cap - 1 - got;
		/* page by page: a string near the end of a mapping */
		size_t page = 4096 - ((addr + got) & 4095);
		if (want > page)
			want = page;
		ssize_t n = peek(mem, buf + got, want, addr + got);
		if (n <= 0) {
			buf[got] = '\0';
			return got ? 0 : -1;
		}
		char *nul = memchr(buf + got, '\0', (size_t)n);
		if (nul)
			return 0;
		got += (size_t)n;
	}
	buf[cap - 1] = '\0';
	return 1;
}

static int read_ptr(const struct mem *mem, uint64_t addr, unsigned size, uint64_t *out)
{
	uint64_t v = 0;
	if (peek(mem, &v, size, addr) != (ssize_t)size)
		return -1;
	*out = size == 4 ? (uint32_t)v : v;
	return 0;
}

static bool compat_pointers(const struct seccomp_data *d)
{
#ifdef AUDIT_ARCH_I386
	if (d->arch == AUDIT_ARCH_I386)
		return true;
#endif
#ifdef AUDIT_ARCH_ARM
	if (d->arch == AUDIT_ARCH_ARM)
		return true;
#endif
#if defined(__x86_64__)
	if (d->nr & 0x40000000) /* x32 */
		return true;
#endif
	return false;
}

int cc_trail_take(int listener, struct cc_rec *rec, cc_error *err)
{
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	char path[ARG_BYTES_MAX], pbuf[32];
	char *argv[ARG_MAX_SHOWN + 1] = { 0 };
	bool cut = false, readable = false;
	int r;

	memset(&req, 0, sizeof(req)); /* the kernel wants it zeroed */
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
		if (errno == EINTR || errno == ENOENT) /* the caller went away meanwhile */
			return 0;
		return cc_failx(err, errno, "cannot take the next exec of the session");
	}
	char name[32];
	cc_seccomp_syscall_name(req.data.arch, (int)req.data.nr, name, sizeof(name));
	bool at = strcmp(name, "execveat") == 0;
	unsigned psize = compat_pointers(&req.data) ? 4 : 8;
	uint64_t path_addr = req.data.args[at ? 1 : 0], argv_addr = req.data.args[at ? 2 : 1];

	snprintf(pbuf, sizeof(pbuf), "/proc/%u/mem", req.pid);
	struct mem m = { open(pbuf, O_RDONLY | O_CLOEXEC), (pid_t)req.pid }, *mem = &m;
	if (m.fd >= 0 || errno == EACCES) {
		readable = read_string(mem, path_addr, path, sizeof(path)) >= 0;
		for (size_t i = 0; readable && i < ARG_MAX_SHOWN; i++) {
			uint64_t p;
			char arg[ARG_BYTES_MAX];
			if (!argv_addr || read_ptr(mem, argv_addr + i * psize, psize, &p) < 0 || !p)
				break;
			int c = read_string(mem, p, arg, sizeof(arg));
			if (c < 0)
				break;
			cut |= c > 0 || i + 1 == ARG_MAX_SHOWN;
			argv[i] = strdup(arg);
			if (!argv[i])
				break;
		}
		if (m.fd >= 0)
			(void)close(m.fd);
	}
	if (!readable)
		snprintf(path, sizeof(path), "(unreadable)");
	/* Still pending: the memory read above was the caller's. */
	if (rec && ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) == 0)
		cc_rec_exec(rec, req.pid, name, path, argv, cut);
	for (size_t i = 0; i < ARG_MAX_SHOWN; i++)
		free(argv[i]);

	memset(&resp, 0, sizeof(resp));
	resp.id = req.id;
	resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	r = ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
	if (r < 0 && errno != ENOENT)
		return cc_failx(err, errno, "cannot let the session's exec go on");
	return 0;
}
