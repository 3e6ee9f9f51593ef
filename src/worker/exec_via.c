#include "exec_via.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define ARGV_MAX (64 * 1024)
#define IMAGE_PATH "PATH=/dev/crashcart/bin:/dev/crashcart/sbin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The runner: reads NUL-separated argv from fd (EOF ends it), execs it. */
static void runner_main(int fd)
{
	static char buf[ARGV_MAX];
	char *argv[257];
	size_t len = 0;
	ssize_t n;
	int argc = 0;

	/* Nothing of the worker's but the terminal and our pipe. */
	if (fd > 3)
		(void)syscall(SYS_close_range, 3, fd - 1, 0);
	(void)syscall(SYS_close_range, fd + 1, ~0U, 0);
	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	if (len == 0 || len >= sizeof(buf) || buf[len - 1] != '\0')
		_exit(0); /* not used, or nonsense */
	for (size_t i = 0; i < len && argc < 256; i += strlen(buf + i) + 1)
		argv[argc++] = buf + i;
	argv[argc] = NULL;
	execvp(argv[0], argv);
	fprintf(stderr, "crashcart: %s: %s (-e runs the container runtime's own command, as you)\n", argv[0],
		strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

int cc_runner_start(struct cc_runner *r, cc_error *err)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return cc_failx(err, errno, "cannot create a pipe");
	r->pid = fork();
	if (r->pid < 0)
		return cc_failx(err, errno, "cannot fork");
	if (r->pid == 0) {
		(void)close(p[1]);
		int fd = fcntl(p[0], F_DUPFD_CLOEXEC, 3);
		runner_main(fd >= 0 ? fd : p[0]);
	}
	(void)close(p[0]);
	r->fd = p[1];
	return 0;
}

void cc_runner_stop(struct cc_runner *r)
{
	if (r->fd >= 0)
		(void)close(r->fd);
	r->fd = -1;
	if (r->pid > 0)
		while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
			;
	r->pid = -1;
}

int cc_runner_run(struct cc_runner *r, char **argv, struct cc_exit *out, cc_error *err)
{
	int status;
	size_t total = 0;

	for (char **a = argv; *a; a++) {
		size_t n = strlen(*a) + 1;
		total += n;
		if (total >= ARGV_MAX || cc_write_all(r->fd, *a, n) < 0) {
			cc_runner_stop(r);
			return cc_fail(err, E2BIG, "the command is too long");
		}
	}
	(void)close(r->fd);
	r->fd = -1;
	while (waitpid(r->pid, &status, 0) < 0)
		if (errno != EINTR)
			return cc_failx(err, errno, "cannot wait for the runtime's exec");
	r->pid = -1;
	if (WIFSIGNALED(status))
		*out = (struct cc_exit){ CC_EXIT_SIGNALED, (uint32_t)WTERMSIG(status) };
	else
		*out = (struct cc_exit){ CC_EXIT_EXITED, (uint32_t)WEXITSTATUS(status) };
	return 0;
}

/* "Can the user talk to the Docker daemon?" The socket is root-equivalent,
 * so operators on regulated hosts usually cannot: say so before trying. */
static int check_docker_access(cc_error *err)
{
	const char *host = getenv("DOCKER_HOST");
	const char *path = "/var/run/docker.sock";

	if (host && strncmp(host, "unix://", 7) == 0)
		path = host + 7;
	else if (host && *host)
		return 0; /* a remote daemon: the CLI will say */
	if (access(path, R_OK | W_OK) < 0)
		return cc_fail(err, EACCES,
			       "-e needs your own access to the Docker daemon (%s: %s); without -e, crashcart runs the tool itself",
			       path, strerror(errno));
	return 0;
}

int cc_exec_via_argv(const struct cc_claim *c, char **cmd, bool tty, char ***out, cc_error *err)
{
	static char *shell[] = {
		"/dev/crashcart/bin/sh", "-c",
		"[ -x /dev/crashcart/bin/bash ] && [ -f /dev/crashcart/.crashcartrc ] && "
		"exec /dev/crashcart/bin/bash --rcfile /dev/crashcart/.crashcartrc -i; exec /dev/crashcart/bin/sh -i",
		NULL,
	};
	char ns[128] = "", pod[128] = "", ctr[128] = "";
	const char *v[32];
	size_t n = 0;

	if (!cmd || !cmd[0])
		cmd = shell;
	/* k8s names are NAMESPACE/POD/CONTAINER; containerd's NAMESPACE/ID */
	int parts = sscanf(c->name, "%127[^/]/%127[^/]/%127s", ns, pod, ctr);
	if (strcmp(c->runtime, "docker") == 0 || strcmp(c->runtime, "podman") == 0) {
		if (c->runtime[0] == 'd' && check_docker_access(err) < 0)
			return -err->code;
		v[n++] = c->runtime;
		v[n++] = "exec";
		v[n++] = "-i";
		if (tty)
			v[n++] = "-t";
		v[n++] = "-e";
		v[n++] = IMAGE_PATH;
		v[n++] = c->id;
	} else if ((strcmp(c->runtime, "containerd") == 0 || strcmp(c->runtime, "cri-o") == 0) && parts == 3) {
		v[n++] = "kubectl";
		v[n++] = "exec";
		v[n++] = "-i";
		if (tty)
			v[n++] = "-t";
		v[n++] = "-n";
		v[n++] = ns;
		v[n++] = pod;
		v[n++] = "-c";
		v[n++] = ctr;
		v[n++] = "--";
	} else if (strcmp(c->runtime, "containerd") == 0) {
		v[n++] = "nerdctl";
		if (parts >= 2) {
			v[n++] = "-n";
			v[n++] = ns;
		}
		v[n++] = "exec";
		v[n++] = "-i";
		if (tty)
			v[n++] = "-t";
		v[n++] = "-e";
		v[n++] = IMAGE_PATH;
		v[n++] = parts >= 2 ? pod : c->id;
	} else if (strcmp(c->runtime, "lxc") == 0) {
		v[n++] = "lxc-attach";
		v[n++] = "-n";
		v[n++] = c->name[0] ? c->name : c->id;
		v[n++] = "--";
	} else {
		return cc_fail(err, ENOTSUP, "-e needs a container of a runtime with its own exec (docker, podman, "
				      "containerd, Kubernetes, LXC), not a %s target", c->runtime[0] ? c->runtime : "bare");
	}
	size_t nc = cc_strv_len(cmd);
	char **argv = calloc(n + nc + 1, sizeof(char *));
	if (!argv)
		return cc_fail(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		argv[i] = strdup(v[i]);
	for (size_t i = 0; i < nc; i++)
		argv[n + i] = strdup(cmd[i]);
	for (size_t i = 0; i < n + nc; i++)
		if (!argv[i]) {
			cc_strv_free(argv);
			return cc_fail(err, ENOMEM, "out of memory");
		}
	*out = argv;
	return 0;
}
