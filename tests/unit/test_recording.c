/* Unit tests for src/common/recording.c: the asciicast reader (good casts,
 * and hostile ones: every malformed line must be a clear error naming the
 * line, never a crash or a silent skip), and the check of a session's
 * recording against its audit records (intact, an edited byte, cut short,
 * deleted, an event added, no end record, records that contradict each
 * other). Each check test writes a real directory and a real chained log. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auditlog.h"
#include "recording.h"

#define ID "0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210"
#define HEADER "{\"version\":2,\"width\":80,\"height\":24,\"timestamp\":1764583200,\"env\":{\"TERM\":\"xterm\"}," \
	       "\"title\":\"crashcart web\",\"crashcart\":{\"session\":\"" ID "\",\"target\":\"web\",\"pty\":true}}\n"
#define EVENTS                                                                                              \
	"[0.1,\"o\",\"$ \"]\n"                                                                              \
	"[0.5,\"i\",\"ls\\r\"]\n"                                                                           \
	"[0.6,\"x\",{\"pid\":42,\"syscall\":\"execve\",\"path\":\"/bin/ls\",\"argv\":[\"ls\",\"-l\"]}]\n" \
	"[0.700001,\"o\",\"a\\u0000b\\r\\n\"]\n"                                                            \
	"[1,\"r\",\"100x30\"]\n"                                                                            \
	"[2.5,\"q\",{\"future\":true}]\n"                                                                   \
	"[5,\"m\",\"session ended: terminal hang-up\"]\n"
#define CAST HEADER EVENTS

/* ---- the reader ---- */

struct parsed {
	int r;          /* of the open, or of the first failing next */
	size_t events;
	cc_error err;
};

static void parse(const char *text, size_t len, struct parsed *p)
{
	struct cc_cast c;
	struct cc_cast_event ev;
	FILE *f = fmemopen((void *)text, len, "r");

	memset(p, 0, sizeof(*p));
	ck_assert_ptr_nonnull(f);
	p->r = cc_cast_open(&c, f, &p->err);
	if (p->r == 0) {
		while ((p->r = cc_cast_next(&c, &ev, &p->err)) > 0)
			p->events++;
		cc_cast_close(&c);
	}
	fclose(f);
}

START_TEST(test_good_cast)
{
	struct cc_cast c;
	struct cc_cast_event ev;
	cc_error err = { 0 };
	FILE *f = fmemopen((void *)CAST, strlen(CAST), "r");

	ck_assert_int_eq(cc_cast_open(&c, f, &err), 0);
	ck_assert_uint_eq(c.h.width, 80);
	ck_assert_uint_eq(c.h.height, 24);
	ck_assert_int_eq(c.h.timestamp, 1764583200);
	ck_assert_str_eq(c.h.term, "xterm");
	ck_assert_str_eq(c.h.session, ID);
	ck_assert_str_eq(c.h.target, "web");
	ck_assert_int_eq(c.h.pty, 1);

	ck_assert_int_eq(cc_cast_next(&c, &ev, &err), 1);
	ck_assert_int_eq(ev.code, CC_CAST_OUTPUT);
	ck_assert_double_eq_tol(ev.t, 0.1, 1e-9);
	ck_assert_uint_eq(ev.len, 2);
	ck_assert_str_eq(ev.data, "$ ");
	ck_assert_int_eq(cc_cast_next(&c, &ev, &err), 1);
	ck_assert_int_eq(ev.code, CC_CAST_INPUT);
	ck_assert_str_eq(ev.data, "ls\r");
	ck_assert_int_eq(cc_cast_next(&c, &ev, &err), 1);
	ck_assert_int_eq(ev.code, CC_CAST_EXEC);
	ck_assert_int_eq(ev.pid, 42);
	ck_assert_str_eq(ev.syscall, "execve");
	ck_assert_str_eq(ev.path, "/bin/ls");
	ck_assert_uint_eq(ev.argc, 2);
	ck_assert_str_eq(ev.argv[0], "ls");
	ck_assert_str_eq(ev.argv[1], "-l");
	ck_assert_ptr_null(ev.argv[2]);
	/* output keeps NUL bytes: its length, not strlen */
	ck_assert_int_eq(cc_cast_next(&c, &ev, &err), 1);
	ck_assert_uint_eq(ev.len, 5);
	ck_assert_mem_eq(ev.data, "a\0b\r\n", 5);
	ck_assert_double_eq_tol(ev.t, 0.700001, 1e-9);
	ck_assert_int_eq(cc_cast_next(&c, &ev, &err), 1);
	ck_assert_int_eq(ev.code, CC_CAST_RESIZE);
	ck_assert_uint_eq(ev.cols, 100);
	ck_assert_uint_eq(ev.rows, 30);
	ck_assert_double_eq(ev.t, 1);
	/* a code players do not know is skipped by them: passed on as OTHER */
	ck_assert_int_eq(cc_cast_next(&c, &ev, &err), 1);
	ck_assert_int_eq(ev.code, CC_CAST_OTHER);
	ck_assert_int_eq(cc_cast_next(&c, &ev, &err), 1);
	ck_assert_int_eq(ev.code, CC_CAST_MARKER);
	ck_assert_str_eq(ev.data, "session ended: terminal hang-up");
	ck_assert_int_eq(cc_cast_next(&c, &ev, &err), 0);
	ck_assert_int_eq(cc_cast_next(&c, &ev, &err), 0);
	cc_cast_close(&c);
	fclose(f);
}
END_TEST

