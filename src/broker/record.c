/* The session recording: every byte the relay copies, every resize and
 * every program the session starts, in asciicast v2 (one JSON header line,
 * then one [time, code, data] event per line; `asciinema play` plays it).
 *
 * It is written by the broker, the process on the only path between the
 * operator and the container: the worker (the operator's) never sees it.
 * The broker runs as the operator, so the operator can edit the file
 * afterwards; what makes that visible is the digest: the sha256 and size of
 * every byte written here go into the session's end record in the
 * hash-chained audit log and its sinks (`crashcart audit verify` compares).
 * The file is created O_EXCL|O_NOFOLLOW in the build-time session directory
 * (root:OPS_GROUP 1730: operators can create files there, not list it nor
 * remove another's), named by the session id the audit records carry.
 *
 *   [t, "o", text]   output (the pty, the tool's stdout and stderr)
 *   [t, "i", text]   input
 *   [t, "r", "COLSxROWS"]  a resize
 *   [t, "m", text]   a marker (why the session ended, a time-limit warning)
 *   [t, "x", {...}]  an exec by a process of the session (pid, syscall,
 *                    path, argv), seen by the kernel (launcher.c, exectrail.c)
 *
 * Text is JSON-escaped per RFC 8259; a byte that is not part of valid UTF-8
 * is written as \u00XX (a UTF-8 sequence split between two reads is held
 * back and joined). */
#include "record.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "json.h"

static double elapsed(const struct cc_rec *r)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - r->t0.tv_sec) + (double)(now.tv_nsec - r->t0.tv_nsec) / 1e9;
}

/* One write per line: the file is never left with half an event that a
 * later event continues. A failure is kept; the relay ends the session. */
static void emit(struct cc_rec *r, const char *line, size_t len)
{
	size_t off = 0;
	if (r->fd < 0 || r->failed)
		return;
	while (off < len) {
		ssize_t n = write(r->fd, line + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r->failed = true;
			snprintf(r->error, sizeof(r->error), "cannot write the recording %s: %s", r->file,
				 strerror(n < 0 ? errno : ENOSPC));
			return;
		}
		off += (size_t)n;
	}
	cc_sha256_update(&r->sha, line, len);
	r->bytes += len;
}

/* One line: prefix (may be NULL), the JSON text of j, suffix. */
static void emit_json(struct cc_rec *r, const char *prefix, struct cc_json *j, const char *suffix)
{
	const char *text = cc_json_text(j);
	size_t np = prefix ? strlen(prefix) : 0, ns = strlen(suffix), n;
	char *line;

	if (!text || !(line = malloc(np + (n = strlen(text)) + ns + 1))) {
		r->failed = true;
		snprintf(r->error, sizeof(r->error), "out of memory for the recording");
		return;
	}
	memcpy(line, prefix ? prefix : "", np);
	memcpy(line + np, text, n);
	memcpy(line + np + n, suffix, ns);
	emit(r, line, np + n + ns);
	free(line);
}

void cc_rec_init(struct cc_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = r->dir = -1;
}

