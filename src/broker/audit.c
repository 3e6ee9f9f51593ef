/* The audit sinks. A record is offered to every sink the policy names;
 * "require = any" (default) needs one of them to take it, "all" needs every
 * one. A record no sink took is a failure, and the operation it announces
 * does not happen (fail closed).
 *
 *   file      JSON lines at the build-time path, each carrying the sha256 of
 *             the line before it ("prev"): flock, read the last line, append
 *             with one write(2), fsync. Catches edits, deletions, reordering.
 *   syslog    RFC 5424 over the local socket; the receiver learns our
 *             credentials from the kernel (SO_PASSCRED), not from us.
 *   journald  native protocol; journald adds _UID, _PID, _EXE, _CAP_EFFECTIVE
 *             itself, which no caller can fake.
 *   auditd    AUDIT_USER_* records through libaudit (needs CAP_AUDIT_WRITE,
 *             meson -Daudit_write=true): the kernel stamps them. */
#include "broker.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "auditlog.h"
#include "caps.h"
#include "config.h"
#include "json.h"
#include "policy.h"

#if CRASHCART_AUDIT_WRITE
#include <libaudit.h>
#endif

#ifndef EXT4_SUPER_MAGIC
#define EXT4_SUPER_MAGIC 0xEF53
#endif

#define TAIL_MAX (256 * 1024) /* longest record we will chain to */
#define TAIL_FIRST 4096        /* what one record needs (~1 KiB): read this first */

/* One row per sink: how to open it (at start-up, before the broker's
 * seccomp filter: later, records are only written) and how to write one
 * record to it. */
struct sink {
	unsigned kind;
	const char *name;
	int fd; /* the file sink's moves to the new file when logrotate moved ours away */
	int (*open)(cc_error *err);
	int (*write)(struct sink *sk, const char *record, const struct cc_audit_summary *s, cc_error *err);
};

static char session_id[33];
static char hostname[256];

const char *cc_audit_session(void)
{
	return session_id;
}

static int dgram_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		(void)close(fd);
		return e;
	}
	return fd;
}

/* ---- file: hash-chained JSON lines ---- */

/* A record written with defer_sync is in the file (one write(2) under the
 * lock: every reader sees it, a killed broker cannot take it back) but not
 * yet on the disk: the next record written without defer_sync, or
 * cc_audit_sync(), fsyncs it with everything before it. See SECURITY.md,
 * "Audit", for which records may wait and why. */
static bool file_unsynced;

/* The last line of the file (without its newline) into a malloc'd string,
 * "" for an empty file; *torn: the file does not end with a newline. A
 * record is about 1 KiB: read the last 4 KiB, and only when no line starts
 * there, read more (up to TAIL_MAX), rather than 256 KiB for every record. */
static char *last_line(int fd, bool *torn)
{
	off_t size = lseek(fd, 0, SEEK_END);
	if (size < 0)
		return NULL;
	for (size_t want = TAIL_FIRST;; want *= 4) {
		if (want > TAIL_MAX)
			want = TAIL_MAX;
		if ((off_t)want > size)
			want = (size_t)size;
		char *buf = malloc(want + 1);
		if (!buf)
			return NULL;
		ssize_t n = pread(fd, buf, want, size - (off_t)want);
		if (n != (ssize_t)want) {
			free(buf);
			return NULL;
		}
		buf[n] = '\0';
		*torn = n > 0 && buf[n - 1] != '\n';
		if (n > 0 && buf[n - 1] == '\n')
			buf[--n] = '\0';
		char *start = strrchr(buf, '\n');
		if (!start && (off_t)want < size && want < TAIL_MAX) {
			free(buf); /* the line starts further back */
			continue;
		}
		start = start ? start + 1 : buf;
		if (start == buf && (off_t)want < size) {
			free(buf); /* a last line longer than TAIL_MAX: not one of ours */
			return NULL;
		}
		memmove(buf, start, strlen(start) + 1);
		return buf;
	}
}