START_TEST(test_minimal_header_and_last_line_without_newline)
{
	struct parsed p;
	static const char text[] = "{\"version\":2,\"width\":1,\"height\":1}\n[0,\"o\",\"x\"]";
	parse(text, strlen(text), &p);
	ck_assert_int_eq(p.r, 0);
	ck_assert_uint_eq(p.events, 1);
}
END_TEST

/* Each bad header: open fails with a message saying what is wrong. */
START_TEST(test_bad_headers)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "", "empty file" },
		{ "\n", "line 1 is empty" },
		{ "[0,\"o\",\"x\"]\n", "not an asciicast header" },
		{ "{\"version\":1,\"width\":80,\"height\":24}\n", "version is not 2" },
		{ "{\"version\":\"2\",\"width\":80,\"height\":24}\n", "version is not 2" },
		{ "{\"version\":2,\"height\":24}\n", "width" },
		{ "{\"version\":2,\"width\":0,\"height\":24}\n", "width" },
		{ "{\"version\":2,\"width\":80,\"height\":1e3}\n", "height" },
		{ "{\"version\":2,\"width\":80,\"height\":99999999999999999999999}\n", "height" },
		{ "{\"version\":2,\"width\":80,\"height\":24,\"timestamp\":-1}\n", "timestamp" },
		{ "{\"version\":2,\"width\":80,\"height\":24,\"env\":[]}\n", "env is not an object" },
		{ "{\"version\":2,\"width\":80,\"height\":24,\"env\":{\"TERM\":7}}\n", "TERM" },
		{ "{\"version\":2,\"width\":80,\"height\":24,\"title\":{}}\n", "title" },
		{ "{\"version\":2,\"width\":80,\"height\":24,\"crashcart\":\"x\"}\n", "crashcart member" },
		{ "{\"version\":2,\"width\":80,\"height\":24,\"crashcart\":{\"session\":\"../../etc/passwd\"}}\n",
		  "not a session id" },
		{ "{\"version\":2,\"width\":80,\"height\":24,\"crashcart\":{\"pty\":1}}\n", "pty" },
		{ "{\"version\":2,\"width\":80,\"height\":24}x\n", "line 1 is not JSON" },
		{ "{\"version\":2,\"width\":80,\"height\":24} {}\n", "line 1 is not JSON" },
		{ "{\"version\":2,\"width\":80,\n", "line 1 is not JSON (it ends early)" },
		/* json-c takes single quotes even when strict: refused all the same */
		{ "{'version':2}\n", "width" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct parsed p;
		parse(bad[i].text, strlen(bad[i].text), &p);
		ck_assert_msg(p.r < 0, "header %zu accepted: %s", i, bad[i].text);
		ck_assert_msg(strstr(p.err.msg, bad[i].msg), "header %zu: '%s', want '%s'", i, p.err.msg, bad[i].msg);
	}
}
END_TEST

