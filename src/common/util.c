#include "util.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int vfail(cc_error *err, int code, bool with_errno, const char *fmt, va_list ap)
{
	if (code <= 0)
		code = EIO;
	if (err) {
		int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		if (with_errno && n >= 0 && (size_t)n < sizeof(err->msg))
			snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(code));
		err->code = code;
	}
	return -code;
}

int cc_fail(cc_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfail(err, code, false, fmt, ap);
	va_end(ap);
	return r;
}

int cc_failx(cc_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfail(err, code, true, fmt, ap);
	va_end(ap);
	return r;
}

void cc_error_prefix(cc_error *err, const char *fmt, ...)
{
	char prefix[256], old[sizeof(err->msg)];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
}

void cc_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

size_t cc_strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

int cc_strv_dup(char *const *v, char ***out)
{
	size_t n = cc_strv_len(v);
	char **copy = calloc(n + 1, sizeof(char *));
	if (!copy)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		copy[i] = strdup(v[i]);
		if (!copy[i]) {
			cc_strv_free(copy);
			return -ENOMEM;
		}
	}
	*out = copy;
	return 0;
}

int cc_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '0' && s[1])
		return -EINVAL; /* no leading zeros: "010" is not 10 */
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		unsigned d = (unsigned)(*s - '0');
		if (d > max || v > (max - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

bool cc_is_hex64(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int64_t cc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cc_read_file_at(int dirfd, const char *path, char *buf, size_t max)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t len = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		if (len + 1 >= max) {
			char c;
			ssize_t extra = read(fd, &c, 1);
			if (extra > 0)
				return -EFBIG;
			break;
		}
		ssize_t n = read(fd, buf + len, max - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return (int)len;
}

int cc_parse_stat_start_time(const char *stat, uint64_t *out)
{
	const char *p = strrchr(stat, ')');
	char field[32];

	if (!p)
		return -EINVAL;
	p++;
	/* After ')' come fields 3..: state is field 3, starttime is field 22. */
	for (int i = 3; i <= 22; i++) {
		while (*p == ' ')
			p++;
		const char *end = p;
		while (*end && *end != ' ' && *end != '\n')
			end++;
		if (end == p)
			return -EINVAL;
		if (i == 22) {
			size_t n = (size_t)(end - p);
			if (n >= sizeof(field))
				return -EINVAL;
			memcpy(field, p, n);
			field[n] = '\0';
			return cc_parse_u64(field, UINT64_MAX, out);
		}
		p = end;
	}
	return -EINVAL;
}

int cc_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

size_t cc_utf8_len(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	/* (a NUL where a continuation byte should be fails the 0x80 test,
	 * so nothing is read past the end) */
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f))
			return 0; /* overlong, surrogate */
		return 3;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		if ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
			return 0; /* overlong, beyond U+10FFFF */
		return 4;
	}
	return 0;
}

/* The one rule of cc_escape (see util.h): how the character at s is shown.
 * Writes the piece to out (at most 8 bytes, not NUL-terminated), sets *len,
 * and returns how many bytes of s it stands for. */
static size_t escape_one(const char *s, char out[8], size_t *len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = cc_utf8_len(s);

	if (p[0] == '\\') {
		memcpy(out, "\\\\", 2);
		*len = 2;
		return 1;
	}
	if (n == 1 && p[0] >= 0x20 && p[0] != 0x7f) {
		out[0] = s[0];
		*len = 1;
		return 1;
	}
	if (n > 1 && !(p[0] == 0xc2 && p[1] < 0xa0)) {
		memcpy(out, s, n);
		*len = n;
		return n;
	}
	/* a control, DEL, a C1 control (both of its bytes), or a stray byte */
	if (n == 0)
		n = 1;
	for (size_t i = 0; i < n; i++) {
		out[4 * i] = '\\';
		out[4 * i + 1] = 'x';
		out[4 * i + 2] = hex[p[i] >> 4];
		out[4 * i + 3] = hex[p[i] & 0xf];
	}
	*len = 4 * n;
	return n;
}

size_t cc_escape(const char *s, char *out, size_t max)
{
	size_t o = 0;

	if (max == 0)
		return 0;
	while (*s) {
		char piece[8];
		size_t len;
		size_t used = escape_one(s, piece, &len);
		if (o + len >= max)
			break;
		memcpy(out + o, piece, len);
		o += len;
		s += used;
	}
	out[o] = '\0';
	return o;
}

int cc_fputs_escaped(const char *s, FILE *f)
{
	while (*s) {
		char piece[8];
		size_t len;
		s += escape_one(s, piece, &len);
		if (fwrite(piece, 1, len, f) != len)
			return -EIO;
	}
	return 0;
}
