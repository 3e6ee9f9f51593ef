/* Unit tests for src/common/util.c: strict number parsing, /proc/PID/stat
 * parsing, bounded file reads, error formatting, string vectors, and the
 * escaping of text on its way to a terminal (cc_escape, cc_utf8_len). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"


/* ---- cc_parse_u64 ---- */

static int parse(const char *s, uint64_t max, uint64_t *out)
{
	*out = 0xdeadbeefcafef00dULL; /* sentinel: failures must not write */
	return cc_parse_u64(s, max, out);
}

START_TEST(test_parse_u64_valid)
{
	uint64_t v;
	ck_assert_int_eq(parse("0", UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(parse("1", UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, 1);
	ck_assert_int_eq(parse("9", UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, 9);
	ck_assert_int_eq(parse("10", UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, 10);
	ck_assert_int_eq(parse("1234567890", UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, 1234567890ULL);
	ck_assert_int_eq(parse("4294967296", UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, 4294967296ULL);
}
END_TEST

START_TEST(test_parse_u64_rejects_syntax)
{
	static const char *const bad[] = {
		"", "00", "01", "007", "+1", "-1", "-0", "+0", " 1", "1 ", "1\n", "\t1",
		"1a", "a1", "0x10", "1.0", "1,000", "1e3", "١", "12 34", "--1",
	};
	uint64_t v;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_msg(parse(bad[i], UINT64_MAX, &v) == -EINVAL, "\"%s\" was not rejected with -EINVAL", bad[i]);
		ck_assert_msg(v == 0xdeadbeefcafef00dULL, "\"%s\": output written on failure", bad[i]);
	}
	ck_assert_int_eq(cc_parse_u64(NULL, UINT64_MAX, &v), -EINVAL);
}
END_TEST

START_TEST(test_parse_u64_overflow)
{
	uint64_t v;
	/* The largest u64 is accepted, one more is not. */
	ck_assert_int_eq(parse("18446744073709551615", UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(parse("18446744073709551616", UINT64_MAX, &v), -ERANGE);
	ck_assert_uint_eq(v, 0xdeadbeefcafef00dULL);
	ck_assert_int_eq(parse("18446744073709551620", UINT64_MAX, &v), -ERANGE);
	ck_assert_int_eq(parse("18446744073709551625", UINT64_MAX, &v), -ERANGE);
	ck_assert_int_eq(parse("99999999999999999999", UINT64_MAX, &v), -ERANGE);
	ck_assert_int_eq(parse("184467440737095516150", UINT64_MAX, &v), -ERANGE);
	ck_assert_int_eq(parse("100000000000000000000000000000000000000", UINT64_MAX, &v), -ERANGE);
}
END_TEST

START_TEST(test_parse_u64_max_boundary)
{
	uint64_t v;
	ck_assert_int_eq(parse("100", 100, &v), 0);
	ck_assert_uint_eq(v, 100);
	ck_assert_int_eq(parse("99", 100, &v), 0);
	ck_assert_uint_eq(v, 99);
	ck_assert_int_eq(parse("101", 100, &v), -ERANGE);
	ck_assert_int_eq(parse("109", 100, &v), -ERANGE);
	ck_assert_int_eq(parse("110", 100, &v), -ERANGE);
	ck_assert_int_eq(parse("1000", 100, &v), -ERANGE);
	ck_assert_int_eq(parse("4294967295", UINT32_MAX, &v), 0);
	ck_assert_uint_eq(v, UINT32_MAX);
	ck_assert_int_eq(parse("4294967296", UINT32_MAX, &v), -ERANGE);
	/* The pid limit the worker uses. */
	ck_assert_int_eq(parse("1073741823", 0x3fffffff, &v), 0);
	ck_assert_uint_eq(v, 0x3fffffff);
	ck_assert_int_eq(parse("1073741824", 0x3fffffff, &v), -ERANGE);
	ck_assert_int_eq(parse("18446744073709551614", UINT64_MAX - 1, &v), 0);
	ck_assert_int_eq(parse("18446744073709551615", UINT64_MAX - 1, &v), -ERANGE);
	ck_assert_int_eq(parse("15", 15, &v), 0);
	ck_assert_uint_eq(v, 15);
	ck_assert_int_eq(parse("16", 15, &v), -ERANGE);
	ck_assert_int_eq(parse("19", 15, &v), -ERANGE);
	ck_assert_int_eq(parse("20", 15, &v), -ERANGE);
	ck_assert_int_eq(parse("10", 10, &v), 0);
	ck_assert_int_eq(parse("11", 10, &v), -ERANGE);
	ck_assert_int_eq(parse("9", 9, &v), 0);
	ck_assert_uint_eq(v, 9);
}
END_TEST

/* A regression test: with max < 9, (max - d) once underflowed for a digit
 * d > max, so cc_parse_u64("7", 5, &v) returned 0 with v = 7. */
START_TEST(test_parse_u64_small_max)
{
	uint64_t v;
	ck_assert_int_eq(parse("0", 0, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(parse("1", 0, &v), -ERANGE);
	ck_assert_int_eq(parse("1", 1, &v), 0);
	ck_assert_int_eq(parse("2", 1, &v), -ERANGE);
	ck_assert_int_eq(parse("5", 5, &v), 0);
	ck_assert_int_eq(parse("7", 5, &v), -ERANGE);
	ck_assert_int_eq(parse("19", 5, &v), -ERANGE);
	ck_assert_int_eq(parse("9", 8, &v), -ERANGE);
}
END_TEST

/* ---- cc_parse_stat_start_time ---- */

/* 20 fields after the comm (fields 3..22), then a few more. */
#define STAT_TAIL(st) " S 0 0 0 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 " st " 1000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"

START_TEST(test_stat_self)
{
	char buf[4096], copy[4096];
	uint64_t v = 0;
	int n = cc_read_file_at(AT_FDCWD, "/proc/self/stat", buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(cc_parse_stat_start_time(buf, &v), 0);

	/* Independent reading: the 20th space separated token after the last ')'. */
	memcpy(copy, buf, (size_t)n + 1);
	char *p = strrchr(copy, ')');
	ck_assert_ptr_nonnull(p);
	char *save = NULL, *tok = strtok_r(p + 1, " \n", &save);
	for (int i = 3; i < 22; i++) {
		ck_assert_ptr_nonnull(tok);
		tok = strtok_r(NULL, " \n", &save);
	}
	ck_assert_ptr_nonnull(tok);
	ck_assert_uint_eq(v, strtoull(tok, NULL, 10));

	/* The parent (Check's runner or the shell) started no later than we did. */
	char path[64];
	uint64_t pv = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)getppid());
	if (cc_read_file_at(AT_FDCWD, path, buf, sizeof(buf)) > 0) {
		ck_assert_int_eq(cc_parse_stat_start_time(buf, &pv), 0);
		ck_assert_uint_le(pv, v);
	}
}
END_TEST

START_TEST(test_stat_crafted)
{
	uint64_t v = 0;
	ck_assert_int_eq(cc_parse_stat_start_time("1 (bash)" STAT_TAIL("123456"), &v), 0);
	ck_assert_uint_eq(v, 123456);
	/* comm with spaces and ')' */
	v = 0;
	ck_assert_int_eq(cc_parse_stat_start_time("1 (a) b))" STAT_TAIL("654321"), &v), 0);
	ck_assert_uint_eq(v, 654321);
	v = 0;
	ck_assert_int_eq(cc_parse_stat_start_time("77 ( ) ) ( )" STAT_TAIL("42"), &v), 0);
	ck_assert_uint_eq(v, 42);
	/* A comm that fakes a whole stat line: the real fields come after the last ')'. */
	v = 0;
	ck_assert_int_eq(cc_parse_stat_start_time(
		"42 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 999)" STAT_TAIL("31337"), &v), 0);
	ck_assert_uint_eq(v, 31337);
	/* Field 22 last, with and without a newline; the maximum value. */
	v = 0;
	ck_assert_int_eq(cc_parse_stat_start_time(
		"1 (x) S 0 0 0 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 777\n", &v), 0);
	ck_assert_uint_eq(v, 777);
	v = 0;
	ck_assert_int_eq(cc_parse_stat_start_time(
		"1 (x) S 0 0 0 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 778", &v), 0);
	ck_assert_uint_eq(v, 778);
	v = 0;
	ck_assert_int_eq(cc_parse_stat_start_time("1 (x)" STAT_TAIL("18446744073709551615"), &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	v = 1;
	ck_assert_int_eq(cc_parse_stat_start_time("1 (x)" STAT_TAIL("0"), &v), 0);
	ck_assert_uint_eq(v, 0);
}
END_TEST

START_TEST(test_stat_malformed)
{
	uint64_t v = 99;
	ck_assert_int_lt(cc_parse_stat_start_time("", &v), 0);
	ck_assert_int_lt(cc_parse_stat_start_time("1 (bash S 0 0 0", &v), 0);
	ck_assert_int_lt(cc_parse_stat_start_time("1 (bash)", &v), 0);
	ck_assert_int_lt(cc_parse_stat_start_time("1 (bash)\n", &v), 0);
	/* 19 fields after the comm: one short. */
	ck_assert_int_lt(cc_parse_stat_start_time("1 (x) S 0 0 0 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0", &v), 0);
	ck_assert_int_lt(cc_parse_stat_start_time("1 (x) S 0 0 0 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 \n", &v), 0);
	/* A ')' inside the fields means the fields counted are the wrong ones. */
	ck_assert_int_lt(cc_parse_stat_start_time("1 (x) S 0 0 0 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 5 ) 1", &v), 0);
	/* Field 22 not a plain decimal. */
	ck_assert_int_lt(cc_parse_stat_start_time("1 (x)" STAT_TAIL("abc"), &v), 0);
	ck_assert_int_lt(cc_parse_stat_start_time("1 (x)" STAT_TAIL("-5"), &v), 0);
	ck_assert_int_lt(cc_parse_stat_start_time("1 (x)" STAT_TAIL("012"), &v), 0);
	ck_assert_int_lt(cc_parse_stat_start_time("1 (x)" STAT_TAIL("18446744073709551616"), &v), 0);
	ck_assert_int_lt(cc_parse_stat_start_time("1 (x)" STAT_TAIL("1234567890123456789012345678901234567890"), &v), 0);
	ck_assert_uint_eq(v, 99); /* untouched by every failure */
}
END_TEST

/* ---- cc_read_file_at ---- */

static char tmpdir[64];
static int tmpfd = -1;

static void tmp_setup(void)
{
	strcpy(tmpdir, "/tmp/cc-test-util-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	tmpfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(tmpfd, 0);
}

static void tmp_teardown(void)
{
	static const char *const names[] = { "f0", "f1", "f15", "f16", "f17", "big", "w", "sub" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		(void)unlinkat(tmpfd, names[i], 0);
		(void)unlinkat(tmpfd, names[i], AT_REMOVEDIR);
	}
	(void)close(tmpfd);
	(void)rmdir(tmpdir);
}

static void write_file(const char *name, size_t size)
{
	int fd = openat(tmpfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	char *data = malloc(size + 1);
	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < size; i++)
		data[i] = (char)('a' + i % 26);
	ck_assert_int_eq(cc_write_all(fd, data, size), 0);
	free(data);
	ck_assert_int_eq(close(fd), 0);
}

START_TEST(test_read_file_exact_fit)
{
	char buf[16 + 8];
	memset(buf, 0x5a, sizeof(buf));
	write_file("f15", 15);
	ck_assert_int_eq(cc_read_file_at(tmpfd, "f15", buf, 16), 15);
	ck_assert_int_eq(buf[15], '\0');
	ck_assert_str_eq(buf, "abcdefghijklmno");
	for (size_t i = 16; i < sizeof(buf); i++)
		ck_assert_int_eq((unsigned char)buf[i], 0x5a);
}
END_TEST

START_TEST(test_read_file_too_big)
{
	char buf[16 + 8];
	write_file("f16", 16);
	write_file("f17", 17);
	write_file("big", 200000);
	static const char *const names[] = { "f16", "f17", "big" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		memset(buf, 0x5a, sizeof(buf));
		ck_assert_msg(cc_read_file_at(tmpfd, names[i], buf, 16) == -EFBIG, "%s not -EFBIG", names[i]);
		for (size_t j = 16; j < sizeof(buf); j++)
			ck_assert_int_eq((unsigned char)buf[j], 0x5a);
	}
	/* The big one fits a big enough buffer. */
	char *large = malloc(200001);
	ck_assert_ptr_nonnull(large);
	ck_assert_int_eq(cc_read_file_at(tmpfd, "big", large, 200001), 200000);
	ck_assert_int_eq(large[200000], '\0');
	ck_assert_int_eq(large[199999], 'a' + 199999 % 26);
	ck_assert_int_eq(cc_read_file_at(tmpfd, "big", large, 200000), -EFBIG);
	free(large);
}
END_TEST

START_TEST(test_read_file_small_and_errors)
{
	char buf[8];
	write_file("f0", 0);
	write_file("f1", 1);
	memset(buf, 0x5a, sizeof(buf));
	ck_assert_int_eq(cc_read_file_at(tmpfd, "f0", buf, sizeof(buf)), 0);
	ck_assert_int_eq(buf[0], '\0');
	/* max 1: room for the NUL only. */
	memset(buf, 0x5a, sizeof(buf));
	ck_assert_int_eq(cc_read_file_at(tmpfd, "f0", buf, 1), 0);
	ck_assert_int_eq(buf[0], '\0');
	ck_assert_int_eq((unsigned char)buf[1], 0x5a);
	ck_assert_int_eq(cc_read_file_at(tmpfd, "f1", buf, 1), -EFBIG);
	ck_assert_int_eq(cc_read_file_at(tmpfd, "f1", buf, 2), 1);
	ck_assert_str_eq(buf, "a");
	/* Relative to the dirfd, not the cwd. */
	ck_assert_int_eq(cc_read_file_at(AT_FDCWD, "f1-not-here", buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(cc_read_file_at(tmpfd, "missing", buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(mkdirat(tmpfd, "sub", 0700), 0);
	ck_assert_int_eq(cc_read_file_at(tmpfd, "sub", buf, sizeof(buf)), -EISDIR);
	ck_assert_int_eq(cc_read_file_at(-1, "f1", buf, sizeof(buf)), -EBADF);
	/* A /proc file (reads in pieces, size 0 in stat). */
	char big[4096];
	ck_assert_int_gt(cc_read_file_at(AT_FDCWD, "/proc/self/status", big, sizeof(big)), 0);
	ck_assert_ptr_nonnull(strstr(big, "Name:"));
	ck_assert_int_eq(cc_read_file_at(AT_FDCWD, "/proc/self/status", big, 8), -EFBIG);
}
END_TEST

START_TEST(test_write_all)
{
	int p[2];
	char buf[8];
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(cc_write_all(p[1], "hello", 5), 0);
	ck_assert_int_eq(cc_write_all(p[1], "", 0), 0);
	ck_assert_int_eq(read(p[0], buf, sizeof(buf)), 5);
	ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(cc_write_all(p[1], "x", 1), -EPIPE);
	close(p[1]);
	ck_assert_int_eq(cc_write_all(-1, "x", 1), -EBADF);
}
END_TEST

/* ---- errors ---- */

START_TEST(test_fail_format)
{
	cc_error err = { 0 };
	ck_assert_int_eq(cc_fail(&err, ENOENT, "no container %s (%d)", "web", 42), -ENOENT);
	ck_assert_int_eq(err.code, ENOENT);
	ck_assert_str_eq(err.msg, "no container web (42)");

	char expect[256];
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(cc_failx(&err, EACCES, "cannot open %s", "/x"), -EACCES);
	ck_assert_int_eq(err.code, EACCES);
	snprintf(expect, sizeof(expect), "cannot open /x: %s", strerror(EACCES));
	ck_assert_str_eq(err.msg, expect);

	/* A non-positive code is turned into EIO. */
	ck_assert_int_eq(cc_fail(&err, 0, "zero"), -EIO);
	ck_assert_int_eq(err.code, EIO);
	ck_assert_str_eq(err.msg, "zero");
	ck_assert_int_eq(cc_failx(&err, -EPERM, "neg"), -EIO);
	ck_assert_int_eq(err.code, EIO);
	snprintf(expect, sizeof(expect), "neg: %s", strerror(EIO));
	ck_assert_str_eq(err.msg, expect);

	/* No error struct: still returns the code. */
	ck_assert_int_eq(cc_fail(NULL, EINVAL, "nobody listens %d", 1), -EINVAL);
	ck_assert_int_eq(cc_failx(NULL, ERANGE, "nobody listens"), -ERANGE);
	cc_error_prefix(NULL, "x");
}
END_TEST

START_TEST(test_fail_truncation)
{
	cc_error err;
	char long_s[2000];
	memset(long_s, 'x', sizeof(long_s) - 1);
	long_s[sizeof(long_s) - 1] = '\0';
	memset(&err, 0x5a, sizeof(err));
	ck_assert_int_eq(cc_fail(&err, E2BIG, "%s", long_s), -E2BIG);
	ck_assert_uint_eq(strlen(err.msg), sizeof(err.msg) - 1);
	memset(&err, 0x5a, sizeof(err));
	ck_assert_int_eq(cc_failx(&err, E2BIG, "%s", long_s), -E2BIG);
	ck_assert_uint_eq(strlen(err.msg), sizeof(err.msg) - 1);
	ck_assert_int_eq(err.code, E2BIG);
	/* Near the end: strerror itself is cut, but the message stays terminated. */
	memset(&err, 0x5a, sizeof(err));
	long_s[sizeof(err.msg) - 5] = '\0';
	cc_failx(&err, ENOENT, "%s", long_s);
	ck_assert_uint_eq(strlen(err.msg), sizeof(err.msg) - 1);
	ck_assert_int_eq(strncmp(err.msg + sizeof(err.msg) - 5, ": No", 4), 0);
}
END_TEST

START_TEST(test_error_prefix)
{
	cc_error err = { 0 };
	cc_fail(&err, ESRCH, "process %d is gone", 7);
	cc_error_prefix(&err, "resolving %s", "web");
	ck_assert_str_eq(err.msg, "resolving web: process 7 is gone");
	cc_error_prefix(&err, "crashcart");
	ck_assert_str_eq(err.msg, "crashcart: resolving web: process 7 is gone");
	ck_assert_int_eq(err.code, ESRCH); /* the code is kept */

	/* Prefixing a full message truncates it but keeps it terminated. */
	char long_s[1000];
	memset(long_s, 'y', sizeof(long_s) - 1);
	long_s[sizeof(long_s) - 1] = '\0';
	cc_fail(&err, EIO, "%s", long_s);
	cc_error_prefix(&err, "outer");
	ck_assert_uint_eq(strlen(err.msg), sizeof(err.msg) - 1);
	ck_assert_int_eq(strncmp(err.msg, "outer: yyy", 10), 0);
	/* A long prefix is bounded as well. */
	cc_fail(&err, EIO, "inner");
	cc_error_prefix(&err, "%s", long_s);
	ck_assert_uint_le(strlen(err.msg), sizeof(err.msg) - 1);
	ck_assert_ptr_nonnull(strstr(err.msg, ": inner"));
}
END_TEST

/* ---- string vectors ---- */

START_TEST(test_strv)
{
	char *empty[] = { NULL };
	char *three[] = { "a", "", "long string with spaces", NULL };
	char **copy = NULL;

	ck_assert_uint_eq(cc_strv_len(NULL), 0);
	ck_assert_uint_eq(cc_strv_len(empty), 0);
	ck_assert_uint_eq(cc_strv_len(three), 3);

	ck_assert_int_eq(cc_strv_dup(three, &copy), 0);
	ck_assert_ptr_nonnull(copy);
	ck_assert_uint_eq(cc_strv_len(copy), 3);
	ck_assert_ptr_null(copy[3]);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_str_eq(copy[i], three[i]);
		ck_assert_ptr_ne(copy[i], three[i]); /* deep copy */
	}
	copy[0][0] = 'z';
	ck_assert_str_eq(three[0], "a");
	cc_strv_free(copy);

	copy = NULL;
	ck_assert_int_eq(cc_strv_dup(empty, &copy), 0);
	ck_assert_ptr_nonnull(copy);
	ck_assert_ptr_null(copy[0]);
	cc_strv_free(copy);

	copy = NULL;
	ck_assert_int_eq(cc_strv_dup(NULL, &copy), 0);
	ck_assert_ptr_nonnull(copy);
	ck_assert_uint_eq(cc_strv_len(copy), 0);
	cc_strv_free(copy);
	cc_strv_free(NULL);

	{
		_cleanup_strv_ char **auto_v = NULL;
		ck_assert_int_eq(cc_strv_dup(three, &auto_v), 0);
		ck_assert_uint_eq(cc_strv_len(auto_v), 3);
	} /* freed here; valgrind checks */
}
END_TEST

START_TEST(test_cleanup_helpers)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	int keep;
	{
		_cleanup_close_ int a = p[0];
		_cleanup_close_ int b = p[1];
		keep = TAKE_FD(b);
		ck_assert_int_eq(b, -1);
		_cleanup_free_ char *s = strdup("x");
		char *t = TAKE_PTR(s);
		ck_assert_ptr_null(s);
		free(t);
		(void)a;
	}
	ck_assert_int_eq(fcntl(p[0], F_GETFD), -1); /* closed by the cleanup */
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_ge(fcntl(keep, F_GETFD), 0); /* taken: still open */
	close(keep);
}
END_TEST

/* ---- cc_escape, cc_fputs_escaped, cc_utf8_len ---- */

static const char *esc(const char *s)
{
	static char out[512];
	cc_escape(s, out, sizeof(out));
	return out;
}

/* What cc_fputs_escaped writes must be what cc_escape returns. */
static void same_via_file(const char *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(cc_fputs_escaped(s, f), 0);
	fclose(f);
	ck_assert_str_eq(text, esc(s));
	free(text);
}

#define ESCAPES(in, want)                                                                       \
	do {                                                                                    \
		ck_assert_str_eq(esc(in), want);                                                \
		same_via_file(in);                                                              \
	} while (0)

START_TEST(test_escape_keeps_text)
{
	ESCAPES("", "");
	ESCAPES("plain: /srv/img/a.img (pid 42)", "plain: /srv/img/a.img (pid 42)");
	ESCAPES("~!@#$%^&*()_+{}|:\"<>?[];',./`", "~!@#$%^&*()_+{}|:\"<>?[];',./`");
	ESCAPES(" ", " ");
	/* valid UTF-8 of U+00A0 and above is text: names in any language */
	ESCAPES("caf\xc3\xa9", "caf\xc3\xa9");                  /* é */
	ESCAPES("\xc2\xa0|\xc2\xbf", "\xc2\xa0|\xc2\xbf");       /* U+00A0, U+00BF: first after C1 */
	ESCAPES("\xe2\x82\xac 5", "\xe2\x82\xac 5");             /* € */
	ESCAPES("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac");
	ESCAPES("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");         /* U+1F600 */
	ESCAPES("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");         /* U+10FFFF */
}
END_TEST

START_TEST(test_escape_controls)
{
	ESCAPES("a\nb", "a\\x0ab");
	ESCAPES("\r\t\v\f\b\a", "\\x0d\\x09\\x0b\\x0c\\x08\\x07");
	ESCAPES("\x01\x1f", "\\x01\\x1f");
	ESCAPES("\x1b[2K\x1b[1A", "\\x1b[2K\\x1b[1A");
	ESCAPES("\x1b]0;title\x07", "\\x1b]0;title\\x07"); /* OSC: window title */
	ESCAPES("del\x7f", "del\\x7f");
	/* backslash is escaped, so that "\x1b" in the input is not ESC in the output */
	ESCAPES("\\", "\\\\");
	ESCAPES("\\x1b", "\\\\x1b");
	ESCAPES("C:\\dir\\", "C:\\\\dir\\\\");
	/* C1 controls: raw, and as UTF-8 (0xc2 0x9b is CSI to some terminals) */
	ESCAPES("\x9b" "2J", "\\x9b2J");
	ESCAPES("\x80\x9f", "\\x80\\x9f");
	ESCAPES("\xc2\x9b" "2J", "\\xc2\\x9b2J");
	ESCAPES("\xc2\x80\xc2\x85\xc2\x9f", "\\xc2\\x80\\xc2\\x85\\xc2\\x9f");
}
END_TEST

START_TEST(test_escape_invalid_utf8)
{
	ESCAPES("\xff\xfe", "\\xff\\xfe");
	ESCAPES("\xc3", "\\xc3");                      /* truncated at the end */
	ESCAPES("\xc3" "A", "\\xc3A");                  /* not followed by a continuation byte */
	ESCAPES("\xe2\x82", "\\xe2\\x82");              /* truncated 3-byte form */
	ESCAPES("\xe2\x82" "A", "\\xe2\\x82A");
	ESCAPES("\xc0\xaf", "\\xc0\\xaf");              /* overlong '/' */
	ESCAPES("\xc1\x9b", "\\xc1\\x9b");              /* overlong ESC-ish */
	ESCAPES("\xe0\x80\x8a", "\\xe0\\x80\\x8a");     /* overlong newline */
	ESCAPES("\xed\xa0\x80", "\\xed\\xa0\\x80");     /* surrogate */
	ESCAPES("\xf0\x80\x80\x8a", "\\xf0\\x80\\x80\\x8a");
	ESCAPES("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* beyond U+10FFFF */
	ESCAPES("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80");
	ESCAPES("\xa9" "caf\xc3\xa9", "\\xa9caf\xc3\xa9"); /* a stray byte, then text again */
}
END_TEST

/* The attack of the finding: a spec that ends the line and repaints the one
 * above. Whatever comes in, one line goes out, without a byte a terminal
 * obeys. */
START_TEST(test_escape_forged_line)
{
	const char *spec = "42\n\x1b[2K\x1b[1A    7  2026-01-01T00:00:00.000Z  00000000  mount   end      ok        "
			   "user root (uid 0)";
	const char *out = esc(spec);
	ck_assert_ptr_null(strchr(out, '\n'));
	ck_assert_ptr_null(strchr(out, '\x1b'));
	ck_assert_str_eq(out, "42\\x0a\\x1b[2K\\x1b[1A    7  2026-01-01T00:00:00.000Z  00000000  mount   end      ok        "
			      "user root (uid 0)");
}
END_TEST

START_TEST(test_escape_bounds)
{
	char out[16];
	memset(out, 'X', sizeof(out));
	ck_assert_uint_eq(cc_escape("abc", out, 0), 0);
	ck_assert_int_eq(out[0], 'X'); /* max 0: nothing written */
	ck_assert_uint_eq(cc_escape("abc", out, 1), 0);
	ck_assert_str_eq(out, "");
	ck_assert_uint_eq(cc_escape("abc", out, 3), 2);
	ck_assert_str_eq(out, "ab");
	ck_assert_uint_eq(cc_escape("abc", out, 4), 3);
	ck_assert_str_eq(out, "abc");
	/* an escape is never cut: "a\x0a" needs 5 bytes and a NUL */
	ck_assert_uint_eq(cc_escape("a\nb", out, 5), 1);
	ck_assert_str_eq(out, "a");
	ck_assert_uint_eq(cc_escape("a\nb", out, 6), 5);
	ck_assert_str_eq(out, "a\\x0a");
	/* nor a C1 control's pair, nor a character */
	ck_assert_uint_eq(cc_escape("\xc2\x9b", out, 8), 0);
	ck_assert_uint_eq(cc_escape("\xc2\x9b", out, 9), 8);
	ck_assert_uint_eq(cc_escape("a\xe2\x82\xac", out, 4), 1);
	ck_assert_str_eq(out, "a");
	ck_assert_uint_eq(cc_escape("\\", out, 2), 0);
	ck_assert_uint_eq(cc_escape("\\", out, 3), 2);
}
END_TEST

START_TEST(test_utf8_len)
{
	ck_assert_uint_eq(cc_utf8_len("a"), 1);
	ck_assert_uint_eq(cc_utf8_len("\x1b"), 1);
	ck_assert_uint_eq(cc_utf8_len(""), 1); /* the NUL itself */
	ck_assert_uint_eq(cc_utf8_len("\xc3\xa9"), 2);
	ck_assert_uint_eq(cc_utf8_len("\xc2\x9b"), 2); /* valid UTF-8; cc_escape still escapes it */
	ck_assert_uint_eq(cc_utf8_len("\xe2\x82\xac"), 3);
	ck_assert_uint_eq(cc_utf8_len("\xf0\x9f\x98\x80"), 4);
	ck_assert_uint_eq(cc_utf8_len("\x80"), 0);
	ck_assert_uint_eq(cc_utf8_len("\xc3"), 0);
	ck_assert_uint_eq(cc_utf8_len("\xe2\x82"), 0);
	ck_assert_uint_eq(cc_utf8_len("\xf0\x9f\x98"), 0);
	ck_assert_uint_eq(cc_utf8_len("\xc0\x80"), 0);
	ck_assert_uint_eq(cc_utf8_len("\xed\xbf\xbf"), 0);
	ck_assert_uint_eq(cc_utf8_len("\xf8\x88\x80\x80\x80"), 0);
}
END_TEST

/* Reverses cc_escape; -1 on text cc_escape cannot have written. */
static int unescape(const char *s, char *out)
{
	size_t o = 0;
	while (*s) {
		if (*s != '\\') {
			out[o++] = *s++;
			continue;
		}
		if (s[1] == '\\') {
			out[o++] = '\\';
			s += 2;
			continue;
		}
		unsigned v;
		if (s[1] != 'x' || sscanf(s + 2, "%2x", &v) != 1 || !s[2] || !s[3])
			return -1;
		out[o++] = (char)v;
		s += 4;
	}
	out[o] = '\0';
	return 0;
}

/* What is wrong with cc_escape's output `out` for the input `in`, or NULL:
 * a byte a terminal obeys (C0, DEL, C1 raw or encoded, invalid UTF-8), or
 * text that does not say exactly what the input was. */
static const char *escape_problem(const char *in, const char *out)
{
	char back[256];
	for (const char *p = out; *p;) {
		const unsigned char *u = (const unsigned char *)p;
		size_t len = cc_utf8_len(p);
		if (len == 0)
			return "invalid UTF-8 in the output";
		if (u[0] < 0x20 || u[0] == 0x7f)
			return "a control byte in the output";
		if (u[0] == 0xc2 && u[1] < 0xa0)
			return "a C1 control in the output";
		p += len;
	}
	if (strlen(out) >= sizeof(back) || unescape(out, back) != 0)
		return "output that is no escaping of anything";
	if (strcmp(back, in) != 0)
		return "not reversible";
	return NULL;
}

/* Random bytes: the output holds no byte a terminal obeys, and says exactly
 * what the input was. Checked in plain C, asserted once per input that
 * fails: each passing ck_assert is a message to Check's parent process
 * (mark_point: a write, and a parse in the parent), and the 225,000 of
 * them made this case take 9-13 s under ASan, past Check's 4 s timeout on
 * a loaded machine; now 0.2 s. */
START_TEST(test_escape_random)
{
	unsigned seed = 20261201;
	for (int iter = 0; iter < 20000; iter++) {
		char in[24], out[24 * 8 + 1];
		size_t n = (size_t)(rand_r(&seed) % (sizeof(in) - 1));
		for (size_t i = 0; i < n; i++) {
			int r = rand_r(&seed);
			/* mostly bytes near the interesting ranges */
			in[i] = (char)(r % 3 == 0 ? (r >> 8) % 0x40 + 0x80 : r % 3 == 1 ? 0xc2 : (r >> 8) % 256);
			if (!in[i])
				in[i] = 'z';
		}
		in[n] = '\0';
		cc_escape(in, out, sizeof(out));
		const char *why = escape_problem(in, out);
		if (why) {
			char hex[sizeof(in) * 2 + 1] = "";
			for (size_t i = 0; i < n; i++)
				snprintf(hex + 2 * i, 3, "%02x", (unsigned char)in[i]);
			ck_abort_msg("input %d (hex %s): %s", iter, hex, why);
		}
	}
}
END_TEST

static Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc;

	tc = tcase_create("parse_u64");
	tcase_add_test(tc, test_parse_u64_valid);
	tcase_add_test(tc, test_parse_u64_rejects_syntax);
	tcase_add_test(tc, test_parse_u64_overflow);
	tcase_add_test(tc, test_parse_u64_max_boundary);
	tcase_add_test(tc, test_parse_u64_small_max);
	suite_add_tcase(s, tc);

	tc = tcase_create("stat");
	tcase_add_test(tc, test_stat_self);
	tcase_add_test(tc, test_stat_crafted);
	tcase_add_test(tc, test_stat_malformed);
	suite_add_tcase(s, tc);

	tc = tcase_create("read_file");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_read_file_exact_fit);
	tcase_add_test(tc, test_read_file_too_big);
	tcase_add_test(tc, test_read_file_small_and_errors);
	tcase_add_test(tc, test_write_all);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_fail_format);
	tcase_add_test(tc, test_fail_truncation);
	tcase_add_test(tc, test_error_prefix);
	suite_add_tcase(s, tc);

	tc = tcase_create("strv");
	tcase_add_test(tc, test_strv);
	tcase_add_test(tc, test_cleanup_helpers);
	suite_add_tcase(s, tc);

	tc = tcase_create("escape");
	tcase_add_test(tc, test_escape_keeps_text);
	tcase_add_test(tc, test_escape_controls);
	tcase_add_test(tc, test_escape_invalid_utf8);
	tcase_add_test(tc, test_escape_forged_line);
	tcase_add_test(tc, test_escape_bounds);
	tcase_add_test(tc, test_utf8_len);
	tcase_add_test(tc, test_escape_random);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(util_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
