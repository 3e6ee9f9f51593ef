/* crashcart: the command users run. It holds no capability at any time: it
 * parses the command line, resolves the container, and asks the broker
 * (crashcart-broker) to do the privileged parts. */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>

#include "args.h"
#include "audit_cmd.h"
#include "broker_client.h"
#include "config.h"
#include "exec_via.h"
#include "policy.h"
#include "resolve.h"
#include "seccomp.h"
#include "spawner.h"
#include "terminal.h"

enum {
	EXIT_CC_FAILED = 125,      /* crashcart's own failure (docker/podman convention) */
	EXIT_CMD_NOT_EXECUTABLE = 126,
	EXIT_CMD_NOT_FOUND = 127,
};

static int verbose;
/* The broker went away while a tool ran: main() says why, in one line. */
static bool broker_gone;

/* Every line the worker writes to stderr goes through here. Messages carry
 * text from outside (the target spec, container names and cgroup paths,
 * a runtime's answer, the broker's reply): each is escaped as one line
 * (cc_fputs_escaped), so that it cannot forge other lines or drive the
 * terminal. Errors are at most a cc_error; longer text is cut. */
__attribute__((format(printf, 1, 0))) static void vsay(const char *fmt, va_list ap)
{
	char line[2 * sizeof(((cc_error *)0)->msg)];

	vsnprintf(line, sizeof(line), fmt, ap);
	fputs("crashcart: ", stderr);
	(void)cc_fputs_escaped(line, stderr);
	fputc('\n', stderr);
}

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

static int fail(const cc_error *e)
{
	say("%s", e->msg);
	return EXIT_CC_FAILED;
}

__attribute__((format(printf, 1, 2))) static void info(const char *fmt, ...)
{
	va_list ap;
	if (!verbose)
		return;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

/* 0, 1 and 2 are handed to the tool; make sure they exist. */
static void ensure_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		struct stat st;
		if (fstat(fd, &st) < 0 && errno == EBADF) {
			int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
			if (n >= 0 && n != fd)
				(void)close(n);
		}
	}
}

static int exit_code_of(const struct cc_exit *x, char **cmd)
{
	const char *what = cmd && cmd[0] ? cmd[0] : "the shell";

	switch (x->kind) {
	case CC_EXIT_EXITED:
		return (int)(x->value & 0xff);
	case CC_EXIT_SIGNALED:
		return 128 + (int)(x->value & 0x7f);
	case CC_EXIT_EXEC_FAILED:
		if (x->value == ENOENT && cmd && cmd[0] && !strchr(cmd[0], '/'))
			/* the image only: the container's own programs need a path */
			say("%s: not in the image (/dev/crashcart/bin, /dev/crashcart/sbin); "
			    "to run the container's own, give its path (e.g. /usr/bin/%s)", what, what);
		else
			say("%s: %s", what, strerror((int)x->value));
		return x->value == ENOENT ? EXIT_CMD_NOT_FOUND : EXIT_CMD_NOT_EXECUTABLE;
	case CC_EXIT_LOST:
		say("the session's reaper was killed (from inside the container, or the container ended): "
		    "processes the session started may still run there");
		return EXIT_CC_FAILED;
	default:
		say("the broker reported an unknown exit kind %u", x->kind);
		return EXIT_CC_FAILED;
	}
}