static int file_open(cc_error *err)
{
	/* No O_CREAT: the file is made at install time with its owner and
	 * mode; a missing file is a broken install, not to be papered over.
	 * Except for a moment at rotation: logrotate has moved it away and
	 * `crashcart audit link` (postrotate) is about to put the new one in
	 * place, so ENOENT is tried again for up to a second. */
	for (int tries = 0;; tries++) {
		int fd = open(CRASHCART_AUDIT_LOG, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0)
			return fd;
		if (errno != ENOENT || tries == 20)
			return cc_failx(err, errno, "cannot open the audit log %s", CRASHCART_AUDIT_LOG);
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		(void)nanosleep(&ts, NULL);
	}
}

/* The file at the audit log's path once logrotate moved ours away (its
 * postrotate, `crashcart audit link`, makes the new file while holding the
 * lock of the old one, which fd holds now): opened and locked, or -1 when
 * fd is still the file at the path, or there is none yet (then the records
 * go on in the old file, before the link record that will follow them). */
static int rotated_to(int fd)
{
	struct stat here, there;
	if (fstat(fd, &here) < 0 || stat(CRASHCART_AUDIT_LOG, &there) < 0)
		return -1;
	if (here.st_dev == there.st_dev && here.st_ino == there.st_ino)
		return -1;
	int nfd = open(CRASHCART_AUDIT_LOG, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (nfd < 0)
		return -1;
	if (flock(nfd, LOCK_EX) < 0) {
		(void)close(nfd);
		return -1;
	}
	return nfd;
}

static int file_write(struct sink *sk, const char *record, const struct cc_audit_summary *s, cc_error *err)
{
	_cleanup_free_ char *prev = NULL, *line = NULL;
	bool torn = false;
	off_t end;
	int file_fd = sk->fd, r = 0;

	/* One writer at a time across brokers: read the last record and append
	 * the one chained to it without anyone slipping in between. */
	if (flock(file_fd, LOCK_EX) < 0)
		return cc_failx(err, errno, "cannot lock the audit log");
	int nfd = rotated_to(file_fd);
	if (nfd >= 0) {
		/* a deferred record left in the old file is made durable there
		 * before the records go on in the new one */
		if (file_unsynced && fsync(file_fd) < 0 && errno != EINVAL) {
			(void)close(nfd);
			r = cc_failx(err, errno, "cannot sync the audit log %s", CRASHCART_AUDIT_LOG);
			goto out;
		}
		file_unsynced = false;
		/* the session's later records go to the new file too */
		(void)flock(file_fd, LOCK_UN);
		(void)close(file_fd);
		file_fd = sk->fd = nfd;
	}
	end = lseek(file_fd, 0, SEEK_END);
	prev = end < 0 ? NULL : last_line(file_fd, &torn);
	if (!prev) {
		r = cc_fail(err, EIO, "cannot read the last record of the audit log %s", CRASHCART_AUDIT_LOG);
		goto out;
	}
	line = cc_chain_link(record, prev[0] ? prev : NULL);
	if (!line) {
		r = cc_fail(err, ENOMEM, "cannot format the audit record");
		goto out;
	}
	/* A last line without its newline (a torn write, an edit) must not
	 * swallow ours: end it first. verify then reports the damage. */
	if (torn && write(file_fd, "\n", 1) != 1) {
		r = cc_failx(err, errno, "cannot write the audit log %s", CRASHCART_AUDIT_LOG);
		goto out;
	}
	ssize_t n = write(file_fd, line, strlen(line));
	if (n != (ssize_t)strlen(line)) {
		/* A full disk takes part of a record (the file's last page has
		 * room for it): cut it off again, or every later record would
		 * chain to a torn line and verify would report the chain
		 * broken from here on. */
		r = cc_failx(err, n < 0 ? errno : ENOSPC, "cannot write the audit log %s", CRASHCART_AUDIT_LOG);
		(void)!ftruncate(file_fd, end);
		goto out;
	}
	if (s->defer_sync)
		file_unsynced = true; /* the next synced record (or cc_audit_sync) makes it durable */
	else if (fsync(file_fd) < 0 && errno != EINVAL)
		r = cc_failx(err, errno, "cannot sync the audit log %s", CRASHCART_AUDIT_LOG);
	else
		file_unsynced = false;
out:
	(void)flock(file_fd, LOCK_UN);
	return r;
}

/* ---- syslog: RFC 5424 with structured data ---- */

/* SD-PARAM values escape '"', '\' and ']' (RFC 5424, 6.3.3). */
static void sd_escape(char *out, size_t len, const char *v)
{
	size_t o = 0;
	for (; v && *v && o + 3 < len; v++) {
		if (*v == '"' || *v == '\\' || *v == ']')
			out[o++] = '\\';
		out[o++] = (*v == '\n' || *v == '\r') ? ' ' : *v;
	}
	out[o] = '\0';
}

/* authpriv (10); notice (5) for what went well or is about to happen,
 * warning (4) for refusals and errors */
static int severity(const struct cc_audit_summary *s)
{
	return strcmp(s->result, "ok") == 0 || !s->result[0] ? 5 : 4;
}

static int syslog_open(cc_error *err)
{
	int fd = dgram_connect(CRASHCART_SYSLOG_SOCKET);
	return fd >= 0 ? fd
		       : cc_fail(err, -fd, "cannot reach syslog at %s: %s", CRASHCART_SYSLOG_SOCKET, strerror(-fd));
}

static int syslog_write(struct sink *sk, const char *record, const struct cc_audit_summary *s, cc_error *err)
{
	char ts[64], ev[64], ph[32], res[32], msg[512];
	struct timespec now;
	struct tm tm;
	int pri = 10 * 8 + severity(s);

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	sd_escape(ev, sizeof(ev), s->event);
	sd_escape(ph, sizeof(ph), s->phase);
	sd_escape(res, sizeof(res), s->result);
	snprintf(msg, sizeof(msg), "[crashcart@32473 session=\"%s\" event=\"%s\" phase=\"%s\" result=\"%s\" uid=\"%u\"%s%s%s]",
		 session_id, ev, ph, res, (unsigned)getuid(),
		 s->recording_sha256 && s->recording_sha256[0] ? " recording_sha256=\"" : "",
		 s->recording_sha256 && s->recording_sha256[0] ? s->recording_sha256 : "",
		 s->recording_sha256 && s->recording_sha256[0] ? "\"" : "");
	size_t len = strlen(record) + strlen(msg) + 512;
	_cleanup_free_ char *line = malloc(len);
	if (!line)
		return cc_fail(err, ENOMEM, "out of memory");
	snprintf(line, len, "<%d>1 %s.%06ldZ %s crashcart-broker %d %s %s %s", pri, ts, now.tv_nsec / 1000, hostname,
		 (int)getpid(), s->event[0] ? s->event : "-", msg, record);
	if (send(sk->fd, line, strlen(line), 0) < 0)
		return cc_failx(err, errno, "cannot send the audit record to syslog");
	return 0;
}

/* ---- journald: native protocol ---- */

static int journald_open(cc_error *err)
{
	int fd = dgram_connect(CRASHCART_JOURNALD_SOCKET);
	return fd >= 0 ? fd
		       : cc_fail(err, -fd, "cannot reach journald at %s: %s", CRASHCART_JOURNALD_SOCKET, strerror(-fd));
}

static int journald_write(struct sink *sk, const char *record, const struct cc_audit_summary *s, cc_error *err)
{
	char head[1024];
	int prio = severity(s);
	/* Field values may not hold a newline in the simple form; the record is
	 * one line of JSON (json.c escapes control characters). */
	/* The recording's digest as a field of its own: the journal is a copy
	 * of the records the operator cannot erase (audit verify compares). */
	char rec[128] = "";
	if (s->recording_sha256 && s->recording_sha256[0])
		snprintf(rec, sizeof(rec), "CRASHCART_RECORDING_SHA256=%s\n", s->recording_sha256);
	int n = snprintf(head, sizeof(head),
			 "MESSAGE=crashcart %s %s %s uid=%u\nPRIORITY=%d\nSYSLOG_FACILITY=10\nSYSLOG_IDENTIFIER=crashcart-broker\n"
			 "CRASHCART_SESSION=%s\nCRASHCART_EVENT=%s\nCRASHCART_PHASE=%s\nCRASHCART_RESULT=%s\n%sCRASHCART_RECORD=",
			 s->event, s->phase, s->result, (unsigned)getuid(), prio, session_id, s->event, s->phase, s->result, rec);
	if (n < 0 || (size_t)n >= sizeof(head) || strchr(record, '\n'))
		return cc_fail(err, EINVAL, "cannot format the journald record");
	struct iovec iov[3] = {
		{ head, (size_t)n }, { (void *)record, strlen(record) }, { "\n", 1 },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 3 };
	if (sendmsg(sk->fd, &mh, MSG_NOSIGNAL) < 0)
		return cc_failx(err, errno, "cannot send the audit record to journald");
	return 0;
}

/* ---- auditd ---- */

static int auditd_open(cc_error *err)
{
#if CRASHCART_AUDIT_WRITE
	int fd = audit_open();
	if (fd < 0)
		return cc_failx(err, errno, "cannot open the kernel audit socket");
	/* With auditing off the kernel drops user records and still reports
	 * success: that sink takes nothing. Asking needs CAP_AUDIT_CONTROL,
	 * which we do not hold: libaudit then also says 0, with errno EPERM.
	 * Only a real answer of 0 refuses the sink. */
	errno = 0;
	if (audit_is_enabled(fd) == 0 && errno != EPERM && errno != EACCES) {
		audit_close(fd);
		return cc_fail(err, ENOTCONN, "kernel auditing is disabled (auditctl -e 1)");
	}
	return fd;
#else
	return cc_fail(err, ENOTSUP, "the auditd sink needs a build with -Daudit_write=true");
#endif
}

static int auditd_write(struct sink *sk, const char *record, const struct cc_audit_summary *s, cc_error *err)
{
#if CRASHCART_AUDIT_WRITE
	char msg[1024], ev[64];
	int r;
	sd_escape(ev, sizeof(ev), s->event);
	/* A short, key=value message (the full record is in the other sinks);
	 * the kernel adds auid, ses, uid, pid, exe itself. */
	snprintf(msg, sizeof(msg), "op=crashcart-%s phase=%s session=%s%s%s", ev, s->phase, session_id,
		 s->recording_sha256 && s->recording_sha256[0] ? " recording_sha256=" : "",
		 s->recording_sha256 ? s->recording_sha256 : "");
	WITH_CAPS(CC_CAP(CAP_AUDIT_WRITE),
		  /* no hostname: libaudit would resolve it (sockets, nscd) */
		  r = audit_log_user_message(sk->fd, AUDIT_USER_CMD, msg, NULL, NULL, NULL,
					     strcmp(s->result, "ok") == 0 || !s->result[0]));
	if (r <= 0)
		return cc_failx(err, errno ? errno : EIO, "cannot send the audit record to auditd");
	(void)record;
	return 0;
#else
	(void)sk;
	(void)record;
	(void)s;
	return cc_fail(err, ENOTSUP, "auditd sink not built");
#endif
}

static struct sink sinks[] = {
	{ CC_SINK_FILE, "file", -1, file_open, file_write },
	{ CC_SINK_SYSLOG, "syslog", -1, syslog_open, syslog_write },
	{ CC_SINK_JOURNALD, "journald", -1, journald_open, journald_write },
	{ CC_SINK_AUDITD, "auditd", -1, auditd_open, auditd_write },
};
static unsigned wanted;
static bool require_all;

/* ---- a recording made durable by the audit log's own fsync ----
 * An exec end record names the recording's sha256, so the recording must
 * be on the disk before that record can be (SECURITY.md, "Audit"): else a
 * crash in between leaves a record vouching for bytes that are not there,
 * and verify calls an honest session MODIFIED. On most file systems that
 * takes an fsync of the recording before the record is written: a wait of
 * its own. On ext4 with a journal, one commit does both: the recording's
 * data is written and waited for (sync_file_range), which puts its new
 * size and extents into the running journal transaction; the end record is
 * written after that, so its own metadata lands in the same transaction or
 * a later one; jbd2 commits transactions in order, each behind a cache
 * flush (a fast commit takes every inode changed since the last full
 * commit), so whatever makes the end record durable -- our fsync, another
 * broker's, the periodic commit -- has made the recording durable first.
 * Only for the file sink alone: journald, syslog and auditd keep a copy of
 * the end record on their own schedule, so with any of them the recording
 * is fsynced first, as on every other file system. */
static dev_t journal_dev; /* the audit log's and the recordings' ext4, journaled; 0: no */

/* dev is a block device's ext4 with a journal: its options in
 * /proc/fs/ext4/NAME (NAME as in /sys/dev/block) name a data= mode, which
 * a file system mounted without a journal (ext2, ext4 -O ^has_journal)
 * does not have. Not with journal_async_commit, whose commit block goes
 * out without a cache flush before it. */
static bool ext4_journaled(dev_t dev)
{
	char link[64], target[256], path[320], buf[4096];
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(dev), minor(dev));
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	const char *name = strrchr(target, '/');
	snprintf(path, sizeof(path), "/proc/fs/ext4/%s/options", name ? name + 1 : target);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	if (strstr(buf, "journal_async_commit"))
		return false;
	return strncmp(buf, "data=", 5) == 0 || strstr(buf, "\ndata=") != NULL;
}

