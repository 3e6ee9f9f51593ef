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

/* Checks every link; prints one line per problem to out. Returns the number
 * of problems (0: intact), or negative on a read error. *records gets the
 * number of records read. */
int cc_chain_verify(FILE *in, FILE *out, size_t *records, cc_error *err);

/* Prints the records for humans, one line each; every byte a terminal
 * could obey is escaped (cc_fputs_escaped): records are the caller's text
 * and the log is writable by operators. */
int cc_audit_show(FILE *in, FILE *out, cc_error *err);
