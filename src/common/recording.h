/* Session recordings, the reading side. The broker writes one asciicast v2
 * file per exec session, SESSION_DIR/<session>.cast (<session> is the
 * "session" field of the audit records), and puts its size and sha256 in the
 * session's exec "end" record:
 *
 *   line 1   {"version":2,"width":W,"height":H,"timestamp":T,"env":{"TERM":…},
 *             "title":…,"crashcart":{"session":ID,"target":SPEC,"pty":BOOL}}
 *   then     [t, code, data], t seconds since the start:
 *            "o" output, "i" input, "m" a marker (strings), "r" "COLSxROWS",
 *            "x" {"pid":N,"syscall":"execve"|"execveat","path":…,"argv":[…]}
 *
 *   exec begin  "recording":{"file":"ID.cast"}
 *   exec end    "recording":{"file":"ID.cast","bytes":N,"sha256":HEX}
 *               or "recording":{"file":"ID.cast","error":MSG}
 *
 * A recording is the container's output, and the file belongs to the
 * operator (the broker runs as them): the parser trusts nothing in it.
 * Lines are bounded, must be one JSON value each (no trailing bytes, no
 * NUL, valid UTF-8, shallow), and every field has the type the format
 * says; anything else is an error naming the line. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "auditlog.h"
#include "util.h"

#define CC_CAST_MAX_LINE (1 << 20)
/* Session ids are the broker's 32 hex digits; anything that is not
 * lowercase hex (up to this length) cannot name a file in the directory. */
#define CC_SESSION_ID_MAX 64

bool cc_session_id_valid(const char *id);

struct cc_cast_header {
	unsigned width, height;
	int64_t timestamp;                   /* 0 when absent */
	char term[64];                       /* env.TERM, "" when absent (cut) */
	char session[CC_SESSION_ID_MAX + 1]; /* crashcart.session, "" when absent */
	char target[256];                    /* crashcart.target, "" when absent (cut) */
	int pty;                             /* crashcart.pty: 1, 0, -1 when absent */
};

enum cc_cast_code {
	CC_CAST_OUTPUT, /* "o" */
	CC_CAST_INPUT,  /* "i" */
	CC_CAST_RESIZE, /* "r" */
	CC_CAST_MARKER, /* "m" */
	CC_CAST_EXEC,   /* "x" */
	CC_CAST_OTHER,  /* another one-letter code: players skip those, so do we */
};

/* Valid until the next cc_cast_next or cc_cast_close. */
struct cc_cast_event {
	double t;
	enum cc_cast_code code;
	const char *data; /* o, i, m, r: the string; may hold NUL bytes: len */
	size_t len;
	unsigned cols, rows; /* r */
	/* x */
	int64_t pid;
	const char *syscall, *path;
	const char *const *argv; /* NULL-terminated */
	size_t argc;
};

struct cc_cast {
	FILE *f;
	size_t lineno;
	char *line;
	struct json_tokener *tok;
	struct json_object *cur;
	const char **argv;
	size_t argv_cap;
	struct cc_cast_header h;
};

/* Reads and checks the header (line 1). f stays the caller's. */
int cc_cast_open(struct cc_cast *c, FILE *f, cc_error *err);
/* 1: an event in *ev; 0: the end; negative: a malformed line (err says which). */
int cc_cast_next(struct cc_cast *c, struct cc_cast_event *ev, cc_error *err);
void cc_cast_close(struct cc_cast *c);

/* Size and sha256 of what fd reads from its current offset to the end. */
struct cc_digest {
	uint64_t bytes;
	char sha256[CC_SHA256_HEX];
};
int cc_digest_fd(int fd, struct cc_digest *d, cc_error *err);

/* Opens a recording for reading: a regular file, never a FIFO or device (an
 * operator could plant one under another session's name), and, in the
 * session directory (dirfd >= 0), never through a symlink. */
int cc_recording_open(int dirfd, const char *path, cc_error *err);

/* ---- the sessions of an audit log ---- */

enum cc_rec_state {
	CC_REC_NONE,       /* not recorded (policy), or exec-via */
	CC_REC_OK,         /* size and sha256 as the end record says */
	CC_REC_MISSING,    /* the end record has a digest, the file is not there */
	CC_REC_MODIFIED,   /* size or sha256 differ (detail says which) */
	CC_REC_UNREADABLE, /* there, but this caller cannot read it */
	CC_REC_BAD,        /* the records contradict each other or themselves */
	CC_REC_NO_END,     /* a begin and no end: the broker was killed, or still runs */
	CC_REC_BROKEN,     /* the broker said in the end record that recording failed */
};

/* One exec session, from its begin and end records (text cut to fit:
 * it is for display; ids and digests are checked, never cut). */
struct cc_session {
	char id[CC_SESSION_ID_MAX + 1];
	bool id_valid;
	size_t order; /* first record of the session in the log (1-based) */
	size_t begin_no, end_no, begins, ends;
	char ts[40], user[64], target[256];
	bool begin_recording;
	char begin_file[CC_SESSION_ID_MAX + 8];
	bool has_duration;
	uint64_t duration_ms;
	char exit[48]; /* "exited 0", "signaled 9", "error", … */
	enum { CC_END_REC_NONE, CC_END_REC_DIGEST, CC_END_REC_ERROR, CC_END_REC_INVALID } end_rec;
	char file[CC_SESSION_ID_MAX + 8];
	uint64_t bytes;
	char sha256[CC_SHA256_HEX];
	char rec_error[256];
	/* set by cc_sessions_check */
	enum cc_rec_state state;
	char detail[256];
};

struct cc_sessions {
	struct cc_session *v;
	size_t n;
};

/* Collects the exec sessions of an audit log read from in (from where it
 * is). Lines that are not records are skipped: the chain check names them. */
int cc_sessions_read(FILE *in, struct cc_sessions *s, cc_error *err);
void cc_sessions_free(struct cc_sessions *s);
struct cc_session *cc_sessions_find(const struct cc_sessions *s, const char *id);

/* Checks one session's recording in the session directory (dirfd; negative:
 * it could not be opened, dir_errno says why) and sets state and detail. */
void cc_session_check(struct cc_session *ss, int dirfd, int dir_errno);

/* A problem is a recording that is missing, changed, unreadable, or records
 * that contradict each other; a warning is a session with no end record or
 * whose recording broke mid-session (not tampering, but the auditor must
 * see it). */
static inline bool cc_session_problem(const struct cc_session *ss)
{
	return ss->state == CC_REC_MISSING || ss->state == CC_REC_MODIFIED || ss->state == CC_REC_UNREADABLE ||
	       ss->state == CC_REC_BAD;
}
static inline bool cc_session_warning(const struct cc_session *ss)
{
	return ss->state == CC_REC_NO_END || ss->state == CC_REC_BROKEN;
}

struct cc_sessions_tally {
	size_t problems, warnings, verified, recorded, no_end;
};
/* verify's lines: one per problem or warning ("session ID: …"), escaped. */
int cc_sessions_report(const struct cc_sessions *s, FILE *out, struct cc_sessions_tally *t);
/* show's table: one line per session, escaped. */
int cc_sessions_print(const struct cc_sessions *s, FILE *out);
/* verify's lines for the mount, unmount and exec-via operations whose begin
 * record has no end record (a broker killed, a disk full), one each,
 * escaped; *open: how many (exec sessions: cc_sessions_report). */
int cc_open_operations(FILE *in, FILE *out, size_t *open, cc_error *err);
const char *cc_rec_state_name(enum cc_rec_state st);
