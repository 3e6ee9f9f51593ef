/* The launcher: a child forked at broker start-up, before the broker
 * confines itself, whose only job is to start one tool. It receives one
 * LAUNCH (pidfd, the tool's stdio, argv, envp) from the broker, enters the
 * target's namespaces, and forks the session's reaper there; the reaper
 * forks the tool. Keeping this process apart means the tool never descends
 * from the broker after any strict confinement the broker later takes on
 * (DESIGN.md: seccomp is inherited).
 *
 * The session's processes end with the session. The reaper is a child
 * subreaper in the container's PID namespace: whatever the tool starts and
 * leaves behind (`sleep 777 & exit`, setsid, double forks) is reparented to
 * it, not to the container's init, and when the tool ends, the worker or
 * the terminal hangs up (LAUNCH_END), or the launcher dies (it dies with the
 * broker: PR_SET_PDEATHSIG), the reaper kills every process left under it.
 * The tool itself dies with the reaper (PR_SET_PDEATHSIG). The reaper is
 * non-dumpable (forked from the file-capability broker, it never execs), so
 * the container cannot ptrace it; it holds no capability once the tool is
 * started, and is under the tool's filter from then on (a tool holding
 * CAP_SYS_PTRACE can ptrace it). */
#include "broker.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <linux/mount.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "caps.h"
#include "proto.h"
#include "seccomp.h"

/* What the reaper tells the launcher at the end (both sides are ours). */
struct report {
	uint32_t kind, value, ended;
};

/* Longest the reaper keeps killing: a process stuck in the kernel (a FUSE
 * request of the container's, say) must not keep the session, and so the
 * broker, waiting. What is left then is reported. */
#define END_MS 5000

static int pidfd_send_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* In the tool's process: everything that must hold before exec. Returns
 * only on failure, with errno set. */
static void become_tool(const struct cc_launch *l, const int *stdio, int errfd, pid_t reaper)
{
	sigset_t all;

	/* A session of its own, with the pty (if any) as its controlling
	 * terminal: job control and ^C stay inside the tool's terminal. */
	if (setsid() < 0)
		return;
	if ((l->flags & CC_LAUNCH_CTTY) && ioctl(stdio[0], TIOCSCTTY, 0) < 0)
		return;
	/* Dies with the reaper, even if the container kills the reaper. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != reaper)
		return;
	for (int i = 0; i < 3; i++)
		if (dup2(stdio[i], i) < 0)
			return;
	/* Nothing of the broker's leaks into the container: only 0-2 and the
	 * close-on-exec error pipe survive. */
	if (errfd > 3)
		(void)syscall(SYS_close_range, 3, errfd - 1, 0);
	(void)syscall(SYS_close_range, errfd + 1, ~0U, 0);

	for (int s = 1; s < NSIG; s++)
		(void)signal(s, SIG_DFL);
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);

	if (chdir("/") < 0)
		return;
	if (cc_caps_drop_all(l->keep_caps) < 0)
		return;
	/* Set-uid programs in the container must not lift the session to
	 * root: the bounding set cannot be dropped without CAP_SETPCAP. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return;
	cc_error err;
	if (cc_seccomp_load((l->flags & CC_LAUNCH_PERF) ? CC_FILTER_TOOL_PTRACE : CC_FILTER_TOOL, &err) < 0) {
		errno = err.code;
		return;
	}
	/* Forked from the file-capability broker, this process is not
	 * dumpable; its execve below is the first of the exec trail, whose
	 * supervisor reads the path and argv from /proc/PID/mem as the same
	 * uid without raising a capability. Safe: nothing here is secret,
	 * every capability is gone (a kept CAP_SYS_PTRACE is out of reach of a
	 * tracer without it: the kernel's cap_ptrace_access_check), and exec
	 * sets dumpability anew. */
	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);

	const char *cmd = l->argv[0];
	if (strchr(cmd, '/')) {
		execve(cmd, l->argv, l->envp);
		return;
	}
	/* A bare name is looked up in the image only: the container's own
	 * binaries are whatever the container put there, and running one by
	 * accident (a planted `ls`) must not happen. They stay reachable by
	 * an explicit path. */
	static const char *const dirs[] = { "/dev/crashcart/bin", "/dev/crashcart/sbin" };
	int first_err = ENOENT;
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s", dirs[i], cmd);
		execve(path, l->argv, l->envp);
		if (errno != ENOENT && errno != ENOTDIR && first_err == ENOENT)
			first_err = errno;
	}
	errno = first_err;
}