/* Each bad event, as line 3 after a good one: the error names line 3. */
START_TEST(test_bad_events)
{
	static const struct {
		const char *line, *msg;
	} bad[] = {
		{ "\n", "line 3 is empty" },
		{ "not json\n", "line 3 is not JSON" },
		{ "{\"t\":1}\n", "line 3 is not an event" },
		{ "[1,\"o\"]\n", "line 3 is not an event" },
		{ "[1,\"o\",\"x\",4]\n", "line 3 is not an event" },
		{ "[\"1\",\"o\",\"x\"]\n", "time is not a number" },
		{ "[-1,\"o\",\"x\"]\n", "time is not seconds" },
		{ "[NaN,\"o\",\"x\"]\n", "time" },
		{ "[1e400,\"o\",\"x\"]\n", "time" },
		{ "[1e10,\"o\",\"x\"]\n", "time is not seconds" },
		{ "[1,\"out\",\"x\"]\n", "code is not one letter" },
		{ "[1,\"\",\"x\"]\n", "code is not one letter" },
		{ "[1,\"\\u001b\",\"x\"]\n", "code is not one letter" },
		{ "[1,111,\"x\"]\n", "code is not one letter" },
		{ "[1,\"o\",42]\n", "\"o\" event's data is not a string" },
		{ "[1,\"i\",null]\n", "\"i\" event's data is not a string" },
		{ "[1,\"m\",[\"x\"]]\n", "\"m\" event's data is not a string" },
		{ "[1,\"r\",\"80\"]\n", "resize is not COLSxROWS" },
		{ "[1,\"r\",\"80x\"]\n", "resize is not COLSxROWS" },
		{ "[1,\"r\",\"0x24\"]\n", "resize is not COLSxROWS" },
		{ "[1,\"r\",\"-80x24\"]\n", "resize is not COLSxROWS" },
		{ "[1,\"r\",\"80x24\\u0000junk\"]\n", "resize is not COLSxROWS" },
		{ "[1,\"r\",\"99999999x24\"]\n", "resize is not COLSxROWS" },
		{ "[1,\"x\",\"ls\"]\n", "data is not an object" },
		{ "[1,\"x\",{\"syscall\":\"execve\",\"path\":\"/x\",\"argv\":[]}]\n", "pid is not a process id" },
		{ "[1,\"x\",{\"pid\":0,\"syscall\":\"execve\",\"path\":\"/x\",\"argv\":[]}]\n", "pid" },
		{ "[1,\"x\",{\"pid\":\"42\",\"syscall\":\"execve\",\"path\":\"/x\",\"argv\":[]}]\n", "pid" },
		{ "[1,\"x\",{\"pid\":1,\"syscall\":\"fork\",\"path\":\"/x\",\"argv\":[]}]\n", "not execve or execveat" },
		{ "[1,\"x\",{\"pid\":1,\"syscall\":\"execve\",\"argv\":[]}]\n", "path is not a string" },
		{ "[1,\"x\",{\"pid\":1,\"syscall\":\"execve\",\"path\":\"/x\\u0000/y\",\"argv\":[]}]\n", "path" },
		{ "[1,\"x\",{\"pid\":1,\"syscall\":\"execve\",\"path\":\"/x\"}]\n", "argv is not an array" },
		{ "[1,\"x\",{\"pid\":1,\"syscall\":\"execve\",\"path\":\"/x\",\"argv\":\"ls\"}]\n", "argv is not an array" },
		{ "[1,\"x\",{\"pid\":1,\"syscall\":\"execve\",\"path\":\"/x\",\"argv\":[\"a\",2]}]\n", "argv[1]" },
		{ "[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]\n", "line 3 is not JSON" },
		{ "[1,\"o\",\"\xff\"]\n", "line 3 is not JSON" },
		{ "[1,\"o\",\"x\"] trailing\n", "line 3 is not JSON" },
		{ "[1,\"o\",\"x\"][2,\"o\",\"y\"]\n", "line 3 is not JSON" },
		{ "[1,\"o\",\"x\"", "line 3 is not JSON" }, /* runs into the next line's text */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[4096];
		struct parsed p;
		int n = snprintf(text, sizeof(text), "%s[0.5,\"o\",\"ok\"]\n%s[9,\"o\",\"after\"]\n", HEADER, bad[i].line);
		parse(text, (size_t)n, &p);
		ck_assert_msg(p.r < 0, "event %zu accepted: %s", i, bad[i].line);
		ck_assert_uint_eq(p.events, 1);
		ck_assert_msg(strstr(p.err.msg, bad[i].msg), "event %zu: '%s', want '%s'", i, p.err.msg, bad[i].msg);
		if (strstr(bad[i].msg, "line 3") == NULL)
			ck_assert_msg(strstr(p.err.msg, "line 3"), "event %zu: the error names no line: %s", i, p.err.msg);
	}
}
END_TEST

/* A raw NUL would hide the rest of the line from json-c. */
START_TEST(test_nul_byte)
{
	char text[512];
	struct parsed p;
	int n = snprintf(text, sizeof(text), "%s[1,\"o\",\"ab\"]\n", HEADER);
	char *q = strstr(text, "\"ab\"");
	q[2] = '\0';
	parse(text, (size_t)n, &p);
	ck_assert_int_lt(p.r, 0);
	ck_assert_str_eq(p.err.msg, "line 2 holds a NUL byte");
}
END_TEST

