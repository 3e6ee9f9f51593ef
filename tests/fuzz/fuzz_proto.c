/* libFuzzer harness: the protocol decoder (cc_msg_decode), which the broker
 * runs on every frame the worker sends and the worker on every reply.
 *
 * Input: one byte of metadata, then the frame. The low three bits of the
 * metadata are the number of fds that "came with" the frame (0..7: more
 * than CC_FDS_MAX too, as a hostile peer can send them); bit 7 patches the
 * frame's length field to the real length, so that the fuzzer gets past
 * that check at once and spends its time on the bodies of every type.
 *
 * What must hold besides "no crash, no leak, no UB": a frame the decoder
 * accepts is canonical, so encoding the decoded message gives back the
 * very same bytes, and it came with exactly its type's number of fds. */
#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[CC_MSG_MAX + 1], again[CC_MSG_MAX];
	struct cc_msg m;
	cc_error err = { 0 };
	size_t nfds, len;

	if (size < 1 || size - 1 > sizeof(frame))
		return -1; /* not added to the corpus */
	nfds = data[0] & 7;
	len = size - 1;
	memcpy(frame, data + 1, len);
	if ((data[0] & 0x80) && len >= 4) {
		uint32_t le = htole32((uint32_t)len);
		memcpy(frame, &le, 4);
	}
	if (cc_msg_decode(frame, len, nfds, &m, &err) < 0) {
		if (err.code <= 0 || !err.msg[0])
			abort(); /* a refusal always says why */
		return 0;
	}
	if (nfds != cc_msg_nfds(m.type) || m.nfds != 0)
		abort();
	int n = cc_msg_encode(&m, again, sizeof(again));
	if (n < 0 || (size_t)n != len || memcmp(again, frame, len) != 0)
		abort(); /* accepted, but not what the encoder writes for it */
	(void)cc_msg_name(m.type);
	cc_msg_clear(&m); /* m.nfds is 0: only the strings are freed */
	return 0;
}