/* A procfs of the reaper's own PID namespace (the container's), made by
 * the reaper itself and never attached anywhere: the container's /proc is
 * the container's to fake, and the host's must not be held by a process in
 * the container (the ptrace profile's tool could take it from its parent
 * with pidfd_getfd). subset=pid: only the processes. */
static int own_procfs(void)
{
	int fs, mnt = -1, r = -1;

	WITH_CAPS(CC_CAP(CAP_SYS_ADMIN), {
		fs = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC);
		if (fs >= 0) {
			(void)syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "subset", "pid", 0);
			r = (int)syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
			if (r == 0)
				mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
						   MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
		}
	});
	if (fs >= 0)
		(void)close(fs);
	return mnt;
}

/* SIGKILL to every direct child. Their PIDs cannot be reused while we have
 * not reaped them, so the list read here names exactly those processes.
 * The list comes from own_procfs(); a /proc/PID directory fd is a pidfd to
 * pidfd_send_signal. */
static void kill_children(int procfd)
{
	char buf[8192], self[48];
	/* our PID in our own PID namespace, which is the procfs's */
	snprintf(self, sizeof(self), "%d/task/%d/children", (int)getpid(), (int)getpid());
	int fd = openat(procfd, self, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (char *p = buf, *tok; (tok = strtok_r(p, " \n", &p));) {
		int dfd = openat(procfd, tok, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			continue;
		(void)pidfd_send_signal(dfd, SIGKILL);
		(void)close(dfd);
	}
}

/* Reap what has ended; notes the tool's status. Returns how many were
 * reaped, -1 when no child is left. */
static int reap(pid_t tool, int *tool_status, bool *tool_done, uint32_t *others)
{
	int n = 0, st;
	for (;;) {
		pid_t pid = waitpid(-1, &st, WNOHANG | __WALL);
		if (pid < 0)
			return errno == ECHILD ? -1 : n;
		if (pid == 0)
			return n;
		n++;
		if (pid == tool) {
			*tool_status = st;
			*tool_done = true;
		} else if (others) {
			(*others)++;
		}
	}
}

/* The session is over: end everything under the reaper. */
static uint32_t end_session(int procfd, int sigfd, pid_t tool, int *tool_status, bool *tool_done)
{
	int64_t deadline = cc_now_ms() + END_MS;
	uint32_t ended = 0;

	while (cc_now_ms() < deadline) {
		kill_children(procfd);
		if (reap(tool, tool_status, tool_done, &ended) < 0)
			break;
		struct pollfd p = { .fd = sigfd, .events = POLLIN };
		(void)poll(&p, 1, 50);
		struct signalfd_siginfo si;
		while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			;
	}
	return ended;
}

/* The broker's argv[0], to be renamed in the reaper (cosmetic: what `ps`
 * shows in the container). */
static char *title;
static size_t title_len;

void cc_launcher_set_title(char *argv0)
{
	title = argv0;
	title_len = argv0 ? strlen(argv0) : 0;
}

/* The reaper, in the container's namespaces (its PID namespace included:
 * it is the first process of the session there). Never returns. */
static void reaper_main(const struct cc_launch *l, int *stdio, int ctl)
{
	int procfd;
	int errpipe[2], sigfd, tool_status = 0, e = 0;
	bool tool_done = false, ending = false, exec_known = false;
	struct report rep = { 0 };
	sigset_t chld;
	pid_t tool, self = getpid();

	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		_exit(1);
	/* The container may stop us (SIGSTOP: the launcher resumes us) but
	 * not the job-control way. */
	(void)signal(SIGTSTP, SIG_IGN);
	(void)signal(SIGTTIN, SIG_IGN);
	(void)signal(SIGTTOU, SIG_IGN);
	(void)prctl(PR_SET_NAME, "crashcart-reap", 0, 0, 0);
	procfd = own_procfs();
	if (procfd < 0)
		_exit(1);
	if (title && title_len) {
		static const char name[] = "crashcart-reaper";
		memset(title, 0, title_len);
		memcpy(title, name, title_len < sizeof(name) - 1 ? title_len : sizeof(name) - 1);
	}
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, NULL) < 0 || (sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		_exit(1);
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		_exit(1);
	/* Profile ptrace: the reaper and the tool take the target's ids (the
	 * reaper too: it must be able to signal what the tool leaves behind). */
	if (l->creds && l->creds[0] && (e = -cc_profile_become(l->creds)) > 0) {
		rep = (struct report){ CC_EXIT_EXEC_FAILED, (uint32_t)e, 0 };
		(void)!write(ctl, &rep, sizeof(rep));
		_exit(0);
	}
	tool = fork();
	if (tool < 0)
		_exit(1);
	if (tool == 0) {
		(void)close(errpipe[0]);
		(void)close(ctl);
		(void)close(procfd);
		(void)close(sigfd);
		become_tool(l, stdio, errpipe[1], self);
		e = errno ? errno : EINVAL;
		(void)!write(errpipe[1], &e, sizeof(e));
		_exit(127);
	}
	(void)close(errpipe[1]);
	for (int i = 0; i < 3; i++)
		(void)close(stdio[i]); /* the tool's now: EOF and hang-up follow the tool's processes */
	/* Signalling and reaping our own children needs no capability. The
	 * tool's filter too: the ptrace profile's tool can attach to us (its
	 * CAP_SYS_PTRACE passes our non-dumpability, and we have its ids) and
	 * make us call what its own filter refuses (keyctl as host uid 0: the
	 * host root's keyring). We need nothing that filter lists. */
	cc_error ferr;
	if (cc_caps_drop_all(0) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    cc_seccomp_load(CC_FILTER_TOOL, &ferr) < 0) {
		(void)kill(tool, SIGKILL);
		ending = true;
	}

	while (!ending && !tool_done) {
		struct pollfd p[3] = {
			{ .fd = ctl, .events = POLLIN },
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = exec_known ? -1 : errpipe[0], .events = POLLIN },
		};
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[2].revents) {
			ssize_t n = read(errpipe[0], &e, sizeof(e));
			if (n == (ssize_t)sizeof(e))
				rep = (struct report){ CC_EXIT_EXEC_FAILED, (uint32_t)e, 0 };
			if (n >= 0 || errno != EINTR)
				exec_known = true;
		}
		if (p[1].revents) {
			struct signalfd_siginfo si;
			while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				;
			(void)reap(tool, &tool_status, &tool_done, NULL);
		}
		if (p[0].revents)
			ending = true; /* LAUNCH_END, or the launcher is gone */
	}
	/* The tool's end ends its session: what it left running goes too. */
	uint32_t ended = end_session(procfd, sigfd, tool, &tool_status, &tool_done);
	if (rep.kind != CC_EXIT_EXEC_FAILED) {
		if (!tool_done)
			rep = (struct report){ CC_EXIT_LOST, 0, 0 };
		else if (WIFSIGNALED(tool_status))
			rep = (struct report){ CC_EXIT_SIGNALED, (uint32_t)WTERMSIG(tool_status), 0 };
		else
			rep = (struct report){ CC_EXIT_EXITED, (uint32_t)WEXITSTATUS(tool_status), 0 };
	}
	rep.ended = ended;
	(void)!write(ctl, &rep, sizeof(rep));
	_exit(0);
}