/* A line longer than the limit is an error, read without holding it. */
START_TEST(test_huge_line)
{
	size_t big = CC_CAST_MAX_LINE + 100, hl = strlen(HEADER);
	char *text = malloc(hl + big + 16);
	struct parsed p;
	memcpy(text, HEADER, hl);
	memcpy(text + hl, "[1,\"o\",\"", 8);
	memset(text + hl + 8, 'x', big);
	memcpy(text + hl + 8 + big, "\"]\n", 3);
	parse(text, hl + big + 11, &p);
	ck_assert_int_eq(p.r, -EFBIG);
	ck_assert_str_eq(p.err.msg, "line 2 is longer than 1048576 bytes");
	/* and a header with no newline at all */
	memset(text, '{', hl + big);
	parse(text, hl + big, &p);
	ck_assert_int_eq(p.r, -EFBIG);
	free(text);
}
END_TEST

START_TEST(test_session_ids)
{
	ck_assert(cc_session_id_valid(ID));
	ck_assert(cc_session_id_valid("a"));
	ck_assert(!cc_session_id_valid(""));
	ck_assert(!cc_session_id_valid("0123456789ABCDEF"));
	ck_assert(!cc_session_id_valid("../" ID));
	ck_assert(!cc_session_id_valid(ID ".cast"));
	ck_assert(!cc_session_id_valid(ID ID "0"));
	ck_assert(cc_session_id_valid(ID ID));
}
END_TEST

/* ---- checking a session against its records ---- */

static char dir[64];
static int dirfd_;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_recording.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	dirfd_ = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dirfd_, 0);
}

static void teardown(void)
{
	char cmd[128];
	close(dirfd_);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void write_file(const char *name, const char *text, size_t len)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	fclose(f);
}

/* A chained log of the given records (JSON objects, one a line). */
struct log {
	char text[16384];
	size_t len;
};

static void log_add(struct log *l, const char *record)
{
	char *prev = NULL;
	if (l->len) {
		const char *start = l->text + l->len - 1;
		while (start > l->text && start[-1] != '\n')
			start--;
		prev = strndup(start, (size_t)(l->text + l->len - 1 - start));
	}
	char *line = cc_chain_link(record, prev);
	ck_assert_ptr_nonnull(line);
	ck_assert_uint_lt(l->len + strlen(line), sizeof(l->text));
	memcpy(l->text + l->len, line, strlen(line) + 1);
	l->len += strlen(line);
	free(line);
	free(prev);
}

static void add_begin(struct log *l, const char *id, bool recorded)
{
	char rec[1024];
	snprintf(rec, sizeof(rec),
		 "{\"ts\":\"2026-12-01T10:00:00.100Z\",\"session\":\"%s\",\"seq\":2,\"event\":\"exec\",\"phase\":\"begin\","
		 "\"uid\":1001,\"user\":\"ccop\",\"target\":{\"spec\":\"web\",\"pid\":42},\"argv\":[\"sh\"],\"pty\":true%s%s%s}",
		 id, recorded ? ",\"recording\":{\"file\":\"" : "", recorded ? id : "", recorded ? ".cast\"}" : "");
	log_add(l, rec);
}

/* recording: the end record's "recording" member's contents, or NULL */
static void add_end(struct log *l, const char *id, const char *recording)
{
	char rec[1024];
	snprintf(rec, sizeof(rec),
		 "{\"ts\":\"2026-12-01T10:01:05.200Z\",\"duration_ms\":65100,\"session\":\"%s\",\"seq\":3,\"event\":\"exec\","
		 "\"phase\":\"end\",\"uid\":1001,\"user\":\"ccop\",\"target\":{\"spec\":\"web\",\"pid\":42},"
		 "\"exit\":{\"kind\":\"exited\",\"value\":3,\"reported_by\":\"launcher\"}%s%s%s,\"result\":\"ok\"}",
		 id, recording ? ",\"recording\":{" : "", recording ? recording : "", recording ? "}" : "");
	log_add(l, rec);
}

static void add_digest_end(struct log *l, const char *id, const char *cast, size_t len)
{
	char hash[CC_SHA256_HEX], rec[256];
	cc_sha256_hex(cast, len, hash);
	snprintf(rec, sizeof(rec), "\"file\":\"%s.cast\",\"bytes\":%zu,\"sha256\":\"%s\"", id, len, hash);
	add_end(l, id, rec);
}

struct checked {
	struct cc_sessions s;
	struct cc_sessions_tally t;
	char out[8192];
};

