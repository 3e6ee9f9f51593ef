/* Unit tests for src/common/auditlog.c: the audit file's hash chain
 * (cc_chain_link, cc_chain_verify) and cc_audit_show. Each test builds a
 * chain of real records in memory, tampers with it the way someone with
 * write access to the file could, and checks that verify names the first
 * record that no longer follows its predecessor. Show is tested with the
 * records an operator can write: fields holding newlines, escape
 * sequences and C1 controls must not reach the auditor's terminal. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auditlog.h"
#include "json.h"

#define ZERO "0000000000000000000000000000000000000000000000000000000000000000"
#define N 40

/* ---- helpers ---- */

/* The lines of a chain (each with its newline), owned by the caller. */
struct chain {
	char *line[N + 8];
	size_t n;
};

static char *record_text(size_t i)
{
	char *s;
	ck_assert_int_ge(asprintf(&s,
				  "{\"ts\":\"2024-05-01T10:00:%02zu.000Z\",\"session\":\"%032zx\",\"seq\":%zu,"
				  "\"event\":\"%s\",\"phase\":\"%s\",\"uid\":1001,\"user\":\"ccop\","
				  "\"target\":{\"spec\":\"web\",\"pid\":%zu},\"image\":\"/srv/img/t.img\"}",
				  i % 60, i, i, i % 3 == 0 ? "mount" : i % 3 == 1 ? "exec" : "unmount",
				  i % 2 ? "end" : "begin", 4000 + i),
			 0);
	return s;
}

static void build(struct chain *c, size_t n)
{
	char *prev = NULL;
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < n; i++) {
		char *rec = record_text(i + 1);
		c->line[i] = cc_chain_link(rec, prev);
		ck_assert_ptr_nonnull(c->line[i]);
		free(rec);
		free(prev);
		prev = strndup(c->line[i], strlen(c->line[i]) - 1); /* without its newline */
	}
	free(prev);
	c->n = n;
}

static void chain_free(struct chain *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->line[i]);
	c->n = 0;
}

/* Concatenated lines; *len gets the size (lines may hold NUL bytes only
 * when built by hand: use set_raw for those). */
static size_t raw_len[N + 8];
static char *joined(const struct chain *c, size_t *len)
{
	size_t total = 0, o = 0;
	for (size_t i = 0; i < c->n; i++)
		total += raw_len[i] ? raw_len[i] : strlen(c->line[i]);
	char *buf = malloc(total + 1);
	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < c->n; i++) {
		size_t l = raw_len[i] ? raw_len[i] : strlen(c->line[i]);
		memcpy(buf + o, c->line[i], l);
		o += l;
	}
	buf[o] = '\0';
	*len = o;
	return buf;
}

struct verdict {
	int r;
	size_t records;
	char out[8192];
	cc_error err;
};

static void verify_buf(const char *buf, size_t len, struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	FILE *in = len ? fmemopen((void *)buf, len, "r") : fopen("/dev/null", "r");
	FILE *out = fmemopen(v->out, sizeof(v->out) - 1, "w");
	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	v->r = cc_chain_verify(in, out, &v->records, &v->err);
	fclose(out);
	fclose(in);
}