/* What the profiles check from inside the container's namespaces
 * (profile.c): ptrace and netadmin, no mount that reaches past them (a
 * procfs of another PID namespace; for netadmin an nsfs file of another
 * network namespace); netadmin, no task of the container's PID namespace in
 * another network namespace. Only a process in that PID namespace can list
 * it through a procfs of its own (the container's /proc is the container's
 * to fake): a short-lived child, after setns, which reports what it found
 * through a pipe. */
struct found {
	int err;        /* errno of a check that could not be made */
	int tid;        /* a task in another network namespace */
	char where[256]; /* a mount that reaches past the container */
	char what[64];   /* where that task is */
};

static int profile_checks(const struct cc_launch *l, const struct stat *hostmnt, cc_error *why)
{
	/* the launcher is told flags, not the profile: NET_ALONE is netadmin's */
	const char *prof = (l->flags & CC_LAUNCH_NET_ALONE) ? "netadmin" : "ptrace";
	struct found res = { .err = EIO };
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return cc_failx(why, errno, "profile %s: cannot look at the container's processes and mounts", prof);
	pid_t c = fork();
	if (c < 0) {
		int e = errno;
		(void)close(p[0]);
		(void)close(p[1]);
		return cc_failx(why, e, "profile %s: cannot look at the container's processes and mounts", prof);
	}
	if (c == 0) {
		struct found out = { 0 };
		pid_t tid = 0;
		int r, procfd;
		(void)close(p[0]);
		procfd = own_procfs();
		r = procfd < 0 ? -(errno ? errno : EIO) : 0;
		if (r == 0 && (l->flags & CC_LAUNCH_OWN_PROC))
			r = cc_profile_foreign_mount(procfd, l->flags & CC_LAUNCH_NET_ALONE, out.where, sizeof(out.where));
		const char *what = NULL;
		if (r == 0 && !out.where[0])
			r = cc_profile_foreign_task(procfd, l->flags & CC_LAUNCH_NET_ALONE,
						    (l->flags & CC_LAUNCH_OWN_PROC) ? hostmnt : NULL,
						    (l->flags & CC_LAUNCH_PERF) != 0 /* ptrace's */, &tid, &what);
		out.err = -r;
		out.tid = (int)tid;
		if (tid && what)
			snprintf(out.what, sizeof(out.what), "%s", what);
		(void)!write(p[1], &out, sizeof(out));
		_exit(0);
	}
	(void)close(p[1]);
	ssize_t n;
	do
		n = read(p[0], &res, sizeof(res));
	while (n < 0 && errno == EINTR);
	(void)close(p[0]);
	while (waitpid(c, NULL, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(res))
		res.err = EIO;
	res.where[sizeof(res.where) - 1] = '\0';
	if (res.err)
		return cc_failx(why, res.err, "profile %s: cannot look at the container's processes and mounts", prof);
	if (res.where[0])
		return cc_fail(why, EXDEV, "profile %s refused: %s, whose links reach past the container", prof,
			       res.where);
	res.what[sizeof(res.what) - 1] = '\0';
	if (res.tid && strcmp(res.what, CC_PROFILE_MKNOD_WHAT) == 0)
		return cc_fail(why, EXDEV, "profile %s refused: PID %d of the container's PID namespace can make device "
			       "nodes (CAP_MKNOD, without no_new_privs), and the tool could have it make one of the "
			       "host's disks for the operator to open; run the container without it (--cap-drop MKNOD)",
			       prof, res.tid);
	if (res.tid)
		return cc_fail(why, EXDEV, "profile %s refused: PID %d of the container's PID namespace is in %s, "
			       "which the tool would reach through that PID", prof, res.tid, res.what);
	return 0;
}

static int launch(int sock, struct cc_msg *m, struct cc_exit *out, cc_error *why)
{
	const struct cc_launch *l = &m->u.launch;
	int pidfd = m->fds[0], ctl[2], r;
	pid_t reaper;

	if (!l->argv || !l->argv[0])
		return -EINVAL;
	if (l->flags & CC_LAUNCH_TRAIL) {
		/* Every exec of the session goes to the broker first (exectrail.c);
		 * the listener is the broker's alone: not ours, not the session's. */
		struct cc_msg trail = { .type = CC_MSG_LAUNCH_TRAIL, .seq = m->seq };
		cc_error e;
		int lfd;
		if (cc_seccomp_exec_trail(&lfd, &e) < 0)
			return -e.code;
		trail.fds[0] = lfd;
		trail.nfds = 1;
		r = cc_msg_send(sock, &trail, &e);
		(void)close(lfd);
		if (r < 0)
			return -e.code;
	}
	/* The host's mount namespace (the broker's, still ours): a task of the
	 * container's PID namespace in it has the host's root as its
	 * /proc/PID/root (profile_checks). */
	struct stat hostmnt;
	if (stat("/proc/self/ns/mnt", &hostmnt) < 0)
		return -errno;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0)
		return -errno;
	/* One call enters every namespace at once (kernel >= 5.8); the PID
	 * namespace applies to children, hence the fork below. */
	WITH_CAPS(CC_CAP(CAP_SYS_ADMIN) | CC_CAP(CAP_SYS_CHROOT) | CC_CAP(CAP_SYS_PTRACE),
		  r = setns(pidfd, (int)l->nsflags));
	if (r < 0)
		return -errno;
	/* Now in the container's namespaces: the profiles' conditions. */
	if (((l->flags & CC_LAUNCH_NET_ALONE) && cc_profile_net_alone(why) < 0) ||
	    ((l->flags & (CC_LAUNCH_NET_ALONE | CC_LAUNCH_OWN_PROC)) && profile_checks(l, &hostmnt, why) < 0)) {
		(void)close(ctl[0]);
		(void)close(ctl[1]);
		return -why->code;
	}
	reaper = fork();
	if (reaper < 0)
		return -errno;
	if (reaper == 0) {
		(void)close(ctl[0]);
		(void)close(sock);
		(void)close(pidfd);
		reaper_main(l, &m->fds[1], ctl[1]);
	}
	(void)close(ctl[1]);
	for (int i = 1; i < 4; i++) {
		(void)close(m->fds[i]); /* only the tool holds its stdio */
		m->fds[i] = -1;
	}

	/* Waiting for the reaper, which lives in the container: the container
	 * can stop it (SIGSTOP; Docker grants CAP_KILL), and a stopped reaper
	 * would hold the session, and the broker, forever. A stop is answered
	 * with SIGCONT at once; once the session is to end, the reaper gets
	 * END_MS and a little more, then SIGKILL (its tool dies with it:
	 * pdeathsig; what else it held is reported lost). */
	struct report rep;
	sigset_t chld;
	bool told = false, reaped = false;
	int64_t deadline = 0;
	ssize_t n = -1;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	(void)sigprocmask(SIG_BLOCK, &chld, NULL);
	_cleanup_close_ int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = told ? -1 : sock, .events = POLLIN },
			{ .fd = ctl[0], .events = POLLIN },
			{ .fd = sigfd, .events = POLLIN },
		};
		int timeout = told ? (int)(deadline - cc_now_ms()) : -1;
		if (told && timeout <= 0) {
			(void)kill(reaper, SIGKILL);
			break;
		}
		if (poll(p, 3, timeout) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[2].revents) {
			struct signalfd_siginfo si;
			int st;
			while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				;
			pid_t w = waitpid(reaper, &st, WNOHANG | WUNTRACED);
			if (w == reaper && WIFSTOPPED(st))
				(void)kill(reaper, SIGCONT);
			else if (w == reaper) {
				reaped = true; /* gone without a word: its report, if any, is in ctl */
				p[1].revents |= POLLIN;
			}
		}
		if (p[0].revents) {
			/* LAUNCH_END, anything else, or the broker gone: end it */
			struct cc_msg end;
			cc_error ignored;
			if (cc_msg_recv(sock, &end, &ignored) > 0)
				cc_msg_clear(&end);
			(void)shutdown(ctl[0], SHUT_WR);
			told = true;
			deadline = cc_now_ms() + END_MS + 2000;
		}
		if (p[1].revents) {
			do
				n = read(ctl[0], &rep, sizeof(rep));
			while (n < 0 && errno == EINTR);
			if (n < 0 && errno == EAGAIN)
				continue;
			break;
		}
	}
	(void)close(ctl[0]);
	while (!reaped && waitpid(reaper, NULL, 0) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(rep))
		*out = (struct cc_exit){ rep.kind, rep.value, rep.ended };
	else
		*out = (struct cc_exit){ CC_EXIT_LOST, 0, 0 };
	return 0;
}