static void check_log(const struct log *l, struct checked *c)
{
	cc_error err = { 0 };
	FILE *in = fmemopen((void *)l->text, l->len, "r");
	FILE *out;

	memset(c, 0, sizeof(*c));
	ck_assert_int_eq(cc_sessions_read(in, &c->s, &err), 0);
	fclose(in);
	for (size_t i = 0; i < c->s.n; i++)
		cc_session_check(&c->s.v[i], dirfd_, 0);
	out = fmemopen(c->out, sizeof(c->out) - 1, "w");
	ck_assert_int_eq(cc_sessions_report(&c->s, out, &c->t), 0);
	fclose(out);
}

static void checked_free(struct checked *c)
{
	cc_sessions_free(&c->s);
}

/* One recorded session, its recording as `file` (len bytes, or absent when
 * NULL), the end record's digest of CAST. */
static void one_session(const char *file, size_t len, struct checked *c)
{
	struct log l = { 0 };
	add_begin(&l, ID, true);
	add_digest_end(&l, ID, CAST, strlen(CAST));
	if (file)
		write_file(ID ".cast", file, len);
	check_log(&l, c);
	ck_assert_uint_eq(c->s.n, 1);
}

START_TEST(test_intact_recording)
{
	struct checked c;
	one_session(CAST, strlen(CAST), &c);
	ck_assert_int_eq(c.s.v[0].state, CC_REC_OK);
	ck_assert_str_eq(c.out, "");
	ck_assert_uint_eq(c.t.verified, 1);
	ck_assert_uint_eq(c.t.recorded, 1);
	ck_assert_uint_eq(c.t.problems, 0);
	ck_assert_uint_eq(c.t.warnings, 0);
	ck_assert_str_eq(c.s.v[0].exit, "exited 3");
	ck_assert_uint_eq(c.s.v[0].duration_ms, 65100);
	ck_assert_str_eq(c.s.v[0].target, "web");
	checked_free(&c);
}
END_TEST

START_TEST(test_edited_byte)
{
	struct checked c;
	char *edited = strdup(CAST);
	char *p = strstr(edited, "/bin/ls");
	p[5] = 'x'; /* same size, still valid JSON */
	one_session(edited, strlen(edited), &c);
	ck_assert_int_eq(c.s.v[0].state, CC_REC_MODIFIED);
	ck_assert(cc_session_problem(&c.s.v[0]));
	ck_assert_str_eq(c.out, "session " ID ": recording " ID ".cast was edited: its sha256 is not the end record's\n");
	ck_assert_uint_eq(c.t.problems, 1);
	ck_assert_uint_eq(c.t.verified, 0);
	free(edited);
	checked_free(&c);
}
END_TEST

START_TEST(test_truncated)
{
	struct checked c;
	one_session(CAST, strlen(CAST) - 10, &c);
	ck_assert_int_eq(c.s.v[0].state, CC_REC_MODIFIED);
	ck_assert_ptr_nonnull(strstr(c.out, "session " ID ": recording " ID ".cast was cut short: "));
	checked_free(&c);
	/* to nothing */
	one_session("", 0, &c);
	ck_assert_int_eq(c.s.v[0].state, CC_REC_MODIFIED);
	ck_assert_ptr_nonnull(strstr(c.out, "cut short: 0 bytes"));
	checked_free(&c);
}
END_TEST

START_TEST(test_extra_event)
{
	struct checked c;
	char text[4096];
	int n = snprintf(text, sizeof(text), "%s[6,\"o\",\"planted\"]\n", CAST);
	one_session(text, (size_t)n, &c);
	ck_assert_int_eq(c.s.v[0].state, CC_REC_MODIFIED);
	ck_assert_ptr_nonnull(strstr(c.out, "was extended: "));
	checked_free(&c);
}
END_TEST

START_TEST(test_missing)
{
	struct checked c;
	one_session(NULL, 0, &c);
	ck_assert_int_eq(c.s.v[0].state, CC_REC_MISSING);
	ck_assert_str_eq(c.out, "session " ID ": recording " ID ".cast is missing\n");
	ck_assert_uint_eq(c.t.problems, 1);
	checked_free(&c);
	/* the whole directory gone */
	struct log l = { 0 };
	add_begin(&l, ID, true);
	add_digest_end(&l, ID, CAST, strlen(CAST));
	FILE *in = fmemopen(l.text, l.len, "r");
	struct cc_sessions s;
	cc_error err = { 0 };
	ck_assert_int_eq(cc_sessions_read(in, &s, &err), 0);
	fclose(in);
	cc_session_check(&s.v[0], -1, ENOENT);
	ck_assert_int_eq(s.v[0].state, CC_REC_MISSING);
	cc_session_check(&s.v[0], -1, EACCES);
	ck_assert_int_eq(s.v[0].state, CC_REC_UNREADABLE);
	ck_assert(cc_session_problem(&s.v[0]));
	cc_sessions_free(&s);
}
END_TEST

