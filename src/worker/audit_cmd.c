#include "audit_cmd.h"

#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "auditlog.h"
#include "json.h"
#include "recording.h"

#define MAX_PAUSE 2.0 /* seconds of a recording's silence replayed at most (before --speed) */

/* One line to `to`: prefix, then the text escaped as one line
 * (cc_fputs_escaped: a log's text cannot forge lines or drive the
 * terminal), cut at 4 KiB. */
__attribute__((format(printf, 3, 0))) static void vline(FILE *to, const char *prefix, const char *fmt, va_list ap)
{
	char line[4096];
	vsnprintf(line, sizeof(line), fmt, ap);
	fputs(prefix, to);
	(void)cc_fputs_escaped(line, to);
	fputc('\n', to);
}

/* A line to stderr like every other of the worker's: "crashcart: ", escaped. */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline(stderr, "crashcart: ", fmt, ap);
	va_end(ap);
}

/* ---- reading the log: plain or gzip, one file or a rotated set ---- */

static void close_files(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			(void)close(fds[i]);
}

/* A read-only stream over the open files fds[0..n) one after the other,
 * each plain or gzip (zlib reads a file that is not gzip as it is), so that
 * a rotated set reads as the one log it was. Seeking: back to the start
 * only (load_sessions reads the log again, verify reads it twice). A file
 * is opened once (open_files) and read through its fd at every pass: every
 * pass reads the same files, even if logrotate moves them meanwhile. */
struct logs_cookie {
	size_t n, i;
	gzFile gz;
	bool own; /* fds are the stream's, closed with it (else the caller's) */
	int fds[];
};

static ssize_t logs_read(void *c_, char *buf, size_t size)
{
	struct logs_cookie *c = c_;

	while (c->i < c->n) {
		if (!c->gz) {
			/* (gzclose closes the fd it was given: a copy, at the start) */
			int fd = fcntl(c->fds[c->i], F_DUPFD_CLOEXEC, 0);
			if (fd < 0 || lseek(fd, 0, SEEK_SET) < 0 || !(c->gz = gzdopen(fd, "rb"))) {
				if (fd >= 0)
					(void)close(fd);
				return -1;
			}
		}
		int n = gzread(c->gz, buf, size > INT_MAX ? INT_MAX : (unsigned)size);
		if (n > 0)
			return n;
		int zerr = Z_OK;
		if (n == 0)
			(void)gzerror(c->gz, &zerr);
		if (n < 0 || zerr != Z_OK) {
			/* a damaged or cut-short .gz (Z_BUF_ERROR at its end): an
			 * error, not taken for the end of a short file */
			errno = EBADMSG;
			return -1;
		}
		(void)gzclose(c->gz);
		c->gz = NULL;
		c->i++;
	}
	return 0;
}

static int logs_seek(void *c_, off64_t *off, int whence)
{
	struct logs_cookie *c = c_;

	if (*off != 0 || whence != SEEK_SET) {
		errno = ESPIPE;
		return -1;
	}
	if (c->gz)
		(void)gzclose(c->gz);
	c->gz = NULL;
	c->i = 0;
	return 0;
}

static int logs_close(void *c_)
{
	struct logs_cookie *c = c_;

	if (c->gz)
		(void)gzclose(c->gz);
	if (c->own)
		close_files(c->fds, c->n);
	free(c);
	return 0;
}

/* paths[0..n) opened into fds, all before any is read, so that a missing
 * one is named at once; none open on failure. */
static int open_files(const char *const *paths, size_t n, int *fds, cc_error *err)
{
	for (size_t i = 0; i < n; i++) {
		fds[i] = open(paths[i], O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fds[i] >= 0)
			continue;
		if (errno == EMFILE)
			cc_fail(err, EMFILE, "cannot open %s: %zu files are more than this process may hold open (ulimit -n)",
				paths[i], n);
		else
			cc_failx(err, errno, "cannot open %s", paths[i]);
		close_files(fds, i);
		return -err->code;
	}
	return 0;
}

/* The stream over the files fds[0..n), which stay the caller's to close
 * unless own (then the stream's, even when it cannot be made); name: the
 * first file's, for an error. One file at a time has a second fd (zlib's). */