/* At start-up (readlink and statfs are not in the broker's allowlist). */
static void journal_check(int file_fd)
{
	struct stat log, dir;
	struct statfs fs;
	journal_dev = 0;
	if (fstat(file_fd, &log) < 0 || stat(CRASHCART_SESSION_DIR, &dir) < 0 || log.st_dev != dir.st_dev)
		return;
	if (fstatfs(file_fd, &fs) < 0 || fs.f_type != EXT4_SUPER_MAGIC || !ext4_journaled(log.st_dev))
		return;
	journal_dev = log.st_dev;
}

bool cc_audit_commits_with(int fd)
{
	struct stat st, log;
	int log_fd = sinks[0].fd; /* sinks[0]: the file (moved to the new file at a rotation) */
	/* (the directory is root's: a rotation cannot move the log to another
	 * file system between this check and the end record) */
	return journal_dev && wanted == CC_SINK_FILE && log_fd >= 0 && fstat(fd, &st) == 0 &&
	       fstat(log_fd, &log) == 0 && st.st_dev == journal_dev && log.st_dev == journal_dev;
}

int cc_audit_open(unsigned want_sinks, bool want_all, cc_error *err)
{
	unsigned char raw[16];
	int opened = 0;
	cc_error first = { 0 };

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return cc_failx(err, errno, "cannot make a session id");
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(session_id + 2 * i, 3, "%02x", raw[i]);
	if (gethostname(hostname, sizeof(hostname)) < 0 || !hostname[0])
		strcpy(hostname, "-");
	wanted = want_sinks;
	require_all = want_all;
	for (size_t i = 0; i < ARRAY_SIZE(sinks); i++) {
		cc_error e = { 0 };
		if (!(wanted & sinks[i].kind))
			continue;
		sinks[i].fd = sinks[i].open(&e);
		if (sinks[i].fd >= 0)
			opened++;
		else if (!first.code)
			first = e;
	}
	if (opened == 0 || (require_all && first.code)) {
		*err = first;
		cc_error_prefix(err, "no audit record can be written, so nothing is done");
		return -err->code;
	}
	if (wanted == CC_SINK_FILE && sinks[0].fd >= 0)
		journal_check(sinks[0].fd);
	return 0;
}

