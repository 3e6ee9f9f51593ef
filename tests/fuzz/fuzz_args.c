/* libFuzzer harness: the command line (cc_parse_args). crashcart runs with
 * the operator's argv, but the broker trusts nothing the worker concluded
 * from it; this checks the worker's own reading: no crash, no read past
 * argv, and every accepted command line is one of the forms in --help.
 *
 * Input: the arguments after argv[0], separated by NUL bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 2], *text;
	int argc = 0;
	struct cc_args a;
	cc_error err = { 0 };

	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	argv[argc++] = "crashcart";
	for (size_t i = 0; i < size && argc <= MAX_ARGS; i += strlen(text + i) + 1)
		argv[argc++] = text + i;
	argv[argc] = NULL;

	if (cc_parse_args(argc, argv, &a, &err) < 0) {
		if (err.code <= 0 || !err.msg[0])
			abort();
		free(text);
		return 0;
	}
	if (!a.image || !*a.image)
		abort();
	switch (a.mode) {
	case CC_MODE_EXEC:
	case CC_MODE_MOUNT:
	case CC_MODE_UNMOUNT:
		if (!a.target || !*a.target || a.cmd < argv + 1 || a.cmd > argv + argc)
			abort();
		if (a.mode != CC_MODE_EXEC && (a.cmd[0] || a.exec_via || a.tty >= 0))
			abort(); /* -m and -u take no command, -e, -t or -T */
		break;
	case CC_MODE_AUDIT_VERIFY:
	case CC_MODE_AUDIT_SHOW:
		if (!a.target)
			abort();
		break;
	case CC_MODE_LIST:
	case CC_MODE_CHECK_POLICY:
	case CC_MODE_HELP:
	case CC_MODE_VERSION:
		break;
	}
	if (a.json && a.mode != CC_MODE_LIST && a.mode != CC_MODE_HELP && a.mode != CC_MODE_VERSION)
		abort();
	free(text);
	return 0;
}