static int run(const struct cc_args *a, struct cc_broker *b, struct cc_helper *runner)
{
	static const enum cc_action actions[] = {
		[CC_MODE_EXEC] = CC_ACT_EXEC,
		[CC_MODE_MOUNT] = CC_ACT_MOUNT,
		[CC_MODE_UNMOUNT] = CC_ACT_UNMOUNT,
	};
	cc_error err = { 0 }, rerr = { 0 };
	struct cc_claim claim;
	bool was_mounted;
	int r;

	r = cc_broker_hello(b, &err);
	if (r < 0)
		return fail(&err);

	/* A resolution failure still goes to the broker, so that the refusal
	 * is on record; the broker answers with the error. */
	r = cc_resolve(&cc_resolve_host, a->target, &claim, &rerr);
	r = cc_broker_target(b, a->exec_via ? CC_ACT_EXEC_VIA : actions[a->mode], a->target, &claim,
			     r < 0 ? rerr.msg : "", &err);
	if (r < 0)
		return fail(&err);
	info("target %s is %s %s, PID %u", a->target, claim.runtime, claim.id, claim.pid);
	if (claim.note[0])
		info("%s", claim.note);

	_cleanup_strv_ char **via = NULL;
	if (a->exec_via && cc_exec_via_argv(&claim, a->cmd, isatty(STDIN_FILENO), &via, &err) < 0)
		return fail(&err);

	_cleanup_free_ char *tidied = NULL;
	if (a->mode == CC_MODE_UNMOUNT) {
		r = cc_broker_unmount(b, a->force, &was_mounted, &tidied, &err);
		if (r < 0)
			return fail(&err);
		if (tidied && tidied[0])
			say("tidied: %s", tidied);
		if (was_mounted)
			info("unmounted /dev/crashcart");
		else if (!tidied || !tidied[0])
			say("/dev/crashcart was not mounted in PID %u: nothing to do", claim.pid);
		return 0;
	}

	_cleanup_free_ char *source = NULL, *fstype = NULL;
	r = cc_broker_mount(b, a->image, a->mode == CC_MODE_MOUNT, &was_mounted, &source, &fstype, &tidied, &err);
	if (r < 0)
		return fail(&err);
	if (tidied && tidied[0])
		say("tidied: %s", tidied);
	info("%s %s (%s from %s) at /dev/crashcart", was_mounted ? "found" : "mounted", a->image, fstype, source);
	if (a->mode == CC_MODE_MOUNT) {
		if (was_mounted)
			say("/dev/crashcart was already mounted in PID %u; it stays until -u", claim.pid);
		return 0;
	}

	struct cc_exit x;
	if (a->exec_via) {
		/* While the runtime's exec runs, ^C and ^\ are for it (it shares
		 * our process group); crashcart waits for it, like system(3). */
		struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
		sigaction(SIGINT, &ign, &old_int);
		sigaction(SIGQUIT, &ign, &old_quit);
		r = cc_broker_exec_via(b, via, &err);
		if (r == 0)
			r = cc_runner_run(runner, via, &x, &err);
		if (r == 0)
			r = cc_broker_exec_via_end(b, &x, &err);
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
	} else {
		/* A pseudo-terminal when we are at one (or -t): the terminal is
		 * raw here and every key goes to the tool's own terminal. Without
		 * one, ^C ends crashcart, and the broker then ends the session. */
		bool pty = a->tty >= 0 ? a->tty == 1 : isatty(STDIN_FILENO);
		if (pty && isatty(STDIN_FILENO) && cc_term_raw(&err) < 0)
			return fail(&err);
		r = cc_broker_exec(b, a->cmd, getenv("TERM"), pty, &x, &err);
		cc_term_restore();
		if (r < 0 && err.code == ECONNRESET) {
			broker_gone = true;
			return EXIT_CC_FAILED;
		}
	}
	if (r < 0)
		return fail(&err);
	return exit_code_of(&x, a->cmd);
}

/* The commands that need no broker: they read only what the caller may
 * read anyway (the resolver's view, a policy file, an audit log). */
static int local_command(const struct cc_args *a)
{
	cc_error err = { 0 };
	int r;

	switch (a->mode) {
	case CC_MODE_LIST: {
		struct cc_container *c = NULL;
		size_t n = 0;
		if (cc_list(&cc_resolve_host, &c, &n, &err) < 0)
			return fail(&err);
		r = a->json ? cc_list_print_json(stdout, c, n) : cc_list_print_table(stdout, c, n);
		free(c);
		return r < 0 ? EXIT_CC_FAILED : 0;
	}
	case CC_MODE_CHECK_POLICY: {
		struct cc_policy p;
		const char *path = a->target ? a->target : CRASHCART_POLICY;
		/* The installed file gets the broker's ownership checks too. */
		if (a->target) {
			FILE *f = fopen(path, "re");
			if (!f) {
				cc_failx(&err, errno, "cannot open %s", path);
				return fail(&err);
			}
			r = cc_policy_parse_file(f, path, &p, &err);
			fclose(f);
		} else {
			r = cc_policy_load(path, &p, &err);
		}
		if (r < 0)
			return fail(&err);
		(void)cc_fputs_escaped(path, stdout);
		printf(": valid\n");
		cc_policy_describe(&p, stdout);
		cc_policy_free(&p);
		return 0;
	}
	case CC_MODE_AUDIT_VERIFY:
	case CC_MODE_AUDIT_SHOW:
	case CC_MODE_AUDIT_REPLAY:
	case CC_MODE_AUDIT_LINK:
		r = cc_audit_command(a, &err);
		return r < 0 ? fail(&err) : r;
	case CC_MODE_EXEC:
	case CC_MODE_MOUNT:
	case CC_MODE_UNMOUNT:
	case CC_MODE_HELP:
	case CC_MODE_VERSION:
		break;
	}
	return EXIT_CC_FAILED;
}

