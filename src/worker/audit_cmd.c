#include "audit_cmd.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "auditlog.h"
#include "recording.h"

#define MAX_PAUSE 2.0 /* seconds of a recording's silence replayed at most (before --speed) */

/* A line to stderr like every other of the worker's: "crashcart: ", escaped. */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fputs("crashcart: ", stderr);
	(void)cc_fputs_escaped(line, stderr);
	fputc('\n', stderr);
}

static FILE *open_log(const char *path, cc_error *err)
{
	FILE *f = fopen(path, "re");
	if (!f)
		cc_failx(err, errno, "cannot open %s", path);
	return f;
}

/* The exec sessions of the log read from f (from its start), each checked
 * against its recording in dir. The directory is opened only when a
 * session has a digest to check. */
static int load_sessions(FILE *f, const char *dir, struct cc_sessions *s, cc_error *err)
{
	int dirfd = -1, dir_errno = 0, r;

	if (fseek(f, 0, SEEK_SET) < 0)
		return cc_failx(err, errno, "cannot read the audit log again");
	r = cc_sessions_read(f, s, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < s->n; i++) {
		if (dirfd < 0 && !dir_errno && s->v[i].end_rec == CC_END_REC_DIGEST) {
			dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (dirfd < 0)
				dir_errno = errno;
		}
		cc_session_check(&s->v[i], dirfd, dir_errno);
	}
	if (dirfd >= 0)
		(void)close(dirfd);
	return 0;
}

/* A missing end record or a recording the broker itself reported broken is
 * a warning: a broker killed mid-session, or a full disk, is not tampering;
 * it is printed and counted in the summary but does not fail verify. */
static int verify(const struct cc_args *a, cc_error *err)
{
	struct cc_sessions s;
	struct cc_sessions_tally t;
	size_t records = 0;
	char sum[512];
	int chain, r, n;
	FILE *f = open_log(a->target, err);

	if (!f)
		return -err->code;
	chain = cc_chain_verify(f, stdout, &records, err);
	size_t open_ops = 0;
	r = chain < 0 ? chain : load_sessions(f, a->sessions, &s, err);
	if (r < 0) {
		fclose(f);
		return r;
	}
	r = cc_sessions_report(&s, stdout, &t);
	cc_sessions_free(&s);
	if (r < 0) {
		fclose(f);
		return cc_failx(err, EIO, "cannot write the report");
	}
	r = fseek(f, 0, SEEK_SET) < 0 ? cc_failx(err, errno, "cannot read the audit log again")
				      : cc_open_operations(f, stdout, &open_ops, err);
	fclose(f);
	if (r == -EIO)
		return cc_failx(err, EIO, "cannot write the report");
	if (r < 0)
		return r;

	if (chain > 0)
		n = snprintf(sum, sizeof(sum), "%d of %zu records break the chain", chain, records);
	else
		n = snprintf(sum, sizeof(sum), "%zu records, chain intact", records);
	if (t.recorded || t.problems)
		n += snprintf(sum + n, sizeof(sum) - (size_t)n, ", %zu of %zu recordings verified", t.verified, t.recorded);
	if (t.problems)
		n += snprintf(sum + n, sizeof(sum) - (size_t)n, ", %zu session%s with a damaged recording or inconsistent records",
			      t.problems, t.problems == 1 ? "" : "s");
	if (t.no_end)
		n += snprintf(sum + n, sizeof(sum) - (size_t)n, ", %zu session%s without an end record (ended abnormally)",
			      t.no_end, t.no_end == 1 ? "" : "s");
	if (open_ops)
		n += snprintf(sum + n, sizeof(sum) - (size_t)n, ", %zu operation%s without an end record (ended abnormally)",
			      open_ops, open_ops == 1 ? "" : "s");
	if (t.warnings > t.no_end)
		snprintf(sum + n, sizeof(sum) - (size_t)n, ", %zu recording%s broke mid-session", t.warnings - t.no_end,
			 t.warnings - t.no_end == 1 ? "" : "s");
	if (chain > 0 || t.problems) {
		say("%s: %s", a->target, sum);
		return 1;
	}
	(void)cc_fputs_escaped(a->target, stdout);
	printf(": %s\n", sum);
	return 0;
}

static int show(const struct cc_args *a, cc_error *err)
{
	struct cc_sessions s;
	FILE *f = open_log(a->target, err);
	int r;

	if (!f)
		return -err->code;
	r = cc_audit_show(f, stdout, err);
	if (r == 0)
		r = load_sessions(f, a->sessions, &s, err);
	fclose(f);
	if (r < 0)
		return r;
	r = cc_sessions_print(&s, stdout);
	cc_sessions_free(&s);
	return r < 0 ? cc_failx(err, EIO, "cannot write the sessions") : 0;
}

