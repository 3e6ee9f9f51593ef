/* crashcart-broker: the only code that runs with privilege. It is started
 * by crashcart (the worker) with a socket on fd 3 and takes nothing from its
 * argv or environment. At start it checks its own capabilities, learns who
 * the caller is from its own real ids, makes the user namespace for its
 * idmapped writes (idmap.c), forks the launcher, and then serves requests
 * until the worker hangs up. */
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "caps.h"
#include "config.h"
#include "seccomp.h"
#include "session.h"

#define WORKER_FD 3

/* The caller is whoever we run as: file capabilities do not change ids.
 * A set-uid mismatch would mean someone wrapped us: refuse it. */
static int read_caller(struct cc_caller *c, cc_error *err)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	struct passwd *pw;

	if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0)
		return cc_failx(err, errno, "cannot read the caller's ids");
	if (ruid != euid || euid != suid || rgid != egid || egid != sgid)
		return cc_fail(err, EPERM, "inconsistent real/effective ids: crashcart-broker is not set-id");
	c->uid = ruid;
	c->gid = rgid;
	c->ngroups = getgroups((int)ARRAY_SIZE(c->groups), c->groups);
	if (c->ngroups < 0)
		return cc_failx(err, errno, "cannot read the caller's groups");
	pw = getpwuid(c->uid);
	snprintf(c->user, sizeof(c->user), "%s", pw ? pw->pw_name : "?");
	/* The kernel's audit identity: set at login, kept across su/sudo. */
	if (cc_read_file_at(AT_FDCWD, "/proc/self/loginuid", c->loginuid, sizeof(c->loginuid)) < 0)
		strcpy(c->loginuid, "");
	if (cc_read_file_at(AT_FDCWD, "/proc/self/sessionid", c->sessionid, sizeof(c->sessionid)) < 0)
		strcpy(c->sessionid, "");
	ssize_t n = readlink("/proc/self/fd/0", c->tty, sizeof(c->tty) - 1);
	c->tty[n > 0 ? n : 0] = '\0';
	/* a pipe or file, not a terminal; /dev/null is under /dev/ too */
	if (strncmp(c->tty, "/dev/", 5) != 0 || !isatty(STDIN_FILENO))
		strcpy(c->tty, "");
	return 0;
}

static int check_group(const struct cc_caller *c, cc_error *err)
{
	struct group *g = getgrnam(CRASHCART_OPS_GROUP);

	if (!g)
		return cc_fail(err, EPERM, "the operators group '%s' does not exist", CRASHCART_OPS_GROUP);
	if (c->gid == g->gr_gid)
		return 0;
	for (int i = 0; i < c->ngroups; i++)
		if (c->groups[i] == g->gr_gid)
			return 0;
	return cc_fail(err, EPERM, "user %s (uid %u) is not in the operators group '%s'", c->user, c->uid,
		       CRASHCART_OPS_GROUP);
}

static int check_socket(int fd)
{
	int type = 0;
	socklen_t len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET)
		return -1;
	return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* Everything that can fail before serving; the first failure is kept and
 * given as the answer to the worker's requests (only the worker prints). */
static int start(struct session *s, cc_error *err)
{
	int r;

	/* The caller, the policy and the audit sinks first (they need no
	 * capability), so that every later start-up refusal is on record. */
	r = read_caller(&s->caller, err);
	if (r < 0)
		return r;
	/* The policy names the audit sinks; if it cannot be loaded, the refusal
	 * still goes to the build-time file. */
	cc_error perr = { 0 };
	s->policy_loaded = cc_policy_load(CRASHCART_POLICY, &s->policy, &perr) == 0;
	r = s->policy_loaded ? cc_audit_open(s->policy.sinks, s->policy.require_all, err)
			     : cc_audit_open(CC_SINK_FILE, false, err);
	if (r < 0) {
		cc_error gerr;
		if (check_group(&s->caller, &gerr) < 0)
			*err = gerr; /* the real reason a non-member cannot write it */
		return r;
	}
	r = check_group(&s->caller, err);
	if (r < 0)
		return r;
	if (!s->policy_loaded) {
		*err = perr;
		return -perr.code;
	}
	r = cc_caps_init(err);
	if (r < 0)
		return r;
	/* The operator's umask must not decide the mode of /dev/crashcart. */
	umask(022);
	/* The user namespace for idmapped writes into the container's /dev,
	 * made now: the strict filter below has no clone or unshare. */
	r = cc_idmap_init(s->caller.uid, s->caller.gid, err);
	if (r < 0)
		return r;
	r = cc_mntns_of_self(&s->host_mntns, err);
	if (r < 0)
		return r;
	s->host_mntns_fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (s->host_mntns_fd < 0)
		return cc_failx(err, errno, "cannot open the broker's mount namespace");
	/* The devices cgroup the session's processes will live in (devcg.c):
	 * opened while CAP_SYS_ADMIN may still be raised. Without it a tool
	 * cannot be started (session.c refuses every exec with the reason);
	 * mounting and unmounting still work. */
	struct cc_devcg devcg;
	s->devcg_ok = cc_devcg_open(&devcg, &s->devcg_err) == 0;
	/* The launcher is forked before the filter: the tool descends from it,
	 * never from a process under the broker's strict filter. */
	r = cc_launcher_start(&s->launcher_pid, &s->launcher_sock, err);
	if (r < 0) {
		cc_devcg_close(&devcg);
		return r;
	}
	/* Moved before it is sent anything: what it forks is born inside. */
	if (s->devcg_ok)
		s->devcg_ok = cc_devcg_join(&devcg, s->launcher_pid, &s->devcg_err) == 0;
	cc_devcg_close(&devcg);
	/* The profile capabilities (-Dprofiles=) are the launcher's alone. */
	return cc_caps_keep_base(err);
}

int main(int argc, char **argv)
{
	struct session s;
	int r;

	(void)argc; /* nothing from the caller but requests: argv[0] is only renamed in the reaper */
	cc_launcher_set_title(argc > 0 ? argv[0] : NULL);
	if (check_socket(WORKER_FD) < 0) {
		fprintf(stderr, "crashcart-broker: not to be run directly; it is started by crashcart\n");
		return 2;
	}
	/* ^C, ^\ and a hang-up go to the whole foreground process group: the
	 * broker finishes what it does and cleans up when the worker leaves. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	cc_session_init(&s, WORKER_FD);
	if (start(&s, &s.startup) < 0)
		s.startup_failed = true;
	/* Confined from here on, whether or not start-up went well: a broker
	 * that only refuses still parses what the worker sends. */
	cc_error ferr = { 0 };
	if (cc_seccomp_load(CC_FILTER_BROKER, &ferr) < 0 && !s.startup_failed) {
		s.startup = ferr;
		s.startup_failed = true;
	}
	do {
		r = cc_session_step(&s);
		cc_idmap_reap(false); /* the idmapping child, once it has exited */
	} while (r > 0);
	cc_session_end(&s);
	(void)cc_audit_sync(&(cc_error){ 0 }); /* whatever a hang-up left deferred */
	if (s.launcher_sock >= 0)
		(void)close(s.launcher_sock);
	if (s.launcher_pid > 0)
		while (waitpid(s.launcher_pid, NULL, 0) < 0 && errno == EINTR)
			;
	cc_idmap_reap(true);
	return r < 0 ? 1 : 0;
}