static void verify_chain(const struct chain *c, struct verdict *v)
{
	size_t len;
	char *buf = joined(c, &len);
	verify_buf(buf, len, v);
	free(buf);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The record number of the k-th problem line (1-based), 0 if none. */
static size_t problem_at(const struct verdict *v, size_t k)
{
	const char *p = v->out;
	for (size_t i = 1; p && *p; i++) {
		size_t no = 0;
		ck_assert_msg(sscanf(p, "record %zu:", &no) == 1, "unexpected verify output: %s", p);
		if (i == k)
			return no;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return 0;
}

static void replace(struct chain *c, size_t idx, const char *text)
{
	free(c->line[idx]);
	c->line[idx] = strdup(text);
	ck_assert_ptr_nonnull(c->line[idx]);
}

static void delete_at(struct chain *c, size_t idx)
{
	free(c->line[idx]);
	memmove(&c->line[idx], &c->line[idx + 1], (c->n - idx - 1) * sizeof(char *));
	c->n--;
}

static void setup(void)
{
	memset(raw_len, 0, sizeof(raw_len));
}

/* ---- cc_chain_scan: the ends by which rotated files link ---- */

static int scan_chain(const struct chain *c, struct cc_chain_ends *e, char *out, size_t outlen)
{
	size_t len;
	cc_error err = { 0 };
	char *buf = joined(c, &len);
	FILE *in = fmemopen(buf, len, "r"), *o = fmemopen(out, outlen, "w");
	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(o);
	int r = cc_chain_scan(in, o, "f.1", e, &err);
	fclose(o);
	fclose(in);
	free(buf);
	return r;
}

START_TEST(test_scan_ends_link_files)
{
	struct chain a, b;
	struct cc_chain_ends ea, eb;
	char out[4096] = "", hash[CC_SHA256_HEX];

	build(&a, 5);
	ck_assert_int_eq(scan_chain(&a, &ea, out, sizeof(out)), 0);
	ck_assert_uint_eq(ea.records, 5);
	ck_assert_str_eq(ea.first_prev, ZERO);
	ck_assert(!ea.first_rotate);
	ck_assert_str_eq(ea.first_ts, "2024-05-01T10:00:01.000Z");
	/* last_hash: the sha256 of the last line without its newline */
	cc_sha256_hex(a.line[4], strlen(a.line[4]) - 1, hash);
	ck_assert_str_eq(ea.last_hash, hash);

	/* the next file: a rotate record chained to a's last, then records */
	memset(&b, 0, sizeof(b));
	b.line[0] = cc_chain_link_hash("{\"ts\":\"2024-05-02T00:00:00.000Z\",\"event\":\"rotate\",\"from\":\"f.1\"}", ea.last_hash);
	ck_assert_ptr_nonnull(b.line[0]);
	char *prev = strndup(b.line[0], strlen(b.line[0]) - 1);
	b.line[1] = cc_chain_link("{\"event\":\"mount\"}", prev);
	free(prev);
	b.n = 2;
	ck_assert_int_eq(scan_chain(&b, &eb, out, sizeof(out)), 0);
	ck_assert(eb.first_rotate);
	ck_assert_str_eq(eb.from, "f.1");
	ck_assert_str_eq(eb.first_prev, ea.last_hash);
	/* cc_chain_verify of b alone: the rotate record may follow a file not given */
	struct verdict v;
	verify_chain(&b, &v);
	ck_assert_int_eq(v.r, 0);

	/* the first records cut off: the new first record is no rotate record
	 * and does not start the chain: broken, with the file's name */
	delete_at(&a, 0);
	ck_assert_int_eq(scan_chain(&a, &ea, out, sizeof(out)), 1);
	ck_assert_str_eq(out, "f.1: record 1: chain broken: it follows a record that is not the one before it "
			      "(a record was changed, removed or moved here)\n");
	/* a rotate record without "from" is not one */
	replace(&b, 0, "{\"event\":\"rotate\",\"prev\":\"" ZERO "1\"}\n");
	memset(out, 0, sizeof(out));
	ck_assert_int_ge(scan_chain(&b, &eb, out, sizeof(out)), 1);
	ck_assert(!eb.first_rotate);
	chain_free(&a);
	chain_free(&b);
}
END_TEST

/* ---- cc_sha256_hex, cc_chain_link ---- */

START_TEST(test_sha256_known_vectors)
{
	char h[CC_SHA256_HEX];
	cc_sha256_hex("abc", 3, h);
	ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	cc_sha256_hex("", 0, h);
	ck_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(test_link_format)
{
	char *l = cc_chain_link("{\"a\":1}", NULL);
	ck_assert_str_eq(l, "{\"a\":1,\"prev\":\"" ZERO "\"}\n");
	free(l);
	l = cc_chain_link("{}", NULL);
	ck_assert_str_eq(l, "{\"prev\":\"" ZERO "\"}\n");
	free(l);
	/* the hash is of the previous line's bytes, without its newline */
	l = cc_chain_link("{\"b\":2}", "abc");
	ck_assert_str_eq(l, "{\"b\":2,\"prev\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}\n");
	free(l);
}
END_TEST

START_TEST(test_link_rejects_non_objects)
{
	ck_assert_ptr_null(cc_chain_link("", NULL));
	ck_assert_ptr_null(cc_chain_link("}", NULL));
	ck_assert_ptr_null(cc_chain_link("{", NULL));
	ck_assert_ptr_null(cc_chain_link("[1]", NULL));
	ck_assert_ptr_null(cc_chain_link("{\"a\":1} ", NULL));
}
END_TEST

/* ---- verify ---- */

START_TEST(test_intact_chain)
{
	struct chain c;
	struct verdict v;
	build(&c, N);
	verify_chain(&c, &v);
	ck_assert_int_eq(v.r, 0);
	ck_assert_uint_eq(v.records, N);
	ck_assert_str_eq(v.out, "");
	/* the last record without its newline reads the same */
	c.line[N - 1][strlen(c.line[N - 1]) - 1] = '\0';
	verify_chain(&c, &v);
	ck_assert_int_eq(v.r, 0);
	ck_assert_uint_eq(v.records, N);
	chain_free(&c);
}
END_TEST

START_TEST(test_empty_and_single)
{
	struct chain c;
	struct verdict v;
	verify_buf("", 0, &v);
	ck_assert_int_eq(v.r, 0);
	ck_assert_uint_eq(v.records, 0);
	build(&c, 1);
	verify_chain(&c, &v);
	ck_assert_int_eq(v.r, 0);
	ck_assert_uint_eq(v.records, 1);
	chain_free(&c);
}
END_TEST

/* A changed record: the one after it no longer follows it. */
START_TEST(test_modified_record)
{
	static const size_t at[] = { 0, 1, 17, N - 2 };
	for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
		struct chain c;
		struct verdict v;
		build(&c, N);
		char *p = strstr(c.line[at[k]], "\"uid\":1001");
		ck_assert_ptr_nonnull(p);
		p[9] = '0'; /* uid 1001 -> 1000: still valid JSON, prev untouched */
		verify_chain(&c, &v);
		ck_assert_int_eq(v.r, 1);
		ck_assert_uint_eq(v.records, N);
		ck_assert_uint_eq(problem_at(&v, 1), at[k] + 2);
		ck_assert_ptr_nonnull(strstr(v.out, "chain broken"));
		chain_free(&c);
	}
}
END_TEST

/* Documented limit (auditlog.h, SECURITY.md): nothing follows the last
 * record, so a change to it is not visible in the chain itself. */
START_TEST(test_modified_last_record_is_not_visible)
{
	struct chain c;
	struct verdict v;
	build(&c, N);
	char *p = strstr(c.line[N - 1], "\"uid\":1001");
	p[9] = '0';
	verify_chain(&c, &v);
	ck_assert_int_eq(v.r, 0);
	chain_free(&c);
}
END_TEST

START_TEST(test_deleted_record)
{
	struct chain c;
	struct verdict v;
	build(&c, N);
	delete_at(&c, 10); /* record 11 */
	verify_chain(&c, &v);
	ck_assert_int_eq(v.r, 1);
	ck_assert_uint_eq(v.records, N - 1);
	ck_assert_uint_eq(problem_at(&v, 1), 11); /* old record 12 is now the 11th */
	chain_free(&c);

	/* the first record: its successor now starts the file with a non-zero prev */
	build(&c, N);
	delete_at(&c, 0);
	verify_chain(&c, &v);
	ck_assert_int_eq(v.r, 1);
	ck_assert_uint_eq(problem_at(&v, 1), 1);
	chain_free(&c);

	/* several in a row */
	build(&c, N);
	delete_at(&c, 20);
	delete_at(&c, 20);
	delete_at(&c, 20);
	verify_chain(&c, &v);
	ck_assert_int_eq(v.r, 1);
	ck_assert_uint_eq(problem_at(&v, 1), 21);
	chain_free(&c);
}
END_TEST

START_TEST(test_swapped_records)
{
	struct chain c;
	struct verdict v;
	build(&c, N);
	char *t = c.line[5];
	c.line[5] = c.line[6];
	c.line[6] = t; /* records 6 and 7 */
	verify_chain(&c, &v);
	/* 6 (was 7) follows 5, 7 (was 6) follows the old 7, 8 follows the old 6 */
	ck_assert_int_eq(v.r, 3);
	ck_assert_uint_eq(problem_at(&v, 1), 6);
	ck_assert_uint_eq(problem_at(&v, 2), 7);
	ck_assert_uint_eq(problem_at(&v, 3), 8);
	chain_free(&c);

	/* the last two: the new last one is out of place too */
	build(&c, N);
	t = c.line[N - 2];
	c.line[N - 2] = c.line[N - 1];
	c.line[N - 1] = t;
	verify_chain(&c, &v);
	ck_assert_int_eq(v.r, 2);
	ck_assert_uint_eq(problem_at(&v, 1), N - 1);
	ck_assert_uint_eq(problem_at(&v, 2), N);
	chain_free(&c);
}
END_TEST

START_TEST(test_record_without_prev)
{
	struct chain c;
	struct verdict v;
	build(&c, N);
	char *rec = record_text(99);
	char *line;
	ck_assert_int_ge(asprintf(&line, "%s\n", rec), 0);
	replace(&c, 12, line); /* record 13: an inserted-looking record without a link */
	verify_chain(&c, &v);
	ck_assert_int_eq(v.r, 2);
	ck_assert_uint_eq(problem_at(&v, 1), 13);
	ck_assert_ptr_nonnull(strstr(v.out, "record 13: no chain link (\"prev\")"));
	ck_assert_uint_eq(problem_at(&v, 2), 14);
	free(rec);
	free(line);
	chain_free(&c);

	/* prev present but not a string */
	build(&c, 3);
	replace(&c, 1, "{\"event\":\"mount\",\"prev\":5}\n");
	verify_chain(&c, &v);
	ck_assert_ptr_nonnull(strstr(v.out, "record 2: no chain link"));
	chain_free(&c);
}
END_TEST

START_TEST(test_non_json_line)
{
	static const char *const junk[] = { "this is not json\n", "\n", "[1,2,3]\n", "\"prev\"\n", "{\"a\":\n" };
	for (size_t k = 0; k < sizeof(junk) / sizeof(junk[0]); k++) {
		struct chain c;
		struct verdict v;
		build(&c, N);
		replace(&c, 7, junk[k]);
		verify_chain(&c, &v);
		ck_assert_int_eq(v.r, 2);
		ck_assert_msg(strncmp(v.out, "record 8: not a JSON object\n", 28) == 0, "junk %zu: %s", k, v.out);
		ck_assert_uint_eq(problem_at(&v, 2), 9);
		chain_free(&c);
	}
}
END_TEST

/* verify and show read a log with one line buffer and one JSON parser:
 * what a line left behind never shows in the next one. Lines of very
 * different lengths (a long one before a short one) hash and parse as
 * themselves, and the record after one cut off mid-object (the parser
 * stopped waiting for more) is read afresh. */
START_TEST(test_lines_read_afresh)
{
	struct chain c;
	struct verdict v;
	char *prev = NULL;
	memset(&c, 0, sizeof(c));
	for (size_t i = 0; i < 12; i++) {
		char *rec;
		ck_assert_int_ge(asprintf(&rec, "{\"seq\":%zu,\"event\":\"exec\",\"image\":\"/%0*d\"}", i + 1,
					  (int)(i % 2 ? 3 : 3000 - 200 * i), 7),
				 0);
		c.line[i] = cc_chain_link(rec, prev);
		ck_assert_ptr_nonnull(c.line[i]);
		free(rec);
		free(prev);
		prev = strndup(c.line[i], strlen(c.line[i]) - 1);
	}
	free(prev);
	c.n = 12;
	verify_chain(&c, &v);
	ck_assert_msg(v.r == 0, "%s", v.out);
	ck_assert_uint_eq(v.records, 12);

	/* record 6 cut off inside its object */
	replace(&c, 5, "{\"seq\":6,\"event\":\"ex\n");
	verify_chain(&c, &v);
	ck_assert_int_eq(v.r, 2);
	ck_assert_str_eq(v.out, "record 6: not a JSON object\n"
				"record 7: chain broken: it follows a record that is not the one before it "
				"(a record was changed, removed or moved here)\n");
	char out[65536] = "";
	size_t len;
	cc_error err = { 0 };
	char *buf = joined(&c, &len);
	FILE *in = fmemopen(buf, len, "r"), *o = fmemopen(out, sizeof(out) - 1, "w");
	ck_assert_int_eq(cc_audit_show(in, o, &err), 0);
	fclose(o);
	fclose(in);
	ck_assert_uint_eq(count_lines(out), 12);
	ck_assert_ptr_nonnull(strstr(out, "    6  (not a record)\n"));
	ck_assert_ptr_nonnull(strstr(out, "\n    7              exec    "));
	ck_assert_ptr_null(strstr(out, "    7  (not a record)"));
	free(buf);
	chain_free(&c);
}
END_TEST

/* An inserted record with a correct link to its predecessor still breaks
 * the link of the record after it. */
START_TEST(test_inserted_record)
{
	struct chain c;
	struct verdict v;
	build(&c, N);
	char *prev = strndup(c.line[9], strlen(c.line[9]) - 1);
	char *rec = record_text(77);
	char *line = cc_chain_link(rec, prev);
	memmove(&c.line[11], &c.line[10], (c.n - 10) * sizeof(char *));
	c.line[10] = line;
	c.n++;
	verify_chain(&c, &v);
	ck_assert_int_eq(v.r, 1);
	ck_assert_uint_eq(problem_at(&v, 1), 12);
	free(prev);
	free(rec);
	chain_free(&c);
}
END_TEST

/* Bytes hidden after a NUL: json-c and strlen stop there, so before the
 * fix the changed line hashed like the original and verify saw nothing. */
START_TEST(test_nul_byte_in_record)
{
	struct chain c;
	struct verdict v;
	build(&c, 5);
	size_t l = strlen(c.line[2]);
	char *t = malloc(l + 16);
	memcpy(t, c.line[2], l - 1);
	memcpy(t + l - 1, "\0hidden\n", 8);
	free(c.line[2]);
	c.line[2] = t;
	raw_len[2] = l + 7;
	verify_chain(&c, &v);
	ck_assert_int_ge(v.r, 1);
	ck_assert_uint_eq(problem_at(&v, 1), 3);
	ck_assert_ptr_nonnull(strstr(v.out, "record 3: holds a NUL byte"));
	chain_free(&c);
}
END_TEST

START_TEST(test_overlong_record)
{
	size_t big = (1 << 20) + 10;
	char *buf = malloc(big + 2);
	struct verdict v;
	memset(buf, 'x', big);
	buf[big] = '\n';
	/* a problem like any other change (exit 1 for verify), and the
	 * records after it are still checked */
	memcpy(buf + big + 1, "x", 1);
	verify_buf(buf, big + 2, &v);
	ck_assert_int_eq(v.r, 2);
	ck_assert_uint_eq(v.records, 2);
	ck_assert_ptr_nonnull(strstr(v.out, "record 1: longer than 1048576 bytes"));
	ck_assert_ptr_nonnull(strstr(v.out, "record 2: not a JSON object"));
	free(buf);
}
END_TEST

/* ---- show ---- */

START_TEST(test_show_one_line_per_record)
{
	struct chain c;
	char out[16384] = "";
	size_t len;
	cc_error err = { 0 };
	build(&c, 6);
	replace(&c, 3, "garbage\n");
	char *l = cc_chain_link("{\"ts\":\"T\",\"session\":\"0123456789abcdef\",\"event\":\"exec\",\"phase\":\"refused\","
				"\"result\":\"refused\",\"uid\":1001,\"user\":\"ccop\",\"target\":{\"spec\":\"web\",\"pid\":42},"
				"\"error\":\"not allowed\"}",
				NULL);
	c.line[c.n++] = l;
	char *buf = joined(&c, &len);
	FILE *in = fmemopen(buf, len, "r"), *o = fmemopen(out, sizeof(out) - 1, "w");
	ck_assert_int_eq(cc_audit_show(in, o, &err), 0);
	fclose(o);
	fclose(in);
	ck_assert_uint_eq(count_lines(out), 7);
	ck_assert_ptr_nonnull(strstr(out, "    4  (not a record)\n"));
	ck_assert_ptr_nonnull(strstr(out, "user ccop (uid 1001) target web (pid 4001) image /srv/img/t.img\n"));
	/* the session is cut to 8 characters; refusals carry their error */
	ck_assert_ptr_nonnull(
		strstr(out, "    7  T  01234567  exec    refused  refused   user ccop (uid 1001) target web (pid 42): not allowed\n"));
	free(buf);
	chain_free(&c);
}
END_TEST

/* Every byte of a shown line a terminal could obey: C0 but the line ends,
 * DEL, C1 raw or UTF-8 encoded. */
static void assert_inert(const char *out)
{
	for (const unsigned char *p = (const unsigned char *)out; *p; p++) {
		ck_assert_msg(*p >= 0x20 || *p == '\n', "control byte %#x shown raw: %s", *p, out);
		ck_assert_msg(*p != 0x7f, "DEL shown raw");
		ck_assert_msg(!(*p >= 0x80 && *p < 0xa0 && (p == (const unsigned char *)out || p[-1] == 0xc2 || p[-1] < 0x80)),
			      "C1 control shown raw: %s", out);
	}
}

/* The attack: a target spec (the caller's own text, recorded as given) that
 * ends the line, erases it and moves up, then writes a line of its own. */
START_TEST(test_show_escapes_hostile_fields)
{
	char out[16384] = "";
	cc_error err = { 0 };
	const char *text =
		"{\"ts\":\"2026-12-01T10:00:00.000Z\",\"session\":\"0123456789abcdef\",\"event\":\"mount\",\"phase\":\"refused\","
		"\"result\":\"refused\",\"uid\":1001,\"user\":\"ccop\",\"target\":{\"spec\":\"42\\n\\u001b[2K\\u001b[1A"
		"    9  2026-12-01T10:00:01.000Z  00000000  mount   end      ok        user root (uid 0) target web\","
		"\"pid\":0},\"error\":\"cannot resolve '42\\n\\u001b[2K': no such \\\\ thing\\u0007\"}\n"
		/* forged by hand: C1 (as JSON, and as raw UTF-8), DEL, a stray byte */
		"{\"ts\":\"\\u009b2J\xc2\x9b" "2J\",\"session\":\"s\\u007f\",\"event\":\"exec\",\"phase\":\"end\",\"user\":\"op\xff\","
		"\"uid\":{\"x\":\"\\u001b\"},\"image\":\"/img/\\u001b]0;pwned\\u0007.img\"}\n";
	FILE *in = fmemopen((void *)text, strlen(text), "r"), *o = fmemopen(out, sizeof(out) - 1, "w");
	ck_assert_int_eq(cc_audit_show(in, o, &err), 0);
	fclose(o);
	fclose(in);
	ck_assert_uint_eq(count_lines(out), 2);
	assert_inert(out);
	ck_assert_ptr_null(strstr(out, "\n    9  "));
	ck_assert_str_eq(out,
		"    1  2026-12-01T10:00:00.000Z  01234567  mount   refused  refused   user ccop (uid 1001) target "
		"42\\x0a\\x1b[2K\\x1b[1A    9  2026-12-01T10:00:01.000Z  00000000  mount   end      ok        user root (uid 0) "
		"target web (pid 0): cannot resolve '42\\x0a\\x1b[2K': no such \\\\ thing\\x07\n"
		"    2  \\xc2\\x9b2J\\xc2\\x9b2J  s\\x7f        exec    end                user op\\xff (uid { \"x\": \"\\\\u001b\" }) "
		"target  (pid ) image /img/\\x1b]0;pwned\\x07.img\n");
}
END_TEST

/* What the broker writes: json.c keeps controls, C1 included, out of the
 * file as raw bytes (a `cat` or `journalctl` of the log cannot obey them). */
START_TEST(test_record_escapes_controls)
{
	struct cc_json j;
	cc_json_init(&j);
	cc_json_open(&j, NULL);
	cc_json_str(&j, "spec", "a\n\x1b[1A\xc2\x9b\x9b\x7f\xc2\xa0\xc3\xa9");
	cc_json_close(&j);
	ck_assert_str_eq(cc_json_text(&j), "{\"spec\":\"a\\u000a\\u001b[1A\\u009b\\u009b\\u007f\xc2\xa0\xc3\xa9\"}");
	cc_json_free(&j);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("auditlog");
	TCase *tc = tcase_create("chain");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_sha256_known_vectors);
	tcase_add_test(tc, test_link_format);
	tcase_add_test(tc, test_link_rejects_non_objects);
	tcase_add_test(tc, test_intact_chain);
	tcase_add_test(tc, test_empty_and_single);
	tcase_add_test(tc, test_modified_record);
	tcase_add_test(tc, test_modified_last_record_is_not_visible);
	tcase_add_test(tc, test_deleted_record);
	tcase_add_test(tc, test_swapped_records);
	tcase_add_test(tc, test_record_without_prev);
	tcase_add_test(tc, test_non_json_line);
	tcase_add_test(tc, test_inserted_record);
	tcase_add_test(tc, test_nul_byte_in_record);
	tcase_add_test(tc, test_overlong_record);
	tcase_add_test(tc, test_show_one_line_per_record);
	tcase_add_test(tc, test_show_escapes_hostile_fields);
	tcase_add_test(tc, test_record_escapes_controls);
	tcase_add_test(tc, test_scan_ends_link_files);
	tcase_add_test(tc, test_lines_read_afresh);
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