/* ---- replay ---- */

/* Why the recording does not verify against the log ("" when it does). */
static void check_against_log(const struct cc_args *a, const char *id, const struct cc_digest *d, char *why,
			      size_t size, size_t *end_no)
{
	cc_error err = { 0 };
	struct cc_sessions s;
	size_t records;
	FILE *devnull, *f;
	int chain;

	why[0] = '\0';
	if (!id[0]) {
		snprintf(why, size, "the recording names no session");
		return;
	}
	if (!(f = open_log(a->log, &err))) {
		snprintf(why, size, "%s", err.msg);
		return;
	}
	devnull = fopen("/dev/null", "we");
	chain = devnull ? cc_chain_verify(f, devnull, &records, &err) : cc_failx(&err, errno, "/dev/null");
	if (devnull)
		fclose(devnull);
	if (chain > 0) {
		fclose(f);
		snprintf(why, size, "the chain of %s is broken (%d records: see crashcart audit verify)", a->log, chain);
		return;
	}
	if (chain == 0 && fseek(f, 0, SEEK_SET) < 0)
		chain = cc_failx(&err, errno, "cannot read it again");
	if (chain == 0)
		chain = cc_sessions_read(f, &s, &err);
	fclose(f);
	if (chain < 0) {
		snprintf(why, size, "%s: %s", a->log, err.msg);
		return;
	}
	const struct cc_session *ss = cc_sessions_find(&s, id);
	if (!ss)
		snprintf(why, size, "%s has no exec record of this session", a->log);
	else if (ss->begins > 1 || ss->ends > 1)
		snprintf(why, size, "%s has %zu exec begin and %zu exec end records for it", a->log, ss->begins, ss->ends);
	else if (!ss->ends)
		snprintf(why, size, "no end record (ended abnormally): nothing vouches for the recording");
	else if (ss->end_rec == CC_END_REC_ERROR)
		snprintf(why, size, "the recording broke mid-session (the end record says: %s)", ss->rec_error);
	else if (ss->end_rec != CC_END_REC_DIGEST)
		snprintf(why, size, "its end record (record %zu) carries no digest of a recording", ss->end_no);
	else if (d->bytes != ss->bytes)
		snprintf(why, size, "it was %s: %" PRIu64 " bytes, end record %zu says %" PRIu64,
			 d->bytes < ss->bytes ? "cut short" : "extended", d->bytes, ss->end_no, ss->bytes);
	else if (strcmp(d->sha256, ss->sha256) != 0)
		snprintf(why, size, "it was edited: its sha256 is not the one in end record %zu", ss->end_no);
	else
		*end_no = ss->end_no;
	cc_sessions_free(&s);
}

/* An argument as a shell would need it; quotes as '"'"' so that the escaping
 * printer (which doubles backslashes) keeps it readable. */
static int put_arg(FILE *out, const char *arg)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-";
	if (*arg && strspn(arg, safe) == strlen(arg))
		return cc_fputs_escaped(arg, out);
	fputc('\'', out);
	for (const char *p = arg; *p; p++) {
		if (*p == '\'') {
			fputs("'\"'\"'", out);
			continue;
		}
		/* one character at a time is not enough for UTF-8: take the run up
		 * to the next quote and escape it as a whole */
		size_t n = strcspn(p, "'");
		char *run = strndup(p, n);
		if (!run)
			return -ENOMEM;
		int r = cc_fputs_escaped(run, out);
		free(run);
		if (r < 0)
			return r;
		p += n - 1;
	}
	return fputc('\'', out) == EOF ? -EIO : 0;
}

static int print_exec(const struct cc_cast_event *ev, FILE *out)
{
	fprintf(out, "%12.6f  %7" PRId64 "  ", ev->t, ev->pid);
	if (strcmp(ev->syscall, "execve") != 0)
		fprintf(out, "(%s) ", ev->syscall);
	if (cc_fputs_escaped(ev->path, out) < 0)
		return -EIO;
	for (size_t i = 0; i < ev->argc; i++) {
		fputs(i ? " " : "  ", out);
		if (put_arg(out, ev->argv[i]) < 0)
			return -EIO;
	}
	return fputc('\n', out) == EOF ? -EIO : 0;
}

