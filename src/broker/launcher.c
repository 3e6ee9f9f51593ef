/* The launcher: a child forked at broker start-up, before the broker
 * confines itself, whose only job is to start one tool. It receives one
 * LAUNCH (pidfd, stdio, argv, envp) from the broker, enters the target's
 * namespaces, forks the tool, and reports how it ended. Keeping this process
 * apart means the tool never descends from the broker after any strict
 * confinement the broker later takes on (DESIGN.md: seccomp is inherited). */
#include "broker.h"

#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "caps.h"
#include "proto.h"
#include "seccomp.h"

/* In the tool's process: everything that must hold before exec. Returns
 * only on failure, with errno set. */
static void become_tool(const struct cc_launch *l, const int *stdio, int errfd)
{
	sigset_t all;

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
	if (cc_seccomp_load(CC_FILTER_TOOL, &err) < 0) {
		errno = err.code;
		return;
	}

	const char *cmd = l->argv[0];
	if (strchr(cmd, '/')) {
		execve(cmd, l->argv, l->envp);
		return;
	}
	/* A bare name: search the image first, then the container's own dirs
	 * (the PATH the tool gets, fixed by the broker). */
	static const char *const dirs[] = {
		"/dev/crashcart/bin", "/dev/crashcart/sbin", "/usr/local/sbin", "/usr/local/bin",
		"/usr/sbin", "/usr/bin", "/sbin", "/bin",
	};
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

static int launch(struct cc_msg *m, struct cc_exit *out)
{
	const struct cc_launch *l = &m->u.launch;
	int pidfd = m->fds[0];
	int errpipe[2], status, r;
	pid_t child;

	if (!l->argv || !l->argv[0])
		return -EINVAL;
	/* One call enters every namespace at once (kernel >= 5.8); the PID
	 * namespace applies to children, hence the fork below. */
	WITH_CAPS(CC_CAP(CAP_SYS_ADMIN) | CC_CAP(CAP_SYS_CHROOT) | CC_CAP(CAP_SYS_PTRACE),
		  r = setns(pidfd, l->nsflags));
	if (r < 0)
		return -errno;
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return -errno;
	child = fork();
	if (child < 0)
		return -errno;
	if (child == 0) {
		(void)close(errpipe[0]);
		become_tool(l, &m->fds[1], errpipe[1]);
		int e = errno ? errno : EINVAL;
		(void)!write(errpipe[1], &e, sizeof(e));
		_exit(127);
	}
	(void)close(errpipe[1]);
	int e = 0;
	ssize_t n;
	do
		n = read(errpipe[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	(void)close(errpipe[0]);
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (n == (ssize_t)sizeof(e)) {
		*out = (struct cc_exit){ CC_EXIT_EXEC_FAILED, (uint32_t)e };
	} else if (WIFSIGNALED(status)) {
		*out = (struct cc_exit){ CC_EXIT_SIGNALED, (uint32_t)WTERMSIG(status) };
	} else {
		*out = (struct cc_exit){ CC_EXIT_EXITED, (uint32_t)WEXITSTATUS(status) };
	}
	return 0;
}

static void launcher_main(int sock)
{
	struct cc_msg m, reply = { .type = CC_MSG_LAUNCH_DONE };
	cc_error err = { 0 };
	int r;

	/* Die with the broker: no orphaned launcher holding capabilities. */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	r = cc_msg_recv(sock, &m, &err);
	if (r <= 0)
		_exit(r == 0 ? 0 : 1);
	if (m.type != CC_MSG_LAUNCH)
		_exit(1);
	reply.seq = m.seq;
	r = launch(&m, &reply.u.exit);
	cc_msg_clear(&m);
	if (r < 0) {
		cc_error e;
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
		(void)close(sv[0]);
		/* The worker's socket is the broker's alone. */
		(void)close(3);
		launcher_main(sv[1]);
	}
	(void)close(sv[1]);
	*pid = child;
	*sock = sv[0];
	return 0;
}
