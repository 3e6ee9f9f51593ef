/* A small JSON writer for audit records and machine-readable output.
 * Strings are escaped per RFC 8259; bytes that are not valid UTF-8 are
 * written as \u00XX of the byte so that hostile input (container-controlled
 * names, paths) can never break a record's framing. Control characters,
 * C1 (U+0080..U+009F) included, are written as \u00XX, so that a record
 * shown raw (cat, journalctl) cannot drive a terminal. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cc_json {
	char *buf;
	size_t len, cap;
	bool oom;
	int depth;
	bool first[16]; /* per nesting level: no comma before the next member */
};

void cc_json_init(struct cc_json *j);
void cc_json_free(struct cc_json *j);
void cc_json_open(struct cc_json *j, const char *key);   /* { ; key NULL at top / in arrays */
void cc_json_close(struct cc_json *j);                   /* } */
void cc_json_open_array(struct cc_json *j, const char *key);
void cc_json_close_array(struct cc_json *j);
void cc_json_str(struct cc_json *j, const char *key, const char *v); /* NULL -> null */
/* len bytes of v, NUL bytes included; v[len] must be a NUL. */
void cc_json_strn(struct cc_json *j, const char *key, const char *v, size_t len);
void cc_json_u64(struct cc_json *j, const char *key, uint64_t v);
void cc_json_i64(struct cc_json *j, const char *key, int64_t v);
void cc_json_bool(struct cc_json *j, const char *key, bool v);
/* The text so far, NUL-terminated, or NULL if memory ran out. */
const char *cc_json_text(struct cc_json *j);