/* Not the recording: a symlink to it, or a FIFO (opening which must not
 * hang verify). */
START_TEST(test_not_a_regular_file)
{
	struct checked c;
	char path[128];
	write_file("elsewhere", CAST, strlen(CAST));
	snprintf(path, sizeof(path), "%s/%s.cast", dir, ID);
	ck_assert_int_eq(symlink("elsewhere", path), 0);
	one_session(NULL, 0, &c);
	ck_assert_int_eq(c.s.v[0].state, CC_REC_MODIFIED);
	ck_assert_ptr_nonnull(strstr(c.out, "is a symbolic link"));
	checked_free(&c);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	one_session(NULL, 0, &c);
	ck_assert_int_eq(c.s.v[0].state, CC_REC_MODIFIED);
	ck_assert_ptr_nonnull(strstr(c.out, "is not a regular file"));
	checked_free(&c);
}
END_TEST

/* The decision (README, SECURITY.md): a begin without an end is a warning,
 * printed and counted, not a problem. */
START_TEST(test_begin_without_end)
{
	struct checked c;
	struct log l = { 0 };
	add_begin(&l, ID, true);
	add_begin(&l, ID2, false);
	add_end(&l, ID2, NULL);
	write_file(ID ".cast", CAST, strlen(CAST) - 20); /* what was written before the broker died */
	check_log(&l, &c);
	ck_assert_uint_eq(c.s.n, 2);
	ck_assert_int_eq(c.s.v[0].state, CC_REC_NO_END);
	ck_assert(cc_session_warning(&c.s.v[0]));
	ck_assert(!cc_session_problem(&c.s.v[0]));
	ck_assert_int_eq(c.s.v[1].state, CC_REC_NONE);
	ck_assert_str_eq(c.out, "session " ID ": no end record (ended abnormally)\n");
	ck_assert_uint_eq(c.t.problems, 0);
	ck_assert_uint_eq(c.t.warnings, 1);
	ck_assert_uint_eq(c.t.no_end, 1);
	checked_free(&c);
}
END_TEST

START_TEST(test_recording_broke_mid_session)
{
	struct checked c;
	struct log l = { 0 };
	add_begin(&l, ID, true);
	add_end(&l, ID, "\"file\":\"" ID ".cast\",\"error\":\"cannot write: No space left on device\"");
	check_log(&l, &c);
	ck_assert_int_eq(c.s.v[0].state, CC_REC_BROKEN);
	ck_assert(cc_session_warning(&c.s.v[0]));
	ck_assert_ptr_nonnull(strstr(c.out, "broke mid-session (the end record says: cannot write: No space left"));
	checked_free(&c);
}
END_TEST

/* Records that contradict each other: problems. */
START_TEST(test_inconsistent_records)
{
	static const char *const ends[] = {
		"\"file\":\"" ID2 ".cast\",\"bytes\":1,\"sha256\":\"" ID ID "\"", /* another session's file */
		"\"file\":\"../" ID ".cast\",\"bytes\":1,\"sha256\":\"" ID ID "\"",
		"\"file\":\"" ID ".cast\",\"bytes\":1,\"sha256\":\"" ID "\"",       /* short digest */
		"\"file\":\"" ID ".cast\",\"bytes\":-1,\"sha256\":\"" ID ID "\"",   /* negative size */
		"\"file\":\"" ID ".cast\",\"bytes\":\"1\",\"sha256\":\"" ID ID "\"",
		"\"file\":\"" ID ".cast\"",
		"\"bytes\":1,\"sha256\":\"" ID ID "\"",
	};
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		struct checked c;
		struct log l = { 0 };
		add_begin(&l, ID, true);
		add_end(&l, ID, ends[i]);
		write_file(ID ".cast", CAST, strlen(CAST));
		check_log(&l, &c);
		ck_assert_msg(c.s.v[0].state == CC_REC_BAD, "end %zu: state %d (%s)", i, c.s.v[0].state, c.out);
		ck_assert(cc_session_problem(&c.s.v[0]));
		checked_free(&c);
	}
	/* begin announces a recording, the end has none */
	struct checked c;
	struct log l = { 0 };
	add_begin(&l, ID, true);
	add_end(&l, ID, NULL);
	check_log(&l, &c);
	ck_assert_int_eq(c.s.v[0].state, CC_REC_BAD);
	checked_free(&c);
	/* two end records for one session */
	memset(&l, 0, sizeof(l));
	add_begin(&l, ID, false);
	add_end(&l, ID, NULL);
	add_end(&l, ID, NULL);
	check_log(&l, &c);
	ck_assert_int_eq(c.s.v[0].state, CC_REC_BAD);
	ck_assert_ptr_nonnull(strstr(c.out, "1 exec begin and 2 exec end records"));
	checked_free(&c);
	/* an end without a begin */
	memset(&l, 0, sizeof(l));
	add_end(&l, ID, NULL);
	check_log(&l, &c);
	ck_assert_int_eq(c.s.v[0].state, CC_REC_BAD);
	checked_free(&c);
}
END_TEST

