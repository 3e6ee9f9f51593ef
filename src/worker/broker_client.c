#include "broker_client.h"

#include <fcntl.h>
#include <grp.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "config.h"

int cc_broker_spawn(struct cc_broker *b, cc_error *err)
{
	char *const argv[] = { (char *)"crashcart-broker", NULL };
	char *const envp[] = { NULL }; /* the broker takes nothing from the environment */
	posix_spawn_file_actions_t fa;
	int sv[2], r;

	b->sock = -1;
	b->pid = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return cc_failx(err, errno, "cannot create the broker socket");
	posix_spawn_file_actions_init(&fa);
	/* dup2 onto fd 3 clears FD_CLOEXEC (glibc does so even when sv[1] == 3);
	 * everything above stays closed. */
	posix_spawn_file_actions_adddup2(&fa, sv[1], CC_BROKER_FD);
	posix_spawn_file_actions_addclosefrom_np(&fa, CC_BROKER_FD + 1);
	r = posix_spawn(&b->pid, CRASHCART_BROKER_PATH, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	(void)close(sv[1]);
	if (r != 0) {
		(void)close(sv[0]);
		if (r == EACCES || r == EPERM) {
			struct group *g = getgrnam(CRASHCART_OPS_GROUP);
			return cc_fail(err, r, "permission denied running %s: only members of group '%s'%s may use crashcart",
				       CRASHCART_BROKER_PATH, CRASHCART_OPS_GROUP,
				       g ? "" : " (which does not exist on this host)");
		}
		if (r == ENOENT)
			return cc_fail(err, r, "%s is missing: install crashcart with `meson install`", CRASHCART_BROKER_PATH);
		return cc_failx(err, r, "cannot run %s", CRASHCART_BROKER_PATH);
	}
	b->sock = sv[0];
	return 0;
}

int cc_broker_finish(struct cc_broker *b)
{
	int status = 0;

	if (b->sock >= 0) {
		(void)close(b->sock);
		b->sock = -1;
	}
	if (b->pid > 0) {
		while (waitpid(b->pid, &status, 0) < 0 && errno == EINTR)
			;
		b->pid = -1;
	}
	return status;
}

int cc_broker_hello(struct cc_broker *b, cc_error *err)
{
	struct cc_msg req = { .type = CC_MSG_HELLO }, rep;
	int r;

	req.u.hello.version = CC_PROTO_VERSION;
	r = cc_call(b->sock, &req, CC_MSG_HELLO_OK, &rep, err);
	if (r < 0)
		return r;
	cc_msg_clear(&rep);
	return 0;
}

int cc_broker_target(struct cc_broker *b, enum cc_action action, const char *spec,
		     const struct cc_claim *claim, const char *resolve_error, cc_error *err)
{
	struct cc_msg req = { .type = CC_MSG_TARGET }, rep;
	int r;

	req.u.target = (struct cc_target){
		.action = action,
		.pid = claim->pid,
		.start_time = claim->start_time,
		.spec = (char *)spec,
		.runtime = (char *)claim->runtime,
		.id = (char *)claim->id,
		.name = (char *)claim->name,
		.resolve_error = (char *)(resolve_error ? resolve_error : ""),
	};
	r = cc_call(b->sock, &req, CC_MSG_TARGET_OK, &rep, err);
	if (r < 0)
		return r;
	cc_msg_clear(&rep);
	return 0;
}

int cc_broker_mount(struct cc_broker *b, const char *image, bool persistent,
		    bool *was_mounted, char **source, char **fstype, char **tidied, cc_error *err)
{
	struct cc_msg req = { .type = CC_MSG_MOUNT }, rep;
	int r;

	req.u.mount.image = (char *)image;
	req.u.mount.flags = persistent ? CC_MOUNT_PERSISTENT : 0;
	r = cc_call(b->sock, &req, CC_MSG_MOUNT_OK, &rep, err);
	if (r < 0)
		return r;
	*was_mounted = rep.u.mount_ok.was_mounted != 0;
	*source = TAKE_PTR(rep.u.mount_ok.source);
	*fstype = TAKE_PTR(rep.u.mount_ok.fstype);
	*tidied = TAKE_PTR(rep.u.mount_ok.tidied);
	cc_msg_clear(&rep);
	return 0;
}

int cc_broker_unmount(struct cc_broker *b, bool force, bool *was_mounted, char **tidied, cc_error *err)
{
	struct cc_msg req = { .type = CC_MSG_UNMOUNT, .u.unmount.flags = force ? CC_UNMOUNT_FORCE : 0 }, rep;
	int r = cc_call(b->sock, &req, CC_MSG_UNMOUNT_OK, &rep, err);

	if (r < 0)
		return r;
	*was_mounted = rep.u.unmount_ok.was_mounted != 0;
	*tidied = TAKE_PTR(rep.u.unmount_ok.tidied);
	cc_msg_clear(&rep);
	return 0;
}

int cc_broker_exec(struct cc_broker *b, char **argv, const char *term, bool pty, struct cc_exit *out, cc_error *err)
{
	struct cc_msg req = { .type = CC_MSG_EXEC }, rep;
	int r;

	req.u.exec.argv = argv;
	req.u.exec.term = (char *)(term ? term : "");
	req.u.exec.flags = pty ? CC_EXEC_PTY : 0;
	req.fds[0] = STDIN_FILENO;
	req.fds[1] = STDOUT_FILENO;
	req.fds[2] = STDERR_FILENO;
	req.nfds = 3;
	r = cc_call(b->sock, &req, CC_MSG_EXEC_DONE, &rep, err);
	if (r < 0)
		return r;
	*out = rep.u.exit;
	cc_msg_clear(&rep);
	return 0;
}

int cc_broker_exec_via(struct cc_broker *b, char **argv, cc_error *err)
{
	struct cc_msg req = { .type = CC_MSG_EXEC_VIA }, rep;
	int r;

	req.u.exec_via.argv = argv;
	r = cc_call(b->sock, &req, CC_MSG_EXEC_VIA_OK, &rep, err);
	if (r == 0)
		cc_msg_clear(&rep);
	return r;
}

int cc_broker_exec_via_end(struct cc_broker *b, const struct cc_exit *x, cc_error *err)
{
	struct cc_msg req = { .type = CC_MSG_EXEC_VIA_END }, rep;
	int r;

	req.u.exit = *x;
	r = cc_call(b->sock, &req, CC_MSG_EXEC_VIA_END_OK, &rep, err);
	if (r == 0)
		cc_msg_clear(&rep);
	return r;
}
