/* record.c: the session recording (asciicast v2), written by the broker. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "auditlog.h"
#include "util.h"

struct cc_rec {
	int fd;                 /* -1: not recording */
	int dir;                /* the session directory (O_PATH) */
	bool started;           /* the header is written */
	char file[64];          /* SESSION.cast, in CRASHCART_SESSION_DIR */
	char session[40];
	struct timespec t0;
	struct cc_sha256 sha;   /* of every byte written */
	uint64_t bytes;
	uint64_t execs;
	bool failed;            /* a write failed: the session must end */
	char error[300];
};

/* The start of a UTF-8 sequence held back from one chunk for the next. */
struct cc_rec_carry {
	char buf[4];
	size_t len;
};

void cc_rec_init(struct cc_rec *r); /* not recording */
/* Creates SESSION_DIR/SESSION.cast (O_EXCL): fail closed, the caller
 * refuses the session when this fails. */
int cc_rec_open(struct cc_rec *r, const char *session, cc_error *err);
void cc_rec_header(struct cc_rec *r, unsigned cols, unsigned rows, const char *term, const char *spec, bool pty);
/* An "o" or "i" event of n bytes (carry: per direction), or any text event. */
void cc_rec_text(struct cc_rec *r, char code, const char *data, size_t n, struct cc_rec_carry *carry);
void cc_rec_marker(struct cc_rec *r, const char *text);
void cc_rec_resize(struct cc_rec *r, unsigned cols, unsigned rows);
void cc_rec_exec(struct cc_rec *r, uint32_t pid, const char *syscall, const char *path, char **argv, bool cut);
/* Not used after all (the mount failed, no tool ran, record = tty without
 * a pty): closed and removed, nothing left behind. */
void cc_rec_discard(struct cc_rec *r);
/* fsync, close; the digest of every byte written. -EIO if any write failed
 * (r->error says which). With data_only, the data is written and waited for
 * but not fsynced: for a recording the audit log's own fsync makes durable
 * (cc_audit_commits_with), one wait at the session's end instead of two. */
int cc_rec_close(struct cc_rec *r, char sha256[65], bool data_only);
