/* Small helpers shared by the worker and the broker: errors that carry
 * context, cleanup attributes, strict number parsing, bounded file reads. */
#pragma once
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Every fallible function returns a negative errno and fills *err with a
 * one-line message; callers add context on the way up with cc_error_prefix.
 * Only the outermost layer prints. */
typedef struct cc_error {
	int code;       /* positive errno */
	char msg[768];
} cc_error;

int cc_fail(cc_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Like cc_fail, appending ": strerror(code)". */
int cc_failx(cc_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cc_error_prefix(cc_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline void cc_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		(void)close(*fd);
		errno = saved;
	}
}
static inline void cc_freep(void *p)
{
	free(*(void **)p);
}
void cc_strv_free(char **v);
static inline void cc_strv_freep(char ***v)
{
	cc_strv_free(*v);
}
#define _cleanup_close_ __attribute__((cleanup(cc_closep)))
#define _cleanup_free_ __attribute__((cleanup(cc_freep)))
#define _cleanup_strv_ __attribute__((cleanup(cc_strv_freep)))

/* Hand ownership over: return the value and reset the variable. */
#define TAKE_FD(fd) ({ int _t = (fd); (fd) = -1; _t; })
#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Strict decimal parsing: digits only, no sign, no spaces, no overflow. */
int cc_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* Read at most max-1 bytes of dirfd/path into a NUL-terminated buffer.
 * -EFBIG when the file is larger: container-controlled files are bounded. */
int cc_read_file_at(int dirfd, const char *path, char *buf, size_t max);
/* Exactly 64 lowercase hex digits in s[0..n) (a container id, a sha256). */
bool cc_is_hex64(const char *s, size_t n);
/* CLOCK_MONOTONIC in milliseconds: for deadlines. */
int64_t cc_now_ms(void);

/* Start time (field 22 of /proc/PID/stat) from the stat text; the comm
 * field may hold spaces and parentheses, so parse after the last ')'. */
int cc_parse_stat_start_time(const char *stat, uint64_t *out);

size_t cc_strv_len(char *const *v);
int cc_strv_dup(char *const *v, char ***out);

/* Write all of buf, retrying on EINTR and short writes. */
int cc_write_all(int fd, const void *buf, size_t len);

/* Length (1..4) of the valid UTF-8 sequence at s, 0 when the bytes there are
 * not one: a stray continuation byte, a truncated sequence, an overlong
 * form, a surrogate, or beyond U+10FFFF. s must be NUL-terminated. */
size_t cc_utf8_len(const char *s);

/* Text from outside (a container, a runtime, the command line, an audit
 * log) on its way to a terminal: written so that it is one line and cannot
 * move the cursor, change colours or retitle the window. Printable ASCII
 * and valid UTF-8 of U+00A0 and above are kept; each other byte is shown as
 * \xNN (lowercase hex): C0 controls (newline, tab and ESC too), DEL, the C1
 * controls U+0080..U+009F whether raw (0x80..0x9f) or UTF-8 encoded
 * (0xc2 0x80..0x9f, which some terminals obey as CSI), and every byte that
 * is not part of valid UTF-8. A backslash is shown as \\, so the output
 * says unambiguously which bytes were there.
 *
 * cc_escape writes at most max-1 bytes and a NUL (never half an escape or
 * half a character) and returns the length written. */
size_t cc_escape(const char *s, char *out, size_t max);
/* The same, to f; 0 or -EIO. */
int cc_fputs_escaped(const char *s, FILE *f);
