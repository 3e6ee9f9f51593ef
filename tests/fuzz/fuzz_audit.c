/* libFuzzer harness: `crashcart audit verify` and `audit show` (cc_chain_verify,
 * cc_audit_show) on arbitrary bytes. The log is writable by operators, so
 * whoever wants a forged record believed may have written any of it.
 *
 * What must hold besides "no crash, no leak, no UB": every record counts
 * (the number read is the number of lines), a problem is reported as one
 * line each, and what `show` prints holds no byte a terminal would obey
 * (no control byte but the newline ending each record, no ESC, no DEL).
 *
 * The output is checked as it is written, by one stream kept for the whole
 * run: an open_memstream per call, made and closed twice for each input,
 * was a sixth of the time. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auditlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What has been written since the last reset. */
static struct {
	bool inert;	  /* show's rule: no byte a terminal obeys */
	size_t lines;	  /* newlines written */
	int last;	  /* the byte before, -1 at the start */
	bool obeyed;	  /* a byte broke the rule */
} seen;

/* The harness's own loops are left out of coverage: a branch per byte
 * written told libFuzzer nothing about the parser, and cost a tenth of the
 * time. */
#define NO_COVERAGE __attribute__((no_sanitize("coverage")))

NO_COVERAGE static ssize_t check_write(void *cookie, const char *buf, size_t len)
{
	(void)cookie;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c == '\n')
			seen.lines++;
		else if (seen.inert && (c < 0x20 || c == 0x7f))
			seen.obeyed = true;
		/* a C1 control, UTF-8 encoded */
		if (seen.inert && seen.last == 0xc2 && c < 0xa0)
			seen.obeyed = true;
		seen.last = c;
	}
	return (ssize_t)len;
}

static FILE *out_stream(bool inert)
{
	static FILE *o;
	static char buf[BUFSIZ];

	if (!o) {
		o = fopencookie(NULL, "w", (cookie_io_functions_t){ .write = check_write });
		if (!o || setvbuf(o, buf, _IOFBF, sizeof(buf)) != 0)
			abort();
	}
	memset(&seen, 0, sizeof(seen));
	seen.inert = inert;
	seen.last = -1;
	return o;
}

NO_COVERAGE static size_t count_lines(const uint8_t *data, size_t size)
{
	size_t n = 0;
	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n + (size > 0 && data[size - 1] != '\n');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t records = 0;
	cc_error err = { 0 };
	FILE *in, *o;
	int problems;

	if (size == 0)
		return -1; /* fmemopen needs a buffer of at least one byte */
	in = fmemopen((void *)data, size, "r");
	if (!in)
		abort();
	o = out_stream(false);
	problems = cc_chain_verify(in, o, &records, &err);
	if (fflush(o) != 0)
		abort();
	if (problems < 0 || records != count_lines(data, size))
		abort(); /* lines are at most 1 MiB here: nothing is too long */
	if (seen.lines != (size_t)problems)
		abort();

	rewind(in);
	o = out_stream(true);
	if (cc_audit_show(in, o, &err) < 0 || fflush(o) != 0)
		abort();
	if (seen.obeyed)
		abort();
	if (seen.lines != records)
		abort(); /* one line per record, whatever it holds */
	fclose(in);
	return 0;
}