/* fds 0-2 of the broker are the operator's (the worker's stdio): the
 * launcher and everything it forks into the container must not hold them.
 * The host's /dev/null takes their place, so that no received fd lands on
 * 0-2 either. */
static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 3; i++) {
		if (fd >= 0 && fd != i)
			(void)dup3(fd, i, O_CLOEXEC);
		else if (fd < 0)
			(void)close(i);
	}
	if (fd > 2)
		(void)close(fd);
}

static void launcher_main(int sock)
{
	struct cc_msg m, reply = { .type = CC_MSG_LAUNCH_DONE };
	cc_error err = { 0 };
	int r;

	/* Die with the broker: no orphaned launcher holding capabilities
	 * (the reaper then sees its socket close and ends the session). */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	detach_stdio();
	r = cc_msg_recv(sock, &m, &err);
	if (r <= 0)
		_exit(r == 0 ? 0 : 1);
	if (m.type != CC_MSG_LAUNCH)
		_exit(1);
	reply.seq = m.seq;
	cc_error e = { 0 };
	r = launch(sock, &m, &reply.u.exit, &e);
	cc_msg_clear(&m);
	if (r < 0) {
		if (!e.msg[0] && r == -ESRCH)
			cc_fail(&e, ESRCH, "cannot start the tool: the container's process has exited (the container ended?)");
		else if (!e.msg[0])
			cc_fail(&e, -r, "cannot start the tool in the container: %s", strerror(-r));
		(void)cc_reply_error(sock, reply.seq, &e, &err);
		_exit(1);
	}
	(void)cc_msg_send(sock, &reply, &err);
	_exit(0);
}

int cc_launcher_start(pid_t *pid, int *sock, cc_error *err)
{
	int sv[2];
	pid_t child;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return cc_failx(err, errno, "cannot create the launcher socket");
	child = fork();
	if (child < 0) {
		(void)close(sv[0]);
		(void)close(sv[1]);
		return cc_failx(err, errno, "cannot fork the launcher");
	}
	if (child == 0) {
		/* Nothing of the broker's but this socket: the launcher's
		 * descendants live in the container, and an fd the reaper held
		 * (the audit log, the host's mount namespace, the idmap user
		 * namespace, the worker's socket) would be the container's to take
		 * with pidfd_getfd() or /proc/PID/fd by anything holding
		 * CAP_SYS_PTRACE there. */
		if (sv[1] != 3 && dup2(sv[1], 3) < 0)
			_exit(1);
		(void)syscall(SYS_close_range, 4, ~0U, 0);
		launcher_main(3);
	}
	(void)close(sv[1]);
	*pid = child;
	*sock = sv[0];
	return 0;
}