static void pause_for(double seconds)
{
	struct timespec ts = { .tv_sec = (time_t)seconds, .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int play(struct cc_cast *c, const struct cc_args *a, const char *path, cc_error *err)
{
	bool delays = !a->commands && a->speed > 0 && isatty(STDOUT_FILENO);
	struct cc_cast_event ev;
	double last = 0;
	int r;

	while ((r = cc_cast_next(c, &ev, err)) > 0) {
		if (a->commands) {
			if (ev.code == CC_CAST_EXEC && print_exec(&ev, stdout) < 0)
				return cc_failx(err, EIO, "cannot write the commands");
			continue;
		}
		if (ev.code != CC_CAST_OUTPUT)
			continue;
		if (delays && ev.t > last) {
			double dt = ev.t - last;
			pause_for((dt > MAX_PAUSE ? MAX_PAUSE : dt) / a->speed);
		}
		if (ev.t > last)
			last = ev.t;
		/* raw, as it was shown to the operator: see --help */
		if (fwrite(ev.data, 1, ev.len, stdout) != ev.len || fflush(stdout) == EOF)
			return cc_failx(err, EIO, "cannot write the output");
	}
	if (r < 0)
		cc_error_prefix(err, "%s", path);
	return r;
}

static int replay(const struct cc_args *a, cc_error *err)
{
	const char *arg = a->target;
	size_t len = strlen(arg), end_no = 0;
	bool by_id = !strchr(arg, '/') && !(len > 5 && strcmp(arg + len - 5, ".cast") == 0);
	char name[CC_SESSION_ID_MAX + 8], why[1024], id[CC_SESSION_ID_MAX + 1], shown[4096];
	const char *path = arg;
	struct cc_digest d;
	struct cc_cast c;
	int dirfd = -1, fd, r;

	if (by_id) {
		if (!cc_session_id_valid(arg))
			return cc_fail(err, EINVAL, "'%s' is neither a session id (hex, as audit show prints it) nor a .cast file",
				       arg);
		snprintf(name, sizeof(name), "%s.cast", arg);
		dirfd = open(a->sessions, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0)
			return cc_failx(err, errno, "cannot open the session directory %s", a->sessions);
		path = name;
	}
	snprintf(shown, sizeof(shown), "%s%s%s", by_id ? a->sessions : "", by_id ? "/" : "", path);
	fd = cc_recording_open(dirfd, path, err);
	if (dirfd >= 0)
		(void)close(dirfd);
	if (fd == -ENOENT && by_id)
		return cc_fail(err, ENOENT, "session %s: no recording %s in %s", arg, name, a->sessions);
	if (fd < 0)
		return fd;
	/* The digest and the replay read the same open file. */
	r = cc_digest_fd(fd, &d, err);
	if (r == 0 && lseek(fd, 0, SEEK_SET) < 0)
		r = cc_failx(err, errno, "cannot read %s", shown);
	if (r < 0) {
		(void)close(fd);
		return r;
	}
	FILE *f = fdopen(fd, "r");
	if (!f) {
		(void)close(fd);
		return cc_failx(err, errno, "cannot read %s", shown);
	}
	r = cc_cast_open(&c, f, err);
	if (r < 0) {
		fclose(f);
		cc_error_prefix(err, "%s", shown);
		return r;
	}
	snprintf(id, sizeof(id), "%s", by_id ? arg : c.h.session);
	if (by_id && strcmp(c.h.session, arg) != 0)
		snprintf(why, sizeof(why), "its header names session '%s'", c.h.session);
	else
		check_against_log(a, id, &d, why, sizeof(why), &end_no);

	if (why[0] && !a->force) {
		say("session %s: not replayed: the recording does not verify: %s (--force replays it anyway)",
		    id[0] ? id : "?", why);
		cc_cast_close(&c);
		fclose(f);
		return 1;
	}
	if (why[0])
		say("session %s: NOT verified: %s; replaying anyway (--force)", id[0] ? id : "?", why);
	else
		say("session %s: recording verified against end record %zu of %s (%" PRIu64 " bytes)", id, end_no, a->log,
		    d.bytes);
	r = play(&c, a, shown, err);
	cc_cast_close(&c);
	fclose(f);
	return r < 0 ? r : 0;
}

int cc_audit_command(const struct cc_args *a, cc_error *err)
{
	switch (a->mode) {
	case CC_MODE_AUDIT_VERIFY:
		return verify(a, err);
	case CC_MODE_AUDIT_SHOW:
		return show(a, err);
	case CC_MODE_AUDIT_REPLAY:
		return replay(a, err);
	case CC_MODE_EXEC:
	case CC_MODE_MOUNT:
	case CC_MODE_UNMOUNT:
	case CC_MODE_HELP:
	case CC_MODE_VERSION:
	case CC_MODE_LIST:
	case CC_MODE_CHECK_POLICY:
		break;
	}
	return cc_fail(err, EINVAL, "not an audit command");
}