/* The digest matches, but the end record vouches for a file whose header
 * is another session's: a forged record, or another session's recording
 * copied under this name together with one. */
START_TEST(test_header_names_another_session)
{
	struct checked c;
	char text[4096];
	struct log l = { 0 };
	snprintf(text, sizeof(text), "%s", CAST);
	char *p = strstr(text, ID);
	memcpy(p, ID2, strlen(ID2));
	add_begin(&l, ID, true);
	add_digest_end(&l, ID, text, strlen(text));
	write_file(ID ".cast", text, strlen(text));
	check_log(&l, &c);
	ck_assert_int_eq(c.s.v[0].state, CC_REC_BAD);
	ck_assert_ptr_nonnull(strstr(c.out, "its header names session '" ID2 "'"));
	checked_free(&c);
}
END_TEST

START_TEST(test_unrecorded_and_other_records)
{
	struct checked c;
	struct log l = { 0 };
	log_add(&l, "{\"session\":\"" ID "\",\"event\":\"mount\",\"phase\":\"begin\"}");
	add_begin(&l, ID, false);
	log_add(&l, "{\"session\":\"" ID2 "\",\"event\":\"exec\",\"phase\":\"refused\"}");
	log_add(&l, "{\"session\":\"" ID2 "\",\"event\":\"exec-via\",\"phase\":\"begin\"}");
	add_end(&l, ID, NULL);
	memcpy(l.text + l.len, "not json\n", 10);
	l.len += 9;
	check_log(&l, &c);
	ck_assert_uint_eq(c.s.n, 1);
	ck_assert_int_eq(c.s.v[0].state, CC_REC_NONE);
	ck_assert_uint_eq(c.s.v[0].begin_no, 2);
	ck_assert_uint_eq(c.s.v[0].end_no, 5);
	ck_assert_str_eq(c.out, "");
	checked_free(&c);
}
END_TEST

/* Many sessions: the index finds each one's end (and it grows). */
START_TEST(test_many_sessions)
{
	static char text[4 << 20];
	size_t len = 0;
	char *prev = NULL;
	for (int i = 0; i < 4000; i++) {
		for (int ph = 0; ph < 2; ph++) {
			char rec[256];
			snprintf(rec, sizeof(rec), "{\"session\":\"%032x\",\"event\":\"exec\",\"phase\":\"%s\",\"user\":\"u%d\"}",
				 ph ? 3999 - i : i, ph ? "end" : "begin", i);
			char *line = cc_chain_link(rec, prev);
			memcpy(text + len, line, strlen(line));
			len += strlen(line);
			free(prev);
			prev = strndup(line, strlen(line) - 1);
			free(line);
		}
	}
	free(prev);
	FILE *in = fmemopen(text, len, "r");
	struct cc_sessions s;
	cc_error err = { 0 };
	ck_assert_int_eq(cc_sessions_read(in, &s, &err), 0);
	fclose(in);
	ck_assert_uint_eq(s.n, 4000);
	for (size_t i = 0; i < s.n; i++) {
		ck_assert_uint_eq(s.v[i].begins, 1);
		ck_assert_uint_eq(s.v[i].ends, 1);
	}
	cc_sessions_free(&s);
}
END_TEST

/* Everything printed comes from the log: escaped, one line per session. */
START_TEST(test_print_escapes)
{
	struct log l = { 0 };
	char out[8192] = "";
	cc_error err = { 0 };
	struct cc_sessions s;
	log_add(&l, "{\"ts\":\"T\\u001b[2J\",\"session\":\"x\\ny\",\"event\":\"exec\",\"phase\":\"begin\","
		    "\"user\":\"\\u009bop\",\"target\":{\"spec\":\"web\\n    1  forged\"}}");
	FILE *in = fmemopen(l.text, l.len, "r");
	ck_assert_int_eq(cc_sessions_read(in, &s, &err), 0);
	fclose(in);
	cc_session_check(&s.v[0], dirfd_, 0);
	FILE *o = fmemopen(out, sizeof(out) - 1, "w");
	ck_assert_int_eq(cc_sessions_print(&s, o), 0);
	struct cc_sessions_tally t;
	ck_assert_int_eq(cc_sessions_report(&s, o, &t), 0);
	fclose(o);
	for (const unsigned char *p = (const unsigned char *)out; *p; p++)
		ck_assert_msg(*p >= 0x20 || *p == '\n', "control byte %#x printed: %s", *p, out);
	ck_assert_ptr_null(strstr(out, "\xc2\x9b"));
	ck_assert_ptr_nonnull(strstr(out, "x\\x0ay  "));
	ck_assert_ptr_nonnull(strstr(out, "web\\x0a    1  forged\n"));
	ck_assert_ptr_nonnull(strstr(out, "session x\\x0ay: no end record (ended abnormally)\n"));
	cc_sessions_free(&s);
}
END_TEST

