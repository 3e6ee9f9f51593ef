/* libFuzzer harness: `crashcart audit verify` and `audit show` (cc_chain_verify,
 * cc_audit_show) on arbitrary bytes. The log is writable by operators, so
 * whoever wants a forged record believed may have written any of it.
 *
 * What must hold besides "no crash, no leak, no UB": every record counts
 * (the number read is the number of lines), a problem is reported as one
 * line each, and what `show` prints holds no byte a terminal would obey
 * (no control byte but the newline ending each record, no ESC, no DEL). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auditlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count_lines(const uint8_t *data, size_t size)
{
	size_t n = 0;
	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n + (size > 0 && data[size - 1] != '\n');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = NULL;
	size_t outlen = 0, records = 0;
	cc_error err = { 0 };
	FILE *in, *o;
	int problems;

	if (size == 0)
		return -1; /* fmemopen needs a buffer of at least one byte */
	in = fmemopen((void *)data, size, "r");
	o = open_memstream(&out, &outlen);
	if (!in || !o)
		abort();
	problems = cc_chain_verify(in, o, &records, &err);
	fclose(o);
	if (problems < 0 || records != count_lines(data, size))
		abort(); /* lines are at most 1 MiB here: nothing is too long */
	size_t reported = 0;
	for (size_t i = 0; i < outlen; i++)
		reported += out[i] == '\n';
	if (reported != (size_t)problems)
		abort();
	free(out);

	rewind(in);
	out = NULL;
	o = open_memstream(&out, &outlen);
	if (!o || cc_audit_show(in, o, &err) < 0)
		abort();
	fclose(o);
	size_t shown = 0;
	for (size_t i = 0; i < outlen; i++) {
		unsigned char c = (unsigned char)out[i];
		if (c == '\n')
			shown++;
		else if (c < 0x20 || c == 0x7f || (c == 0xc2 && i + 1 < outlen && (unsigned char)out[i + 1] < 0xa0))
			abort();
	}
	if (shown != records)
		abort(); /* one line per record, whatever it holds */
	free(out);
	fclose(in);
	return 0;
}
