/* libFuzzer harness: the policy parser (cc_policy_parse_string and
 * cc_policy_parse_file) and what the broker then does with a policy it
 * accepted: decide (cc_policy_precheck, cc_policy_match) and describe it.
 *
 * Input: the policy text; if it holds a NUL byte, what follows the first
 * one is the target's /proc/PID/cgroup text for the decisions (the broker
 * reads it from a container, so it is hostile too). The whole input, NULs
 * included, also goes through cc_policy_parse_file, which must refuse a NUL
 * and agree with the string parser otherwise. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *sink;

static void decide(const struct cc_policy *p, const char *cgroup)
{
	static const unsigned actions[] = { CC_PERM_MOUNT, CC_PERM_UNMOUNT, CC_PERM_EXEC, CC_PERM_EXEC_VIA };
	static const char digest[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	const gid_t gids[] = { 0, 100 };
	char why[256];

	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		struct cc_facts f = {
			.user = "root", .gids = gids, .ngids = 2, .action = actions[i],
			.image = actions[i] == CC_PERM_UNMOUNT ? NULL : "/usr/share/crashcart/crashcart.img",
			.image_sha256 = digest, .cgroup = cgroup, .runtime = "docker", .id = "3f2a", .own_pidns = i & 1,
		};
		const struct cc_rule *pre = cc_policy_precheck(p, &f, why, sizeof(why));
		const struct cc_rule *r = cc_policy_match(p, &f, why, sizeof(why));
		/* stage two never allows what stage one refused */
		if (r && !pre)
			abort();
		if (!r && !memchr(why, '\0', sizeof(why)))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cc_policy p, q;
	cc_error err = { 0 }, ferr = { 0 };
	char *text;
	const char *nul;
	int r, rf;

	if (!sink)
		sink = fopen("/dev/null", "w");
	text = malloc(size + 2);
	if (!text || !sink)
		abort();
	memcpy(text, data, size);
	text[size] = text[size + 1] = '\0';
	nul = memchr(text, '\0', size);

	r = cc_policy_parse_string(text, "fuzz", &p, &err);
	if (r < 0 && (err.code <= 0 || strncmp(err.msg, "fuzz", 4) != 0))
		abort(); /* every refusal names the file */

	FILE *f = fmemopen((void *)data, size ? size : 1, "r");
	if (!f)
		abort();
	rf = size ? cc_policy_parse_file(f, "fuzz", &q, &ferr) : cc_policy_parse_string("", "fuzz", &q, &ferr);
	fclose(f);
	if (nul ? rf >= 0 : (rf < 0) != (r < 0))
		abort(); /* a NUL is refused; otherwise both readers agree */
	if (rf >= 0) {
		if (q.nrules != p.nrules || q.sinks != p.sinks || q.require_all != p.require_all)
			abort();
		cc_policy_free(&q);
	}
	if (r >= 0) {
		if (!p.sinks)
			abort(); /* never left without an audit sink */
		decide(&p, nul ? nul + 1 : NULL);
		cc_policy_describe(&p, sink);
		cc_policy_free(&p);
	}
	free(text);
	return 0;
}