int cc_rec_open(struct cc_rec *r, const char *session, cc_error *err)
{
	cc_rec_init(r);
	snprintf(r->file, sizeof(r->file), "%s.cast", session);
	snprintf(r->session, sizeof(r->session), "%s", session);
	r->dir = open(CRASHCART_SESSION_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->dir < 0)
		return cc_failx(err, errno, "the policy requires this session to be recorded, and the session directory %s cannot be opened",
				CRASHCART_SESSION_DIR);
	r->fd = openat(r->dir, r->file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (r->fd < 0) {
		int e = errno;
		cc_closep(&r->dir);
		r->dir = -1;
		return cc_failx(err, e, "the policy requires this session to be recorded, and %s/%s cannot be created",
				CRASHCART_SESSION_DIR, r->file);
	}
	cc_sha256_init(&r->sha);
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	return 0;
}

void cc_rec_header(struct cc_rec *r, unsigned cols, unsigned rows, const char *term, const char *spec, bool pty)
{
	struct cc_json j;
	char title[300];

	if (r->fd < 0)
		return;
	r->started = true;
	clock_gettime(CLOCK_MONOTONIC, &r->t0); /* time 0 is the tool's start */
	snprintf(title, sizeof(title), "crashcart %s", spec);
	cc_json_init(&j);
	cc_json_open(&j, NULL);
	cc_json_u64(&j, "version", 2);
	cc_json_u64(&j, "width", cols ? cols : 80);
	cc_json_u64(&j, "height", rows ? rows : 24);
	cc_json_u64(&j, "timestamp", (uint64_t)time(NULL));
	cc_json_open(&j, "env");
	cc_json_str(&j, "TERM", term);
	cc_json_close(&j);
	cc_json_str(&j, "title", title);
	cc_json_open(&j, "crashcart");
	cc_json_str(&j, "session", r->session);
	cc_json_str(&j, "target", spec);
	cc_json_bool(&j, "pty", pty);
	cc_json_close(&j);
	cc_json_close(&j);
	emit_json(r, NULL, &j, "\n");
	cc_json_free(&j);
}

static void event_head(const struct cc_rec *r, char code, char *buf, size_t len)
{
	snprintf(buf, len, "[%.6f, \"%c\", ", elapsed(r), code);
}

/* A UTF-8 sequence cut at the end of a chunk: how many bytes of the end to
 * hold back for the next chunk (0 if the end is complete or invalid). */
static size_t unfinished_tail(const unsigned char *p, size_t n)
{
	for (size_t back = 1; back <= 3 && back <= n; back++) {
		unsigned char c = p[n - back];
		if ((c & 0xc0) == 0x80)
			continue;
		size_t need = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 1;
		return need > back ? back : 0;
	}
	return 0;
}

/* A JSON string of n bytes at p (p[n] is readable: a NUL), written at out
 * (room: 6 * n + 3): the one hot loop of the recorder, so by hand rather
 * than through json.c's general writer, with the same rules: valid UTF-8
 * copied, controls, DEL, C1 and stray bytes as \u00XX, quote and backslash
 * escaped. Returns the length written. */
static size_t json_string(const unsigned char *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *end = p + n;
	char *o = out;

	*o++ = '"';
	while (p < end) {
		unsigned char c = *p;
		size_t len;
		if (c >= 0x20 && c < 0x7f) {
			if (c == '"' || c == '\\')
				*o++ = '\\';
			*o++ = (char)c;
			p++;
			continue;
		}
		if (c >= 0xc2 && !(c == 0xc2 && p + 1 < end && p[1] < 0xa0) &&
		    (len = cc_utf8_len((const char *)p)) > 1 && len <= (size_t)(end - p)) {
			memcpy(o, p, len);
			o += len;
			p += len;
			continue;
		}
		if (c == 0xc2 && p + 1 < end && p[1] >= 0x80 && p[1] < 0xa0) {
			c = p[1]; /* a C1 control: the character, as \u0080..\u009f */
			p++;
		}
		memcpy(o, "\\u00", 4);
		o[4] = hex[c >> 4];
		o[5] = hex[c & 15];
		o += 6;
		p++;
	}
	*o++ = '"';
	return (size_t)(o - out);
}

void cc_rec_text(struct cc_rec *r, char code, const char *data, size_t n, struct cc_rec_carry *carry)
{
	static char text[2 * 4096 + 8];
	static char line[64 + 6 * sizeof(text) + 8];
	size_t have = carry ? carry->len : 0, total, keep, o;

	if (r->fd < 0 || r->failed || (!n && !have))
		return;
	while (n) {
		/* the held-back start of a sequence, then (a part of) this chunk */
		size_t take = n < sizeof(text) - 8 - have ? n : sizeof(text) - 8 - have;
		if (have)
			memcpy(text, carry->buf, have);
		memcpy(text + have, data, take);
		total = have + take;
		data += take;
		n -= take;
		/* the end of the chunk is held back if a sequence is cut there */
		keep = carry && !n ? unfinished_tail((const unsigned char *)text, total) : 0;
		if (carry) {
			memcpy(carry->buf, text + total - keep, keep);
			carry->len = keep;
		}
		have = 0;
		total -= keep;
		memset(text + total, 0, 4); /* cc_utf8_len may look past the end */
		if (!total)
			continue;
		o = (size_t)snprintf(line, 64, "[%.6f, \"%c\", ", elapsed(r), code);
		o += json_string((const unsigned char *)text, total, line + o);
		memcpy(line + o, "]\n", 2);
		emit(r, line, o + 2);
	}
}

void cc_rec_marker(struct cc_rec *r, const char *text)
{
	cc_rec_text(r, 'm', text, strlen(text), NULL);
}

void cc_rec_resize(struct cc_rec *r, unsigned cols, unsigned rows)
{
	char size[32];
	snprintf(size, sizeof(size), "%ux%u", cols, rows);
	cc_rec_text(r, 'r', size, strlen(size), NULL);
}

void cc_rec_exec(struct cc_rec *r, uint32_t pid, const char *syscall, const char *path, char **argv, bool cut)
{
	char head[64];
	struct cc_json j;

	if (r->fd < 0 || r->failed)
		return;
	event_head(r, 'x', head, sizeof(head));
	cc_json_init(&j);
	cc_json_open(&j, NULL);
	cc_json_u64(&j, "pid", pid);
	cc_json_str(&j, "syscall", syscall);
	cc_json_str(&j, "path", path);
	cc_json_open_array(&j, "argv");
	for (char **a = argv; a && *a; a++)
		cc_json_str(&j, NULL, *a);
	cc_json_close_array(&j);
	if (cut)
		cc_json_bool(&j, "truncated", true);
	cc_json_close(&j);
	emit_json(r, head, &j, "]\n");
	cc_json_free(&j);
	r->execs++;
}

void cc_rec_discard(struct cc_rec *r)
{
	if (r->fd >= 0) {
		(void)close(r->fd);
		(void)unlinkat(r->dir, r->file, 0);
	}
	cc_closep(&r->dir);
	r->fd = r->dir = -1;
}

int cc_rec_close(struct cc_rec *r, char sha256[65], bool data_only)
{
	int ret = 0;

	if (r->fd < 0)
		return 0;
	/* Either way the recording is on the disk before the end record that
	 * names its digest can be: fsynced here, or (data_only) its data
	 * written now and its size committed by the journal transaction the
	 * end record's fsync commits, or an earlier one. */
	if (!r->failed && data_only &&
	    sync_file_range(r->fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) < 0) {
		r->failed = true;
		snprintf(r->error, sizeof(r->error), "cannot write the recording %s: %s", r->file, strerror(errno));
	}
	if (!r->failed && !data_only && fsync(r->fd) < 0) {
		r->failed = true;
		snprintf(r->error, sizeof(r->error), "cannot write the recording %s: %s", r->file, strerror(errno));
	}
	if (close(r->fd) < 0 && !r->failed) {
		r->failed = true;
		snprintf(r->error, sizeof(r->error), "cannot write the recording %s: %s", r->file, strerror(errno));
	}
	r->fd = -1;
	cc_closep(&r->dir);
	r->dir = -1;
	cc_sha256_final_hex(&r->sha, sha256);
	if (r->failed)
		ret = -EIO;
	return ret;
}