/* Mount, unmount and exec-via operations whose begin has no end (a broker
 * killed, a full disk) are named, each once; ended ones and exec (reported
 * with the sessions) are not; interleaved sessions do not confuse it. */
START_TEST(test_open_operations)
{
	static const char log[] =
		"{\"session\":\"aa\",\"event\":\"mount\",\"phase\":\"begin\"}\n"
		"{\"session\":\"bb\",\"event\":\"mount\",\"phase\":\"begin\"}\n"
		"{\"session\":\"aa\",\"event\":\"mount\",\"phase\":\"end\",\"result\":\"ok\"}\n"
		"{\"session\":\"aa\",\"event\":\"exec\",\"phase\":\"begin\"}\n"
		"not a record\n"
		"{\"session\":\"cc\",\"event\":\"unmount\",\"phase\":\"refused\"}\n"
		"{\"session\":\"bb\",\"event\":\"mount\",\"phase\":\"end\",\"result\":\"ok\"}\n"
		"{\"session\":\"bb\",\"event\":\"unmount\",\"phase\":\"begin\"}\n"
		"{\"session\":\"dd\",\"event\":\"exec-via\",\"phase\":\"begin\"}\n"
		"{\"session\":\"dd\",\"event\":\"exec-via\",\"phase\":\"end\"}\n"
		/* moved out of order (the chain reports that): ended all the same */
		"{\"session\":\"ee\",\"event\":\"mount\",\"phase\":\"end\"}\n"
		"{\"session\":\"ee\",\"event\":\"mount\",\"phase\":\"begin\"}\n";
	char out[1024] = "";
	cc_error err = { 0 };
	size_t open = 99;
	FILE *in = fmemopen((void *)log, sizeof(log) - 1, "r");
	FILE *o = fmemopen(out, sizeof(out) - 1, "w");

	ck_assert_int_eq(cc_open_operations(in, o, &open, &err), 0);
	fclose(o);
	fclose(in);
	ck_assert_uint_eq(open, 1);
	ck_assert_str_eq(out, "session bb: unmount begin (record 8) has no end record (ended abnormally)\n");
}
END_TEST

START_TEST(test_digest_fd)
{
	struct cc_digest d;
	cc_error err = { 0 };
	char hash[CC_SHA256_HEX];
	write_file("f", CAST, strlen(CAST));
	int fd = cc_recording_open(dirfd_, "f", &err);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(cc_digest_fd(fd, &d, &err), 0);
	cc_sha256_hex(CAST, strlen(CAST), hash);
	ck_assert_str_eq(d.sha256, hash);
	ck_assert_uint_eq(d.bytes, strlen(CAST));
	close(fd);
	ck_assert_int_eq(cc_recording_open(dirfd_, "nope", &err), -ENOENT);
	ck_assert_int_eq(cc_recording_open(dirfd_, ".", &err), -EINVAL);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("recording");
	TCase *tc = tcase_create("cast");
	tcase_add_test(tc, test_good_cast);
	tcase_add_test(tc, test_minimal_header_and_last_line_without_newline);
	tcase_add_test(tc, test_bad_headers);
	tcase_add_test(tc, test_bad_events);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_huge_line);
	tcase_add_test(tc, test_session_ids);
	suite_add_tcase(s, tc);

	tc = tcase_create("sessions");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_intact_recording);
	tcase_add_test(tc, test_edited_byte);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_extra_event);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_not_a_regular_file);
	tcase_add_test(tc, test_begin_without_end);
	tcase_add_test(tc, test_recording_broke_mid_session);
	tcase_add_test(tc, test_inconsistent_records);
	tcase_add_test(tc, test_header_names_another_session);
	tcase_add_test(tc, test_unrecorded_and_other_records);
	tcase_add_test(tc, test_many_sessions);
	tcase_add_test(tc, test_print_escapes);
	tcase_add_test(tc, test_open_operations);
	tcase_add_test(tc, test_digest_fd);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