int cc_audit_write(struct cc_json *j, const struct cc_audit_summary *s, cc_error *err)
{
	const char *text = cc_json_text(j);
	int accepted = 0, failed = 0;
	cc_error first = { 0 };

	if (!text)
		return cc_fail(err, ENOMEM, "cannot format the audit record");
	for (size_t i = 0; i < ARRAY_SIZE(sinks); i++) {
		cc_error e = { 0 };
		if (!(wanted & sinks[i].kind))
			continue;
		if (sinks[i].fd < 0)
			cc_fail(&e, ENOTCONN, "the %s audit sink is not open", sinks[i].name);
		else if (sinks[i].write(&sinks[i], text, s, &e) == 0) {
			accepted++;
			continue;
		}
		if (failed++ == 0)
			first = e;
	}
	if (accepted == 0 || (require_all && failed)) {
		if (!first.code)
			cc_fail(&first, EIO, "no audit sink is open");
		*err = first;
		cc_error_prefix(err, "the audit record was not written, so nothing is done");
		return -err->code;
	}
	return 0;
}

int cc_audit_sync(cc_error *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(sinks); i++) {
		if (sinks[i].kind != CC_SINK_FILE || sinks[i].fd < 0 || !file_unsynced)
			continue;
		if (fsync(sinks[i].fd) < 0 && errno != EINVAL)
			return cc_failx(err, errno, "cannot sync the audit log %s", CRASHCART_AUDIT_LOG);
		file_unsynced = false;
	}
	return 0;
}
