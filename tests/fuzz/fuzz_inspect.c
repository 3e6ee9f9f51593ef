/* libFuzzer harness: the Docker / podman inspect document (cc_inspect_parse).
 * Anyone can answer on a socket named by $DOCKER_HOST or $CONTAINER_HOST,
 * so the reply is hostile; what the resolver takes from it must be what
 * the parser promises (resolve.h): an Id of 64 hex digits, a Name a runtime
 * could have given, a Pid in 0..2^30.
 *
 * Input: one byte (bit 0: podman's CLI form, an array of one object), then
 * the reply's body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resolve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cc_inspect in;
	cc_error err = { 0 };
	char *body;

	if (size < 1)
		return -1;
	/* the API client hands over a NUL-terminated body and its length */
	body = malloc(size);
	if (!body)
		abort();
	memcpy(body, data + 1, size - 1);
	body[size - 1] = '\0';
	if (cc_inspect_parse(body, size - 1, data[0] & 1, &in, &err) < 0) {
		if (err.code <= 0 || !err.msg[0])
			abort();
		free(body);
		return 0;
	}
	if (strlen(in.id) != 64 || strspn(in.id, "0123456789abcdef") != 64)
		abort();
	if (in.name[0] && !cc_runtime_name_ok(in.name))
		abort();
	if (in.pid > 0x3fffffff || (in.running && in.pid == 0))
		abort();
	free(body);
	return 0;
}