static FILE *open_logs(int *fds, size_t n, bool own, const char *name, cc_error *err)
{
	static const cookie_io_functions_t io = { .read = logs_read, .seek = logs_seek, .close = logs_close };
	struct logs_cookie *c = calloc(1, sizeof(*c) + n * sizeof(c->fds[0]));
	FILE *f;

	if (!c) {
		if (own)
			close_files(fds, n);
		cc_fail(err, ENOMEM, "out of memory");
		return NULL;
	}
	c->n = n;
	c->own = own;
	memcpy(c->fds, fds, n * sizeof(fds[0]));
	f = fopencookie(c, "r", io);
	if (!f) {
		cc_failx(err, errno, "cannot read %s", name);
		(void)logs_close(c);
	}
	return f;
}

/* A line of verify's report to stdout, escaped like say()'s. */
__attribute__((format(printf, 1, 2))) static void out(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline(stdout, "", fmt, ap);
	va_end(ap);
}

static FILE *open_log(const char *path, cc_error *err)
{
	int fd;
	if (open_files(&path, 1, &fd, err) < 0)
		return NULL;
	return open_logs(&fd, 1, true, path, err);
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

#define ZERO_PREV "0000000000000000000000000000000000000000000000000000000000000000"

/* The files of a rotated log in chain order: each file follows the one
 * whose last record its first record's "prev" names (the rotate record of
 * `audit link`), whatever order they were given in. Where no given file is
 * the one before, the chain is broken there (a file between them missing,
 * or one changed): a new segment starts, segments in the order of their
 * first records' timestamps. Prints a line per break; returns the number
 * of breaks, order[] gets the files with records, *norder their number. */
static int order_files(const struct cc_args *a, const struct cc_chain_ends *e, size_t *order, size_t *norder)
{
	size_t n = a->nfiles, heads = 0, k = 0;
	_cleanup_free_ size_t *pred = calloc(n, sizeof(*pred)), *succ = calloc(n, sizeof(*succ)),
			      *head = calloc(n, sizeof(*head));
	int breaks = 0;

	if (!pred || !succ || !head)
		return -ENOMEM;
	/* pred/succ: index + 1, 0 for none (SIZE_MAX: a second file after the same one) */
	for (size_t i = 0; i < n; i++) {
		if (!e[i].records)
			continue;
		for (size_t j = 0; j < n; j++) {
			if (j == i || !e[j].records || strcmp(e[j].last_hash, e[i].first_prev) != 0)
				continue;
			if (succ[j]) {
				/* two files follow the same one: one was given twice */
				out("%s: record 1: chain broken: %s follows the last record of %s too (the same file given twice?)",
				    a->files[i], a->files[succ[j] - 1], a->files[j]);
				breaks++;
				pred[i] = SIZE_MAX; /* reported: left out of the order */
				break;
			}
			pred[i] = j + 1;
			succ[j] = i + 1;
			break;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (e[i].records && !pred[i])
			head[heads++] = i;
	/* the segments by their first record's time (insertion sort: few) */
	for (size_t i = 1; i < heads; i++)
		for (size_t j = i; j > 0 && strcmp(e[head[j - 1]].first_ts, e[head[j]].first_ts) > 0; j--) {
			size_t t = head[j];
			head[j] = head[j - 1];
			head[j - 1] = t;
		}
	for (size_t h = 0; h < heads; h++) {
		size_t i = head[h];
		if (h == 0 && e[i].first_rotate && strcmp(e[i].first_prev, ZERO_PREV) != 0) {
			out("%s: record 1 continues the chain of %s, not given (rotated away): checked from here",
			    a->files[i], e[i].from);
		} else if (h > 0) {
			out("%s: record 1: chain broken: it follows neither the last record of %s nor that of any file given "
			    "(a rotated file between them is missing, or one was changed)",
			    a->files[i], a->files[order[k - 1]]);
			breaks++;
		}
		for (size_t guard = 0; guard < n; guard++) {
			order[k++] = i;
			if (!succ[i])
				break;
			i = succ[i] - 1;
		}
	}
	*norder = k;
	return breaks;
}

/* A missing end record or a recording the broker itself reported broken is
 * a warning: a broker killed mid-session, or a full disk, is not tampering;
 * it is printed and counted in the summary but does not fail verify. */
static int verify_files(const struct cc_args *a, const char *const *files, int *fds, size_t n, cc_error *err)
{
	size_t records = 0, norder = 0;
	_cleanup_free_ struct cc_chain_ends *e = calloc(n, sizeof(*e));
	_cleanup_free_ size_t *order = calloc(n, sizeof(*order));
	_cleanup_free_ const char **sorted = calloc(n, sizeof(*sorted));
	_cleanup_free_ int *sorted_fds = calloc(n, sizeof(*sorted_fds));
	struct cc_sessions s;
	struct cc_sessions_tally t;
	char sum[512], name[4096];
	int chain = 0, r, c;
	FILE *f;

	if (!e || !order || !sorted || !sorted_fds)
		return cc_fail(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (!(f = open_logs(&fds[i], 1, false, files[i], err)))
			return -err->code;
		c = cc_chain_scan(f, stdout, n > 1 ? files[i] : NULL, &e[i], err);
		fclose(f);
		if (c < 0 && err->code == EBADMSG)
			return cc_fail(err, EBADMSG, "%s: damaged or cut short (not a whole gzip file)", files[i]);
		if (c < 0) {
			cc_error_prefix(err, "%s", files[i]);
			return c;
		}
		chain += c;
		records += e[i].records;
	}
	if (n == 1) {
		if (e[0].first_rotate && strcmp(e[0].first_prev, ZERO_PREV) != 0)
			out("%s: record 1 continues the chain of %s, not given (audit verify %s*: the rotated files too)",
			    files[0], e[0].from, files[0]);
		sorted[0] = files[0];
		sorted_fds[0] = fds[0];
		norder = 1;
	} else {
		c = order_files(a, e, order, &norder);
		if (c < 0)
			return cc_fail(err, -c, "out of memory");
		chain += c;
		for (size_t i = 0; i < n; i++)
			if (!e[i].records)
				out("%s: no records", files[i]);
		for (size_t i = 0; i < norder; i++) {
			sorted[i] = files[order[i]];
			sorted_fds[i] = fds[order[i]];
			out("%s: %zu records", sorted[i], e[order[i]].records);
		}
	}
	/* The whole set, one stream read twice in chain order (a session's
	 * begin and end records may be in two files, so may an operation's):
	 * the sessions, then the mount, unmount and exec-via operations that
	 * never ended. */
	size_t open_ops = 0;
	f = NULL;
	memset(&s, 0, sizeof(s));
	if (norder) {
		if (!(f = open_logs(sorted_fds, norder, false, sorted[0], err)))
			return -err->code;
		r = load_sessions(f, a->sessions, &s, err);
		if (r < 0) {
			fclose(f);
			return r;
		}
	}
	r = cc_sessions_report(&s, stdout, &t);
	cc_sessions_free(&s);
	if (r < 0) {
		if (f)
			fclose(f);
		return cc_failx(err, EIO, "cannot write the report");
	}
	if (f) {
		if (fseek(f, 0, SEEK_SET) < 0)
			r = cc_failx(err, errno, "cannot read the audit log again");
		else
			r = cc_open_operations(f, stdout, &open_ops, err);
		fclose(f);
		if (r == -EIO)
			return cc_failx(err, EIO, "cannot write the report");
		if (r < 0)
			return r;
	}

	if (n == 1)
		snprintf(name, sizeof(name), "%s", files[0]);
	else if (norder)
		snprintf(name, sizeof(name), "%s .. %s (%zu files)", sorted[0], sorted[norder - 1], n);
	else
		snprintf(name, sizeof(name), "%zu files", n);
	if (chain > 0)
		c = snprintf(sum, sizeof(sum), "%d of %zu records break the chain", chain, records);
	else
		c = snprintf(sum, sizeof(sum), "%zu records, chain intact", records);
	if (t.recorded || t.problems)
		c += snprintf(sum + c, sizeof(sum) - (size_t)c, ", %zu of %zu recordings verified", t.verified, t.recorded);
	if (t.problems)
		c += snprintf(sum + c, sizeof(sum) - (size_t)c, ", %zu session%s with a damaged recording or inconsistent records",
			      t.problems, t.problems == 1 ? "" : "s");
	if (t.no_end)
		c += snprintf(sum + c, sizeof(sum) - (size_t)c, ", %zu session%s without an end record (ended abnormally)",
			      t.no_end, t.no_end == 1 ? "" : "s");
	if (open_ops)
		c += snprintf(sum + c, sizeof(sum) - (size_t)c, ", %zu operation%s without an end record (ended abnormally)",
			      open_ops, open_ops == 1 ? "" : "s");
	if (t.warnings > t.no_end)
		snprintf(sum + c, sizeof(sum) - (size_t)c, ", %zu recording%s broke mid-session", t.warnings - t.no_end,
			 t.warnings - t.no_end == 1 ? "" : "s");
	if (chain > 0 || t.problems) {
		say("%s: %s", name, sum);
		return 1;
	}
	(void)cc_fputs_escaped(name, stdout);
	printf(": %s\n", sum);
	return 0;
}

/* Each file opened once, before any is read: the scan of each and the
 * passes over the set in chain order read the same files. */
static int verify(const struct cc_args *a, cc_error *err)
{
	size_t n = a->nfiles ? a->nfiles : 1;
	const char *const *files = a->nfiles ? a->files : &a->target;
	_cleanup_free_ int *fds = calloc(n, sizeof(*fds));

	if (!fds)
		return cc_fail(err, ENOMEM, "out of memory");
	if (open_files(files, n, fds, err) < 0)
		return -err->code;
	int r = verify_files(a, files, fds, n, err);
	close_files(fds, n);
	return r;
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

/* ---- link: the first record of the file after a rotation ---- */

/* The rotate record: who linked, when, and from which file, with the last
 * record of that file as its "prev". */
static char *rotate_record(const char *rotated, const struct cc_chain_ends *e)
{
	struct cc_json j;
	struct timespec ts;
	struct tm tm;
	char when[64];
	char *line;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	cc_json_init(&j);
	cc_json_open(&j, NULL);
	cc_json_str(&j, "ts", when);
	cc_json_str(&j, "event", "rotate");
	cc_json_str(&j, "phase", "");
	cc_json_str(&j, "result", "ok");
	cc_json_u64(&j, "uid", getuid());
	cc_json_str(&j, "from", rotated);
	cc_json_u64(&j, "from_records", e->records);
	cc_json_close(&j);
	const char *text = cc_json_text(&j);
	line = text ? cc_chain_link_hash(text, e->records ? e->last_hash : ZERO_PREV) : NULL;
	cc_json_free(&j);
	return line;
}

/* The new log at a->log, made in one step: a temporary file in its
 * directory with the rotated file's owner, group and mode, the record, then
 * a rename that refuses to replace anything. Or, where logrotate's
 * "create" made an empty file already, the record goes into that one. */
static int start_log(const struct cc_args *a, const struct stat *rot, const char *line, cc_error *err)
{
	struct stat st;
	int fd, r;

	if (lstat(a->log, &st) == 0) {
		if (!S_ISREG(st.st_mode))
			return cc_fail(err, EINVAL, "%s is not a regular file", a->log);
		fd = open(a->log, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return cc_failx(err, errno, "cannot open %s", a->log);
		if (flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0) {
			r = cc_failx(err, errno, "cannot lock %s", a->log);
		} else if (st.st_size != 0) {
			r = cc_fail(err, EEXIST, "%s has records already: it is not a log just rotated (already linked?)",
				    a->log);
		} else if ((r = cc_write_all(fd, line, strlen(line))) < 0 || fsync(fd) < 0) {
			r = cc_failx(err, r < 0 ? -r : errno, "cannot write %s", a->log);
		}
		(void)close(fd);
		return r;
	}
	if (errno != ENOENT)
		return cc_failx(err, errno, "cannot look at %s", a->log);

	_cleanup_free_ char *d = strdup(a->log), *b = strdup(a->log), *tmp = NULL;
	if (!d || !b || asprintf(&tmp, "%s/.%s.link.XXXXXX", dirname(d), basename(b)) < 0) {
		tmp = NULL;
		return cc_fail(err, ENOMEM, "out of memory");
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return cc_failx(err, errno, "cannot create a file beside %s", a->log);
	if (fchown(fd, rot->st_uid, rot->st_gid) < 0 || fchmod(fd, rot->st_mode & 07777) < 0)
		r = cc_failx(err, errno, "cannot give %s the owner and mode of the rotated file", tmp);
	else if ((r = cc_write_all(fd, line, strlen(line))) < 0 || fsync(fd) < 0)
		r = cc_failx(err, r < 0 ? -r : errno, "cannot write %s", tmp);
	else if (renameat2(AT_FDCWD, tmp, AT_FDCWD, a->log, RENAME_NOREPLACE) < 0)
		r = cc_failx(err, errno, "cannot put the new log at %s", a->log);
	else
		r = 0;
	(void)close(fd);
	if (r < 0) {
		(void)unlink(tmp);
		return r;
	}
	int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		(void)close(dfd);
	}
	return 0;
}

/* logrotate has moved the log to ROTATED (postrotate). Holding the lock the
 * brokers write with on ROTATED, so that no record lands in it after its
 * last one is read: the new log's first record is chained to that last
 * one. A broker that still holds ROTATED open sees the new file at the
 * log's path once it has the lock, and writes there (broker/audit.c). */
static int link_log(const struct cc_args *a, cc_error *err)
{
	const char *rotated = a->target;
	struct cc_chain_ends e;
	struct stat rot;
	FILE *f, *devnull;
	_cleanup_free_ char *line = NULL;
	int fd, r, problems;

	fd = open(rotated, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return cc_failx(err, errno, "cannot open %s", rotated);
	if (fstat(fd, &rot) < 0 || !S_ISREG(rot.st_mode)) {
		(void)close(fd);
		return cc_fail(err, EINVAL, "%s is not a regular file", rotated);
	}
	if (flock(fd, LOCK_EX) < 0) {
		r = cc_failx(err, errno, "cannot lock %s", rotated);
		(void)close(fd);
		return r;
	}
	/* read through a second descriptor: closing the stream must not drop
	 * the lock (it belongs to fd's open file) */
	f = open_log(rotated, err);
	devnull = fopen("/dev/null", "we");
	if (!f || !devnull) {
		if (!devnull)
			cc_failx(err, errno, "/dev/null");
		r = -err->code;
		goto out;
	}
	problems = cc_chain_scan(f, devnull, NULL, &e, err);
	if (problems < 0) {
		cc_error_prefix(err, "%s", rotated);
		r = problems;
		goto out;
	}
	if (problems)
		say("warning: %s: %d records break its chain (crashcart audit verify %s): linking to its last record anyway",
		    rotated, problems, rotated);
	line = rotate_record(rotated, &e);
	if (!line) {
		r = cc_fail(err, ENOMEM, "cannot format the rotate record");
		goto out;
	}
	r = start_log(a, &rot, line, err);
	/* No broker writes to ROTATED from here on (each one checks under this
	 * lock and follows to the new file): nobody needs to, so nobody may
	 * open it for writing again. (A descriptor opened before stays as it
	 * was: see SECURITY.md.) */
	if (r == 0 && fchmod(fd, rot.st_mode & 07555) < 0)
		say("warning: cannot make %s read-only: %s", rotated, strerror(errno));
	if (r == 0) {
		(void)cc_fputs_escaped(a->log, stdout);
		printf(": started, its first record chained to the last of ");
		(void)cc_fputs_escaped(rotated, stdout);
		printf(" (%zu records)\n", e.records);
	}
out:
	if (f)
		fclose(f);
	if (devnull)
		fclose(devnull);
	(void)close(fd); /* and so the lock: brokers go on, into the new file */
	return r;
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
	case CC_MODE_AUDIT_LINK:
		return link_log(a, err);
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
