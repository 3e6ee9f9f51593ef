/* The audit file's hash chain. Each line is one JSON record whose last
 * field is "prev": the sha256 (hex) of the previous line's bytes (without
 * its newline), or 64 zeros for the first record. Editing, deleting or
 * reordering a record breaks the chain at that point; `crashcart audit
 * verify FILE` finds where. (Removing records from the END is not visible
 * in the chain itself: see SECURITY.md.) */
#pragma once
#include <stdbool.h>
#include <nettle/sha2.h>
#include <stdio.h>

#include "util.h"

#define CC_SHA256_HEX 65

/* SHA-256, the one digest of the project (the chain, images, recordings),
 * from nettle: its x86_64 and arm64 code uses the CPU's SHA instructions
 * (about 1.3 GB/s here, against libmd's 0.3), which a recording of a fast
 * session hashes through. */
struct cc_sha256 {
	struct sha256_ctx ctx;
};
void cc_sha256_init(struct cc_sha256 *h);
void cc_sha256_update(struct cc_sha256 *h, const void *data, size_t len);
void cc_sha256_final_hex(struct cc_sha256 *h, char out[CC_SHA256_HEX]);
void cc_sha256_hex(const void *data, size_t len, char out[CC_SHA256_HEX]);

/* record: a JSON object text ending in '}'. prev_line: the previous line
 * (no newline), or NULL for the first. Returns a malloc'd line with
 * ,"prev":"…" inserted before the closing brace, and a newline. */
char *cc_chain_link(const char *record, const char *prev_line);
/* The same with the previous line's sha256 (hex) given: the first record of
 * a file that continues the chain of a rotated one (`audit link`). */
char *cc_chain_link_hash(const char *record, const char *prev_hash);

/* A rotated log: the files logrotate keeps are one chain. Each file is
 * checked on its own (cc_chain_scan), and its ends link it to the others:
 * the first record of a file after rotation is a "rotate" record (written
 * by `crashcart audit link`, event "rotate", member "from": the rotated
 * file's name then) whose prev is the sha256 of the last line of the file
 * before it. */
struct cc_chain_ends {
	size_t records;
	char first_prev[CC_SHA256_HEX]; /* record 1's "prev" ("": none) */
	char last_hash[CC_SHA256_HEX];  /* sha256 of the last line ("": no records) */
	bool first_rotate;              /* record 1 is a "rotate" record */
	char from[256];                 /* its "from" */
	char first_ts[64];              /* record 1's "ts" (ordering of broken sets) */
};

/* Checks every link inside the file, as cc_chain_verify does, except that a
 * "rotate" first record may follow anything (its link is across files: the
 * caller's). Problem lines are "LABEL: record N: ..." (label NULL: no
 * prefix). Returns the number of problems or negative on a read error. */
int cc_chain_scan(FILE *in, FILE *out, const char *label, struct cc_chain_ends *e, cc_error *err);

/* Checks every link; prints one line per problem to out. Returns the number
 * of problems (0: intact), or negative on a read error. *records gets the
 * number of records read. */
int cc_chain_verify(FILE *in, FILE *out, size_t *records, cc_error *err);

/* Prints the records for humans, one line each; every byte a terminal
 * could obey is escaped (cc_fputs_escaped): records are the caller's text
 * and the log is writable by operators. */
int cc_audit_show(FILE *in, FILE *out, cc_error *err);