/* When the broker cannot even be started (the caller is not in the
 * operators group), or was killed, the broker's audit trail cannot record it:
 * the worker reports it to the local syslog, which stamps the sender's
 * credentials (SCM_CREDENTIALS) itself. Best effort: nothing happened. */
static void log_refusal(const struct cc_args *a, const cc_error *e)
{
	static const char *const modes[] = { "exec", "mount", "unmount" };
	char target[256], msg[sizeof(e->msg)];

	/* escaped like the terminal's lines: the log is read on terminals too */
	cc_escape(a->target ? a->target : "", target, sizeof(target));
	cc_escape(e->msg, msg, sizeof(msg));
	openlog("crashcart", LOG_PID, LOG_AUTHPRIV);
	syslog(LOG_WARNING, "%s: uid=%u action=%s target=%s: %s", broker_gone ? "broker lost" : "refused",
	       (unsigned)getuid(), a->mode <= CC_MODE_UNMOUNT ? modes[a->mode] : "?", target, msg);
	closelog();
}

/* A bare number naming a live process: resolve.c takes it as that PID
 * and looks nothing up by name (pid:// likewise). */
static bool target_is_live_pid(const char *spec)
{
	char path[32];
	if (spec && strncmp(spec, "pid://", 6) == 0)
		spec += 6;
	if (!spec || !*spec || strlen(spec) > 10 || strspn(spec, "0123456789") != strlen(spec))
		return false;
	snprintf(path, sizeof(path), "/proc/%s", spec);
	return access(path, F_OK) == 0;
}

int main(int argc, char **argv)
{
	struct cc_args a;
	struct cc_broker b;
	cc_error err = { 0 };
	int code;

	ensure_std_fds();
	if (cc_parse_args(argc, argv, &a, &err) < 0)
		return fail(&err);
	if (a.mode == CC_MODE_HELP) {
		cc_usage(stdout);
		return 0;
	}
	if (a.mode == CC_MODE_VERSION) {
		printf("crashcart %s\n", CRASHCART_VERSION);
		return 0;
	}
	verbose = a.verbose;
	if (a.mode >= CC_MODE_LIST)
		return local_command(&a);

	/* Order matters: the broker must be exec'd before NO_NEW_PRIVS, which
	 * makes the kernel ignore its file capabilities. */
	if (cc_broker_spawn(&b, &err) < 0) {
		if (err.code == EACCES || err.code == EPERM)
			log_refusal(&a, &err);
		return fail(&err);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		cc_failx(&err, errno, "cannot set no_new_privs");
		cc_broker_finish(&b);
		return fail(&err);
	}
	/* -e: the runtime's CLI must not inherit the worker's filter. */
	struct cc_helper runner = CC_HELPER_INIT;
	if (a.exec_via && cc_runner_start(&runner, &err) < 0) {
		cc_broker_finish(&b);
		return fail(&err);
	}
	/* A runtime CLI for name resolution (podman) runs from here, unfiltered:
	 * forked only when a name may need it, not for a live PID. */
	if (target_is_live_pid(a.target))
		cc_spawner_skip();
	else if (cc_spawner_start(&err) < 0) {
		cc_helper_stop(&runner);
		cc_broker_finish(&b);
		return fail(&err);
	}
	/* From here on the worker reads container-controlled data (/proc). */
	if (cc_seccomp_load(CC_FILTER_WORKER, &err) < 0) {
		cc_spawner_stop();
		cc_helper_stop(&runner);
		cc_broker_finish(&b);
		return fail(&err);
	}
	code = run(&a, &b, &runner);
	cc_spawner_stop();
	cc_helper_stop(&runner);
	/* Closing the socket ends the session: the broker unmounts what it
	 * mounted for it; wait so that this is done when crashcart returns. */
	int status = cc_broker_finish(&b);
	if (WIFSIGNALED(status) && (broker_gone || code != EXIT_CC_FAILED)) {
		/* Its launcher died with it, and the session's reaper then ended
		 * the tool's processes; nobody is left to unmount. */
		cc_fail(&err, EPIPE, "the broker was killed by signal %d: the session's processes were ended; "
			"/dev/crashcart stays mounted until a later session or crashcart -u removes it",
			WTERMSIG(status));
		log_refusal(&a, &err);
		return fail(&err);
	}
	if (broker_gone) {
		cc_fail(&err, ECONNRESET, "the broker went away while the tool ran (exit status %d)",
			WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return fail(&err);
	}
	return code;
}
