#include "json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void cc_json_init(struct cc_json *j)
{
	memset(j, 0, sizeof(*j));
	j->first[0] = true;
}

void cc_json_free(struct cc_json *j)
{
	free(j->buf);
	memset(j, 0, sizeof(*j));
}

static void append(struct cc_json *j, const char *s, size_t n)
{
	if (j->oom)
		return;
	if (j->len + n + 1 > j->cap) {
		size_t cap = j->cap ? j->cap : 256;
		while (cap < j->len + n + 1)
			cap *= 2;
		char *p = realloc(j->buf, cap);
		if (!p) {
			j->oom = true;
			return;
		}
		j->buf = p;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void appendz(struct cc_json *j, const char *s)
{
	append(j, s, strlen(s));
}

/* s holds len bytes and a NUL after them (cc_utf8_len never reads past a
 * NUL); a NUL among the len bytes is written as \u0000. */
static void append_bytes(struct cc_json *j, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	char esc[8];

	appendz(j, "\"");
	while (p < end) {
		size_t n;
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			append(j, esc, 2);
			p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			appendz(j, esc);
			p++;
		} else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0) {
			/* a C1 control (0xc2 0x9b is CSI to some terminals): the
			 * same character, but as text a `cat` of the log cannot obey */
			snprintf(esc, sizeof(esc), "\\u%04x", p[1]);
			appendz(j, esc);
			p += 2;
		} else if ((n = cc_utf8_len((const char *)p)) > 0 && n <= (size_t)(end - p)) {
			append(j, (const char *)p, n);
			p += n;
		} else {
			snprintf(esc, sizeof(esc), "\\u%04x", *p); /* stray byte: keep it visible */
			appendz(j, esc);
			p++;
		}
	}
	appendz(j, "\"");
}

static void append_string(struct cc_json *j, const char *s)
{
	append_bytes(j, s, strlen(s));
}

static void member(struct cc_json *j, const char *key)
{
	if (!j->first[j->depth])
		appendz(j, ",");
	j->first[j->depth] = false;
	if (key) {
		append_string(j, key);
		appendz(j, ":");
	}
}

static void open_container(struct cc_json *j, const char *key, const char *bracket)
{
	member(j, key);
	appendz(j, bracket);
	if (j->depth + 1 < (int)(sizeof(j->first) / sizeof(j->first[0]))) {
		j->depth++;
		j->first[j->depth] = true;
	} else {
		j->oom = true; /* deeper than any record we write: a bug, fail closed */
	}
}

static void close_container(struct cc_json *j, const char *bracket)
{
	appendz(j, bracket);
	if (j->depth > 0)
		j->depth--;
}

void cc_json_open(struct cc_json *j, const char *key) { open_container(j, key, "{"); }
void cc_json_close(struct cc_json *j) { close_container(j, "}"); }
void cc_json_open_array(struct cc_json *j, const char *key) { open_container(j, key, "["); }
void cc_json_close_array(struct cc_json *j) { close_container(j, "]"); }

void cc_json_str(struct cc_json *j, const char *key, const char *v)
{
	member(j, key);
	if (v)
		append_string(j, v);
	else
		appendz(j, "null");
}

void cc_json_strn(struct cc_json *j, const char *key, const char *v, size_t len)
{
	member(j, key);
	append_bytes(j, v, len);
}

void cc_json_u64(struct cc_json *j, const char *key, uint64_t v)
{
	char num[32];
	member(j, key);
	snprintf(num, sizeof(num), "%" PRIu64, v);
	appendz(j, num);
}

void cc_json_i64(struct cc_json *j, const char *key, int64_t v)
{
	char num[32];
	member(j, key);
	snprintf(num, sizeof(num), "%" PRId64, v);
	appendz(j, num);
}

void cc_json_bool(struct cc_json *j, const char *key, bool v)
{
	member(j, key);
	appendz(j, v ? "true" : "false");
}

const char *cc_json_text(struct cc_json *j)
{
	if (j->oom)
		return NULL;
	if (!j->buf)
		append(j, "", 0);
	return j->oom ? NULL : j->buf;
}
