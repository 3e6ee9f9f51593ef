#include "exec_via.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define IMAGE_PATH "PATH=/dev/crashcart/bin:/dev/crashcart/sbin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The runner: reads one argv (EOF ends it) and execs it on the terminal. */
static void runner_main(int fd)
{
	static char buf[CC_ARGV_BYTES];
	char *argv[257];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	if (len >= sizeof(buf) || cc_argv_unpack(buf, len, argv, ARRAY_SIZE(argv)) <= 0)
		_exit(0); /* not used, or nonsense */
	execvp(argv[0], argv);
	int e = errno;
	fputs("crashcart: ", stderr);
	(void)cc_fputs_escaped(argv[0], stderr); /* escaped like every other line (main.c) */
	fprintf(stderr, ": %s (-e runs the container runtime's own command, as you)\n", strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

int cc_runner_start(struct cc_helper *r, cc_error *err)
{
	return cc_helper_start(r, runner_main, err);
}

int cc_runner_run(struct cc_helper *r, char **argv, struct cc_exit *out, cc_error *err)
{
	static char buf[CC_ARGV_BYTES];
	ssize_t len = cc_argv_pack(argv, buf, sizeof(buf));
	int status;

	if (len < 0 || cc_write_all(r->fd, buf, (size_t)len) < 0) {
		cc_helper_stop(r);
		return cc_fail(err, E2BIG, "the command is too long");
	}
	(void)close(r->fd); /* EOF: the runner execs */
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
	char path[256];
	cc_error e = { 0 };

	if (host && *host && strncmp(host, "unix://", 7) != 0)
		return 0; /* a remote daemon: the CLI will say */
	if (cc_api_socket("", "DOCKER_HOST", cc_docker_sockets, path, sizeof(path), &e) < 0)
		return cc_fail(err, e.code, "-e: %s", e.msg);
	if (!path[0])
		return cc_fail(err, ENOENT, "-e needs the Docker daemon's socket: none found (DOCKER_HOST, %s, %s)",
			       cc_docker_sockets[0], cc_docker_sockets[1]);
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
