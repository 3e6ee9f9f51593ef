/* Unit tests for src/common/policy.c: the INI policy's parser (every error
 * with its exact message and line), first-match semantics, each kind of
 * image and target pattern, the ptrace profile's PID-namespace condition,
 * deny reasons, cc_policy_load's ownership checks, and a deterministic
 * mutation fuzz loop (CC_FUZZ_ITERS, default 100000).
 *
 * Groups used: root (0), daemon (1), bin (2): present on every Debian. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"

#define PIN_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define PIN_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* ---- helpers ---- */

static struct cc_policy pol;
static cc_error perr;

static int parse(const char *text)
{
	memset(&perr, 0, sizeof(perr));
	return cc_policy_parse_string(text, "P", &pol, &perr);
}

/* text must fail with exactly msg (origin "P"). */
#define PARSE_FAILS(text, want_)                                                                   \
	do {                                                                                     \
		int r_ = parse(text);                                                            \
		ck_assert_msg(r_ < 0, "accepted: %s", text);                                     \
		ck_assert_int_eq(r_, -perr.code);                                                \
		ck_assert_str_eq(perr.msg, want_);                                               \
		ck_assert_uint_eq(pol.nrules, 0); /* freed and reset */                          \
		ck_assert_ptr_null(pol.rules);                                                   \
	} while (0)

#define PARSE_OK(text)                                                                           \
	do {                                                                                     \
		int r_ = parse(text);                                                            \
		ck_assert_msg(r_ == 0, "refused (%s): %s", perr.msg, text);                       \
	} while (0)

static void teardown(void)
{
	cc_policy_free(&pol);
}

/* A rule's mandatory keys, for tests about something else. */
#define BODY "group = root\nactions = mount, exec\nimage = /img/*\ntarget = *\n"

static char why[300];

struct fx {
	struct cc_facts f;
	gid_t gids[4];
};

/* ccop-like caller in groups daemon (1) and bin (2), exec of /img/a.img,
 * a target with its own PID namespace. */
static void facts(struct fx *x)
{
	memset(x, 0, sizeof(*x));
	x->gids[0] = 1;
	x->gids[1] = 2;
	x->f.user = "alice";
	x->f.gids = x->gids;
	x->f.ngids = 2;
	x->f.action = CC_PERM_EXEC;
	x->f.image = "/img/a.img";
	x->f.image_sha256 = PIN_A;
	x->f.cgroup = "0::/crashcart-it/web\n";
	x->f.own_pidns = true;
	x->f.own_netns = true;
}

static const char *match(const struct fx *x)
{
	why[0] = '\0';
	const struct cc_rule *r = cc_policy_match(&pol, &x->f, why, sizeof(why));
	if (r)
		ck_assert_str_eq(why, ""); /* no reason when allowed */
	else
		ck_assert_str_ne(why, "");
	return r ? r->name : NULL;
}

#define MATCHES(x, name) ck_assert_str_eq(match(x) ? match(x) : "(denied)", name)
#define DENIED(x, reason)                                                                       \
	do {                                                                                    \
		const char *m_ = match(x);                                                      \
		ck_assert_msg(m_ == NULL, "allowed by [%s]", m_ ? m_ : "");                     \
		ck_assert_str_eq(why, reason);                                                  \
	} while (0)

/* ---- parsing: valid files ---- */

START_TEST(test_parse_full)
{
	PARSE_OK("; comment\n# another\n"
		 "[oncall]\n"
		 "group = daemon\n"
		 "group = no-such-group-cc\n"
		 "user = alice\n"
		 "actions = mount,unmount ,\texec, exec-via\n"
		 "image = /usr/share/crashcart/crashcart.img\n"
		 "image = /srv/img/*.img   sha256=" PIN_B "\n"
		 "target = *\n"
		 "target = cgroup:/docker/*\n"
		 "target = runtime:docker\n"
		 "target = id:3f2a*\n"
		 "profile = ptrace\n"
		 "\n"
		 "[unmounters]\n"
		 "user = bob\n"
		 "actions = unmount\n"
		 "target = *\n"
		 "[audit]\n"
		 "sink = syslog, journald\n"
		 "sink = auditd\n"
		 "require = all\n");
	ck_assert_uint_eq(pol.nrules, 2);
	struct cc_rule *r = &pol.rules[0];
	ck_assert_str_eq(r->name, "oncall");
	ck_assert_uint_eq(cc_strv_len(r->groups), 2);
	ck_assert_str_eq(r->groups[0], "daemon");
	ck_assert_uint_eq(r->gids[0], 1);
	ck_assert_uint_eq(r->gids[1], (gid_t)-1); /* no such group: never matches */
	ck_assert_str_eq(r->users[0], "alice");
	ck_assert_uint_eq(r->actions, CC_PERM_MOUNT | CC_PERM_UNMOUNT | CC_PERM_EXEC | CC_PERM_EXEC_VIA);
	ck_assert_uint_eq(r->nimages, 2);
	ck_assert_str_eq(r->images[0].pattern, "/usr/share/crashcart/crashcart.img");
	ck_assert_str_eq(r->images[0].sha256, "");
	ck_assert_str_eq(r->images[1].pattern, "/srv/img/*.img");
	ck_assert_str_eq(r->images[1].sha256, PIN_B);
	ck_assert_uint_eq(cc_strv_len(r->targets), 4);
	ck_assert_str_eq(r->targets[3], "id:3f2a*");
	ck_assert_int_eq(r->profile, CC_PROFILE_PTRACE);
	r = &pol.rules[1];
	ck_assert_str_eq(r->name, "unmounters");
	ck_assert_uint_eq(r->nimages, 0); /* unmount needs no image */
	ck_assert_int_eq(r->profile, CC_PROFILE_RESTRICTED);
	ck_assert_uint_eq(pol.sinks, CC_SINK_SYSLOG | CC_SINK_JOURNALD | CC_SINK_AUDITD); /* replaces the default */
	ck_assert(pol.require_all);
}
END_TEST

START_TEST(test_parse_defaults)
{
	PARSE_OK("");
	ck_assert_uint_eq(pol.nrules, 0);
	ck_assert_uint_eq(pol.sinks, CC_SINK_FILE);
	ck_assert(!pol.require_all);
	cc_policy_free(&pol);
	PARSE_OK("[audit]\nrequire = any\n");
	ck_assert_uint_eq(pol.sinks, CC_SINK_FILE);
	cc_policy_free(&pol);
	PARSE_OK("[r]\n" BODY);
	ck_assert_int_eq(pol.rules[0].profile, CC_PROFILE_RESTRICTED);
	ck_assert(!pol.rules[0].profile_set);
}
END_TEST

/* inih specifics the policy inherits: ':' delimits like '=', inline ';'
 * comments, indented lines continue the previous key. */
START_TEST(test_parse_inih_forms)
{
	PARSE_OK("[r]\ngroup: root\nactions = unmount ; for now\n  exec\nimage = /img/x\ntarget = *\n");
	ck_assert_uint_eq(pol.rules[0].actions, CC_PERM_UNMOUNT | CC_PERM_EXEC);
	ck_assert_str_eq(pol.rules[0].groups[0], "root");
}
END_TEST

/* ---- parsing: every error, with its line ---- */

START_TEST(test_parse_errors)
{
	PARSE_FAILS("group = root\n", "P:1: 'group' outside any [section]");
	PARSE_FAILS("; c\n\nuser=x\n[r]\n" BODY, "P:3: 'user' outside any [section]");
	PARSE_FAILS("[r]\n" BODY "colour = blue\n", "P:6: unknown key 'colour' in [r]");
	PARSE_FAILS("[audit]\nsink = file\ngroup = root\n", "P:3: unknown key 'group' in [audit]");
	PARSE_FAILS("[r]\ngroup = root\nactions = mount, reboot\n", "P:3: unknown action 'reboot' (mount, unmount, exec, exec-via)");
	PARSE_FAILS("[r]\nactions = Mount\n", "P:2: unknown action 'Mount' (mount, unmount, exec, exec-via)");
	PARSE_FAILS("[r]\nactions =\n", "P:2: empty list");
	PARSE_FAILS("[r]\n" BODY "profile = root\n", "P:6: unknown profile 'root' (restricted, ptrace, netadmin)");
	PARSE_FAILS("[r]\n" BODY "profile = sysadmin\n",
		    "P:6: profile 'sysadmin' is not implemented (restricted, ptrace, netadmin)");
	PARSE_FAILS("[r]\n" BODY "profile = ptrace\nprofile = restricted\n", "P:7: profile given twice in [r]");
	PARSE_FAILS("[audit]\nsink = file, email\n", "P:2: unknown audit sink 'email' (file, syslog, journald, auditd)");
	PARSE_FAILS("[audit]\nsink =\n", "P:2: empty list");
	PARSE_FAILS("[audit]\nrequire = most\n", "P:2: require must be any or all");
	PARSE_FAILS("[r]\nactions = unmount\ntarget = *\n", "P: rule [r] names no group or user");
	PARSE_FAILS("[r]\nuser = alice\ntarget = *\n", "P: rule [r] allows no actions");
	PARSE_FAILS("[r]\nuser = alice\nactions = unmount, mount\ntarget = *\n", "P: rule [r] mounts but names no image");
	PARSE_FAILS("[r]\nuser = alice\nactions = exec\ntarget = *\n", "P: rule [r] mounts but names no image");
	PARSE_FAILS("[r]\nuser = alice\nactions = exec-via\ntarget = *\n", "P: rule [r] mounts but names no image");
	PARSE_FAILS("[r]\nuser = alice\nactions = unmount\n", "P: rule [r] names no target");
	/* the first bad rule is named, in file order */
	PARSE_FAILS("[a]\n" BODY "[b]\nuser = x\n[c]\nactions = unmount\n", "P: rule [b] allows no actions");
	PARSE_FAILS("[r]\nimage = img/x\n", "P:2: image 'img/x' is not an absolute path");
	PARSE_FAILS("[r]\ntarget = host\n", "P:2: target 'host' must be *, cgroup:/PATTERN, runtime:NAME or id:PATTERN");
	PARSE_FAILS("[r]\ntarget = cgroup:docker/*\n",
		    "P:2: target 'cgroup:docker/*' must be *, cgroup:/PATTERN, runtime:NAME or id:PATTERN");
	PARSE_FAILS("[r]\ntarget = runtime:\n", "P:2: target 'runtime:' is empty");
	PARSE_FAILS("[r]\ntarget = id:\n", "P:2: target 'id:' is empty");
	PARSE_FAILS("[r]\ngroup = a b\n", "P:2: group 'a b' is not a plain name");
	PARSE_FAILS("[r]\nuser = al/ice\n", "P:2: user 'al/ice' is not a plain name");
	PARSE_FAILS("[rule one]\nuser = x\n", "P:2: rule name 'rule one' is not a plain name");
	PARSE_FAILS("[r]\ngroup\n", "P:2: syntax error");
	/* a syntax error before the handler's first error: the message is
	 * the syntax error's (it named the later line's error before the fix) */
	PARSE_FAILS("[r\nuser = x\n", "P:1: syntax error");
	PARSE_FAILS("[r]\nuser = x\njunk\nfoo = 1\n", "P:3: syntax error");
	PARSE_FAILS("[r]\nfoo = 1\njunk\n", "P:2: unknown key 'foo' in [r]");
	/* only the first error is reported */
	PARSE_FAILS("[r]\nfoo = 1\nbar = 2\n", "P:2: unknown key 'foo' in [r]");
}
END_TEST

START_TEST(test_parse_bad_pins)
{
	static const char *const bad[] = {
		"/img/x sha256=" PIN_A "a",                      /* 65 digits */
		"/img/x sha256=" PIN_A "\t" "junk",              /* junk after the pin */
		"/img/x sha256=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* upper case */
		"/img/x sha256=aaaa",                            /* short */
		"/img/x sha256=gaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* not hex */
		"/img/x sha512=" PIN_A,
		"/img/x " PIN_A,
		"/img/x sha256 = " PIN_A,
		"/img/x sha256=",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[512];
		snprintf(text, sizeof(text), "[r]\nuser = a\nactions = mount\nimage = %s\ntarget = *\n", bad[i]);
		PARSE_FAILS(text, "P:4: image pin must be sha256=<64 lowercase hex digits>");
	}
}
END_TEST

START_TEST(test_parse_duplicate_rule)
{
	PARSE_FAILS("[r]\n" BODY "[s]\n" BODY "[r]\nuser = x\n", "P:12: rule [r] appears twice");
	/* [audit] between the two: before the fix, the second [r] was silently
	 * merged into the first (its keys added to the first rule) */
	PARSE_FAILS("[r]\n" BODY "[audit]\nsink = file\n[r]\nuser = mallory\n", "P:9: rule [r] appears twice");
	/* two [audit] sections are one */
	PARSE_OK("[audit]\nsink = file\n[r]\n" BODY "[audit]\nsink = syslog\n");
	ck_assert_uint_eq(pol.sinks, CC_SINK_FILE | CC_SINK_SYSLOG);
}
END_TEST

/* inih splits a line longer than its buffer (INI_MAX_LINE) and parses the
 * tail as a line of its own: the end of a long comment became a key. */
START_TEST(test_parse_long_lines)
{
	char text[2048], pad[300];
	memset(pad, 'x', sizeof(pad));
	pad[196] = '\0'; /* the comment's first 199 bytes end just before "actions" */
	snprintf(text, sizeof(text),
		 "[r]\nuser = alice\nactions = unmount\ntarget = *\n"
		 "# %s actions = mount, exec, exec-via\nimage = /img/*\n", pad);
	PARSE_FAILS(text, "P:5: line longer than 197 characters");
	/* 197 characters is fine */
	pad[189] = '\0';
	snprintf(text, sizeof(text), "[r]\nuser = alice\nactions = unmount\ntarget = *\n#%s%.*s\n", pad, 197 - 1 - 189,
		 "yyyyyyyyyyyy");
	PARSE_OK(text);
	ck_assert_uint_eq(pol.rules[0].actions, CC_PERM_UNMOUNT);
	cc_policy_free(&pol);
	/* a long image path with its pin: refused as a whole, not cut */
	pad[180] = '\0';
	snprintf(text, sizeof(text), "[r]\nuser = a\nactions = mount\ntarget = *\nimage = /%s sha256=" PIN_A "\n", pad);
	PARSE_FAILS(text, "P:5: line longer than 197 characters");
}
END_TEST

START_TEST(test_parse_file_nul_and_size)
{
	static const char with_nul[] = "[r]\nuser = alice\nactions = unmount\ntarget = *\n\0[s]\nuser = x\n";
	FILE *f = fmemopen((void *)with_nul, sizeof(with_nul) - 1, "r");
	ck_assert_int_lt(cc_policy_parse_file(f, "F", &pol, &perr), 0);
	ck_assert_str_eq(perr.msg, "F:5: a NUL byte");
	fclose(f);
	/* more than 1 MiB of comments */
	size_t big = (1 << 20) + 1;
	char *buf = malloc(big);
	for (size_t i = 0; i < big; i++)
		buf[i] = i % 100 == 99 ? '\n' : '#';
	f = fmemopen(buf, big, "r");
	ck_assert_int_lt(cc_policy_parse_file(f, "F", &pol, &perr), 0);
	ck_assert_str_eq(perr.msg, "F is larger than 1048576 bytes");
	fclose(f);
	free(buf);
	/* and a valid file through parse_file */
	static const char ok[] = "[r]\n" BODY;
	f = fmemopen((void *)ok, sizeof(ok) - 1, "r");
	ck_assert_int_eq(cc_policy_parse_file(f, "F", &pol, &perr), 0);
	ck_assert_uint_eq(pol.nrules, 1);
	fclose(f);
}
END_TEST

/* The file reader grows its buffer as it reads (4 KiB, doubling, up to
 * 1 MiB + 1): a file of any size around a step, or of exactly 1 MiB, reads
 * whole, and a rule at its very end is seen, as the string parser sees it. */
START_TEST(test_parse_file_sizes)
{
	static const char rule[] = "[end]\n" BODY;
	static const size_t sizes[] = { sizeof(rule) - 1, 4095, 4096, 4097, 8191, 8192, 8193, 65536, 1 << 20 };
	char *buf = malloc((1 << 20) + 2);
	ck_assert_ptr_nonnull(buf);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t size = sizes[k], pad = size - (sizeof(rule) - 1);
		/* comment lines of '#', the last one ending just before the rule */
		for (size_t i = 0; i < pad; i++)
			buf[i] = i == pad - 1 || i % 100 == 99 ? '\n' : '#';
		memcpy(buf + pad, rule, sizeof(rule)); /* and its NUL, for the string parser */
		FILE *f = fmemopen(buf, size, "r");
		ck_assert_ptr_nonnull(f);
		ck_assert_msg(cc_policy_parse_file(f, "F", &pol, &perr) == 0, "%zu bytes: %s", size, perr.msg);
		fclose(f);
		ck_assert_uint_eq(pol.nrules, 1);
		ck_assert_str_eq(pol.rules[0].name, "end");
		cc_policy_free(&pol);
		ck_assert_int_eq(cc_policy_parse_string(buf, "F", &pol, &perr), 0);
		ck_assert_uint_eq(pol.nrules, 1);
		cc_policy_free(&pol);
	}
	/* one byte more than 1 MiB, the rule past the limit: refused for its size */
	memmove(buf + 1, buf, (1 << 20) + 1);
	buf[0] = '#';
	FILE *f = fmemopen(buf, (1 << 20) + 1, "r");
	ck_assert_int_lt(cc_policy_parse_file(f, "F", &pol, &perr), 0);
	ck_assert_str_eq(perr.msg, "F is larger than 1048576 bytes");
	fclose(f);
	free(buf);
}
END_TEST

START_TEST(test_parse_limits)
{
	size_t cap = 300 * 120 + 64, o = 0;
	char *text = malloc(cap);
	/* 64 images in a rule are fine, 65 are not */
	o = (size_t)snprintf(text, cap, "[r]\nuser = a\nactions = mount\ntarget = *\n");
	for (int i = 0; i < 65; i++)
		o += (size_t)snprintf(text + o, cap - o, "image = /img/%d\n", i);
	PARSE_FAILS(text, "P:69: too many images in one rule");
	o = 0;
	for (int i = 0; i < 65; i++)
		o += (size_t)snprintf(text + o, cap - o, "%suser = u%d\n", i ? "" : "[r]\n", i);
	PARSE_FAILS(text, "P:66: too many users");
	o = 0;
	for (int i = 0; i < 257; i++)
		o += (size_t)snprintf(text + o, cap - o, "[r%d]\nuser = u\nactions = unmount\ntarget = *\n", i);
	PARSE_FAILS(text, "P:1026: more than 256 rules");
	free(text);
}
END_TEST

/* ---- matching ---- */

START_TEST(test_first_match_wins)
{
	struct fx x;
	facts(&x);
	PARSE_OK("[tracers]\ngroup = daemon\nactions = exec\nimage = /img/*\ntarget = *\nprofile = ptrace\n"
		 "[plain]\ngroup = daemon\nactions = exec\nimage = /img/*\ntarget = *\nprofile = restricted\n");
	MATCHES(&x, "tracers");
	ck_assert_int_eq(cc_policy_match(&pol, &x.f, why, sizeof(why))->profile, CC_PROFILE_PTRACE);
	cc_policy_free(&pol);
	PARSE_OK("[plain]\ngroup = daemon\nactions = exec\nimage = /img/*\ntarget = *\nprofile = restricted\n"
		 "[tracers]\ngroup = daemon\nactions = exec\nimage = /img/*\ntarget = *\nprofile = ptrace\n");
	MATCHES(&x, "plain");
	ck_assert_int_eq(cc_policy_match(&pol, &x.f, why, sizeof(why))->profile, CC_PROFILE_RESTRICTED);
	cc_policy_free(&pol);
	/* an earlier rule that does not match in full is passed over */
	PARSE_OK("[other-image]\ngroup = daemon\nactions = exec\nimage = /else/*\ntarget = *\nprofile = ptrace\n"
		 "[plain]\ngroup = daemon\nactions = exec\nimage = /img/*\ntarget = *\n");
	MATCHES(&x, "plain");
}
END_TEST

START_TEST(test_match_who)
{
	struct fx x;
	facts(&x);
	PARSE_OK("[by-user]\nuser = bob\nactions = exec\nimage = /img/*\ntarget = *\n"
		 "[by-group]\ngroup = bin\nactions = exec\nimage = /img/*\ntarget = *\n"
		 "[ghost]\ngroup = no-such-group-cc\nactions = exec, unmount\nimage = /img/*\ntarget = *\n");
	MATCHES(&x, "by-group"); /* alice is in bin (2) */
	x.f.user = "bob";
	MATCHES(&x, "by-user");
	x.f.user = "carol";
	x.f.ngids = 1; /* daemon only */
	DENIED(&x, "no policy rule names user carol or one of its groups");
	/* a group that does not exist resolves to -1 and matches no one */
	x.gids[0] = (gid_t)-1;
	DENIED(&x, "no policy rule names user carol or one of its groups");
	/* the user name is matched exactly */
	x.f.user = "bobby";
	DENIED(&x, "no policy rule names user bobby or one of its groups");
	x.f.user = NULL;
	DENIED(&x, "no policy rule names user ? or one of its groups");
}
END_TEST

START_TEST(test_match_action_and_reason)
{
	struct fx x;
	facts(&x);
	PARSE_OK("[r]\ngroup = daemon\nactions = mount, unmount\nimage = /img/*\ntarget = *\n");
	DENIED(&x, "the policy does not allow alice to exec");
	x.f.action = CC_PERM_EXEC_VIA;
	DENIED(&x, "the policy does not allow alice to exec-via");
	x.f.action = CC_PERM_MOUNT;
	MATCHES(&x, "r");
	x.f.action = CC_PERM_UNMOUNT;
	x.f.image = NULL; /* unmount involves no image */
	MATCHES(&x, "r");
	/* mount permission does not give exec, nor the reverse */
	cc_policy_free(&pol);
	PARSE_OK("[r]\ngroup = daemon\nactions = exec\nimage = /img/*\ntarget = *\n");
	x.f.action = CC_PERM_MOUNT;
	x.f.image = "/img/a.img";
	DENIED(&x, "the policy does not allow alice to mount");
	x.f.action = CC_PERM_UNMOUNT;
	x.f.image = NULL;
	DENIED(&x, "the policy does not allow alice to unmount");
}
END_TEST

START_TEST(test_match_image_globs)
{
	struct fx x;
	facts(&x);
	PARSE_OK("[r]\ngroup = daemon\nactions = exec\nimage = /srv/img/*.img\nimage = /opt/*/toolbox.img\ntarget = *\n");
	static const char *const yes[] = { "/srv/img/a.img", "/srv/img/.img" /* no: see below */, "/opt/x/toolbox.img" };
	static const char *const no[] = {
		"/srv/img/sub/a.img", /* FNM_PATHNAME: '*' stops at '/' */
		"/srv/img/../../etc/shadow.img",
		"/srv/img/.hidden.img", /* FNM_PERIOD */
		"/opt/x/y/toolbox.img",
		"/opt/toolbox.img",
		"srv/img/a.img",
		"/srv/img/a.img.bak",
		"/srv/img/a.IMG",
	};
	x.f.image = yes[0];
	MATCHES(&x, "r");
	x.f.image = yes[2];
	MATCHES(&x, "r");
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		char reason[300];
		x.f.image = no[i];
		snprintf(reason, sizeof(reason), "the policy does not allow image %s", no[i]);
		DENIED(&x, reason);
	}
	x.f.image = yes[1]; /* ".img" starts with a period: FNM_PERIOD keeps '*' from matching it */
	DENIED(&x, "the policy does not allow image /srv/img/.img");
}
END_TEST

START_TEST(test_match_pin)
{
	struct fx x;
	facts(&x);
	PARSE_OK("[pinned]\ngroup = daemon\nactions = exec\nimage = /img/a.img sha256=" PIN_A "\ntarget = *\n"
		 "[pinned-b]\ngroup = daemon\nactions = exec\nimage = /img/* sha256=" PIN_B "\ntarget = *\n");
	MATCHES(&x, "pinned");
	x.f.image_sha256 = PIN_B;
	MATCHES(&x, "pinned-b"); /* the first rule's pin differs: on to the next */
	x.f.image_sha256 = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
	DENIED(&x, "the policy does not allow image /img/a.img");
	x.f.image_sha256 = NULL; /* digest unknown: a pin never matches */
	DENIED(&x, "the policy does not allow image /img/a.img");
	x.f.image_sha256 = "";
	DENIED(&x, "the policy does not allow image /img/a.img");
}
END_TEST

START_TEST(test_match_targets)
{
	struct fx x;
	facts(&x);
	/* cgroup v1 + v2 lines as /proc/PID/cgroup has them */
	x.f.cgroup = "12:pids:/docker/3f2a9c\n11:memory:/docker/3f2a9c\n1:name=systemd:/docker/3f2a9c\n0::/system.slice/docker-3f2a9c.scope\n";
	PARSE_OK("[cg]\ngroup = daemon\nactions = exec\nimage = /img/*\ntarget = cgroup:/system.slice/docker-*.scope\n"
		 "[rt]\ngroup = daemon\nactions = exec\nimage = /img/*\ntarget = runtime:podman\n"
		 "[id]\ngroup = daemon\nactions = exec\nimage = /img/*\ntarget = id:beef*\n");
	MATCHES(&x, "cg"); /* the last line (no trailing text) matches */
	x.f.cgroup = "12:pids:/docker/3f2a9c\n0::/system.slice/docker-3f2a9c.scope"; /* no final newline */
	MATCHES(&x, "cg");
	x.f.cgroup = "0::/kubepods/pod1/abc\n";
	DENIED(&x, "the policy does not allow exec on this target");
	/* runtime: and id: only when the broker verified the claim */
	x.f.runtime = "podman";
	MATCHES(&x, "rt");
	x.f.runtime = "podmanx";
	DENIED(&x, "the policy does not allow exec on this target");
	x.f.runtime = NULL;
	x.f.id = "beef0123";
	MATCHES(&x, "id");
	x.f.id = "abeef";
	DENIED(&x, "the policy does not allow exec on this target");
	x.f.id = NULL;
	x.f.cgroup = NULL;
	DENIED(&x, "the policy does not allow exec on this target");
	cc_policy_free(&pol);

	/* '*' in a cgroup glob crosses '/' (fnmatch without FNM_PATHNAME) */
	PARSE_OK("[cg]\ngroup = daemon\nactions = exec\nimage = /img/*\ntarget = cgroup:/docker/*\n");
	x.f.cgroup = "5:cpu:/docker/abc/nested\n";
	MATCHES(&x, "cg");
	x.f.cgroup = "5:cpu:/dockerx/abc\n0::/\n";
	DENIED(&x, "the policy does not allow exec on this target");
	/* a v1 line whose controller list holds ':' (name=...) still parses */
	x.f.cgroup = "1:name=a:b:/docker/q\n";
	DENIED(&x, "the policy does not allow exec on this target"); /* path is "b:/docker/q" */
	cc_policy_free(&pol);

	PARSE_OK("[any]\ngroup = daemon\nactions = exec\nimage = /img/*\ntarget = *\n");
	x.f.cgroup = NULL;
	MATCHES(&x, "any");
}
END_TEST

START_TEST(test_match_ptrace_needs_own_pidns)
{
	struct fx x;
	facts(&x);
	PARSE_OK("[tracers]\ngroup = daemon\nactions = mount, exec\nimage = /img/*\ntarget = *\nprofile = ptrace\n"
		 "[plain]\ngroup = daemon\nactions = exec\nimage = /img/*\ntarget = *\n");
	MATCHES(&x, "tracers");
	x.f.own_pidns = false;
	MATCHES(&x, "plain"); /* the ptrace rule is skipped, the next one decides */
	x.f.action = CC_PERM_MOUNT;
	MATCHES(&x, "tracers"); /* a plain mount gives no capability: not skipped */
	cc_policy_free(&pol);
	PARSE_OK("[tracers]\ngroup = daemon\nactions = exec\nimage = /img/*\ntarget = *\nprofile = ptrace\n");
	x.f.action = CC_PERM_EXEC;
	DENIED(&x, "the matching rule's profile needs a target with its own PID namespace (netadmin: and network namespace)");
	x.f.own_pidns = true;
	MATCHES(&x, "tracers");
}
END_TEST

/* netadmin: own PID and network namespaces; ptrace does not care about the
 * network namespace. */
START_TEST(test_match_netadmin_needs_own_netns)
{
	struct fx x;
	facts(&x);
	PARSE_OK("[net]\ngroup = daemon\nactions = exec\nimage = /img/*\ntarget = *\nprofile = netadmin\n"
		 "[tracers]\ngroup = daemon\nactions = exec\nimage = /img/*\ntarget = *\nprofile = ptrace\n");
	MATCHES(&x, "net");
	ck_assert_int_eq(cc_policy_match(&pol, &x.f, why, sizeof(why))->profile, CC_PROFILE_NETADMIN);
	x.f.own_netns = false;
	MATCHES(&x, "tracers"); /* skipped: the host's network namespace */
	x.f.own_netns = true;
	x.f.own_pidns = false;
	DENIED(&x, "the matching rule's profile needs a target with its own PID namespace (netadmin: and network namespace)");
	ck_assert_str_eq(cc_profile_name(CC_PROFILE_NETADMIN), "netadmin");
	ck_assert_str_eq(cc_profile_name(CC_PROFILE_PTRACE), "ptrace");
	ck_assert_str_eq(cc_profile_name(CC_PROFILE_RESTRICTED), "restricted");
}
END_TEST

/* Stage one (cc_policy_precheck), before the image is opened: without its
 * digest. A pinned path may still be allowed (the pin is checked later),
 * anything no rule can allow is refused with the reason stage two would
 * give, so that the broker never opens a path the policy does not name. */
static const char *precheck(const struct fx *x)
{
	why[0] = '\0';
	const struct cc_rule *r = cc_policy_precheck(&pol, &x->f, why, sizeof(why));
	if (r)
		ck_assert_str_eq(why, "");
	else
		ck_assert_str_ne(why, "");
	return r ? r->name : NULL;
}

#define PRECHECK_PASSES(x, name) ck_assert_str_eq(precheck(x) ? precheck(x) : "(refused)", name)
#define PRECHECK_REFUSES(x, reason)                                                             \
	do {                                                                                    \
		const char *m_ = precheck(x);                                                   \
		ck_assert_msg(m_ == NULL, "stage one passed by [%s]", m_ ? m_ : "");            \
		ck_assert_str_eq(why, reason);                                                  \
	} while (0)

START_TEST(test_two_stage_match)
{
	struct fx x;
	facts(&x);
	PARSE_OK("[pinned]\ngroup = daemon\nactions = exec\nimage = /img/a.img sha256=" PIN_A "\ntarget = *\n"
		 "[pinned-b]\ngroup = daemon\nactions = exec\nimage = /img/b.img sha256=" PIN_B "\ntarget = *\n"
		 "[other]\ngroup = daemon\nactions = mount\nimage = /srv/*.img\ntarget = cgroup:/crashcart-it/*\n"
		 "[ops]\nuser = bob\nactions = exec\nimage = /img/*\ntarget = *\n");
	/* the digest is not known yet: whatever stage one is given is ignored */
	for (int i = 0; i < 3; i++) {
		x.f.image_sha256 = i == 0 ? NULL : i == 1 ? "" : PIN_B;
		x.f.image = "/img/a.img";
		PRECHECK_PASSES(&x, "pinned");
		x.f.image = "/img/b.img";
		PRECHECK_PASSES(&x, "pinned-b");
	}
	/* stage two still holds the pin: stage one is not the verdict */
	x.f.image = "/img/a.img";
	x.f.image_sha256 = PIN_B;
	DENIED(&x, "the policy does not allow image /img/a.img");
	x.f.image_sha256 = NULL;
	DENIED(&x, "the policy does not allow image /img/a.img");
	x.f.image_sha256 = PIN_A;
	MATCHES(&x, "pinned");
	x.f.image = "/img/b.img";
	x.f.image_sha256 = PIN_B;
	MATCHES(&x, "pinned-b");

	/* what stage one refuses, for each fact it knows without the file */
	x.f.image_sha256 = PIN_A;
	x.f.image = "/img/c.img"; /* a path no rule names: never opened */
	PRECHECK_REFUSES(&x, "the policy does not allow image /img/c.img");
	DENIED(&x, "the policy does not allow image /img/c.img");
	x.f.image = "/img/../etc/a.img";
	PRECHECK_REFUSES(&x, "the policy does not allow image /img/../etc/a.img");
	x.f.image = "/img/a.img";
	x.f.action = CC_PERM_EXEC_VIA;
	PRECHECK_REFUSES(&x, "the policy does not allow alice to exec-via");
	x.f.action = CC_PERM_MOUNT; /* [other] allows mounting images in /srv on its cgroups */
	x.f.image = "/srv/t.img";
	x.f.cgroup = "0::/elsewhere\n";
	PRECHECK_REFUSES(&x, "the policy does not allow mount on this target");
	x.f.cgroup = "0::/crashcart-it/web\n";
	PRECHECK_PASSES(&x, "other");
	MATCHES(&x, "other");
	x.f.user = "carol";
	x.f.ngids = 0;
	PRECHECK_REFUSES(&x, "no policy rule names user carol or one of its groups");
	/* a rule for another user does not let stage one pass for this one */
	x.f.action = CC_PERM_EXEC;
	x.f.image = "/img/z.img";
	PRECHECK_REFUSES(&x, "no policy rule names user carol or one of its groups");
	x.f.user = "bob";
	PRECHECK_PASSES(&x, "ops");
	MATCHES(&x, "ops");
}
END_TEST

/* Stage one never passes a request stage two would allow by another rule
 * only, and never refuses one stage two allows: it is the same match with
 * the pins left open. Random facts against a fixed policy. */
START_TEST(test_two_stage_consistent)
{
	static const char *const images[] = { "/img/a.img", "/img/b.img", "/img/c.img", "/srv/t.img", "/srv/x/t.img" };
	static const char *const pins[] = { PIN_A, PIN_B, NULL, "" };
	static const char *const users[] = { "alice", "bob", "carol" };
	static const char *const cgroups[] = { "0::/crashcart-it/web\n", "0::/elsewhere\n" };
	static const unsigned actions[] = { CC_PERM_MOUNT, CC_PERM_EXEC, CC_PERM_EXEC_VIA };
	struct fx x;
	unsigned seed = 7;

	PARSE_OK("[pinned]\ngroup = daemon\nactions = exec\nimage = /img/a.img sha256=" PIN_A "\ntarget = *\n"
		 "[pinned-b]\ngroup = bin\nactions = exec, mount\nimage = /img/* sha256=" PIN_B "\ntarget = *\n"
		 "[other]\ngroup = daemon\nactions = mount\nimage = /srv/*.img\ntarget = cgroup:/crashcart-it/*\n"
		 "[ops]\nuser = bob\nactions = exec-via\nimage = /img/c.img\ntarget = *\n");
	for (int i = 0; i < 5000; i++) {
		facts(&x);
		x.f.image = images[rand_r(&seed) % 5];
		x.f.image_sha256 = pins[rand_r(&seed) % 4];
		x.f.user = users[rand_r(&seed) % 3];
		x.f.ngids = (size_t)(rand_r(&seed) % 3);
		x.f.cgroup = cgroups[rand_r(&seed) % 2];
		x.f.action = actions[rand_r(&seed) % 3];
		const char *full = match(&x);
		const char *first = precheck(&x);
		if (full)
			ck_assert_msg(first != NULL, "stage one refused what [%s] allows", full);
		/* a request no pin could change is decided alike by both stages */
		if (!first)
			ck_assert_ptr_null(full);
		else if (strcmp(first, "other") == 0 || strcmp(first, "ops") == 0)
			ck_assert_str_eq(full ? full : "(denied)", first); /* unpinned: stage one is the verdict */
	}
}
END_TEST

START_TEST(test_describe)
{
	char out[4096] = "";
	PARSE_OK("[r]\ngroup = daemon\ngroup = no-such-group-cc\nuser = alice\nactions = exec, unmount\n"
		 "image = /img/* sha256=" PIN_A "\ntarget = *\nprofile = ptrace\n[audit]\nsink = file, journald\nrequire = all\n");
	FILE *f = fmemopen(out, sizeof(out) - 1, "w");
	cc_policy_describe(&pol, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(out, "group daemon  group no-such-group-cc (no such group!)  user alice"));
	ck_assert_ptr_nonnull(strstr(out, "may:    unmount exec \n"));
	ck_assert_ptr_nonnull(strstr(out, "image:  /img/* sha256=" PIN_A "\n"));
	ck_assert_ptr_nonnull(strstr(out, "target: * (any container; never the host)"));
	ck_assert_ptr_nonnull(strstr(out, "tool:   ptrace"));
	ck_assert_ptr_nonnull(strstr(out, "sinks:  file journald (every one must accept each record)"));
	ck_assert_str_eq(cc_perm_name(CC_PERM_EXEC_VIA), "exec-via");
	ck_assert_str_eq(cc_perm_name(99), "?");
	/* patterns are free text: shown escaped, like every line crashcart prints */
	cc_policy_free(&pol);
	PARSE_OK("[r]\ngroup = daemon\nactions = exec\nimage = /img/\x1b[2J*\ntarget = cgroup:/a\x1b]0;t\x07*\n");
	memset(out, 0, sizeof(out));
	f = fmemopen(out, sizeof(out) - 1, "w");
	cc_policy_describe(&pol, f);
	fclose(f);
	ck_assert_ptr_null(strchr(out, '\x1b'));
	ck_assert_ptr_nonnull(strstr(out, "image:  /img/\\x1b[2J*\n"));
	ck_assert_ptr_nonnull(strstr(out, "target: cgroup:/a\\x1b]0;t\\x07*\n"));
}
END_TEST

/* ---- cc_policy_load: ownership ---- */

static char tdir[64], tfile[128];

static void load_setup(void)
{
	strcpy(tdir, "/tmp/cc-policy-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	ck_assert_int_eq(chmod(tdir, 0755), 0);
	snprintf(tfile, sizeof(tfile), "%s/policy.conf", tdir);
	FILE *f = fopen(tfile, "w");
	ck_assert_ptr_nonnull(f);
	fputs("[r]\n" BODY, f);
	fclose(f);
	ck_assert_int_eq(chmod(tfile, 0644), 0);
}

static void load_teardown(void)
{
	char cmd[128];
	cc_policy_free(&pol);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tdir);
}

static int load(const char *path)
{
	memset(&perr, 0, sizeof(perr));
	return cc_policy_load(path, &pol, &perr);
}

/* The load tests chown and chmod as root: they are their own meson test
 * (test_policy_as_root), which reports SKIP when not run as root, and here
 * an assertion, so that none of them can pass by not running. */
#define NEED_ROOT() ck_assert_msg(geteuid() == 0, "%s needs root (meson test test_policy_as_root)", __func__)

#define LOAD_FAILS(path, want_)                                  \
	do {                                                   \
		ck_assert_int_lt(load(path), 0);               \
		ck_assert_str_eq(perr.msg, want_);             \
		ck_assert_uint_eq(pol.nrules, 0);              \
	} while (0)

START_TEST(test_load_ok_under_sticky_tmp)
{
	NEED_ROOT();
	/* /tmp is root 1777: sticky, accepted above root-owned entries */
	ck_assert_int_eq(load(tfile), 0);
	ck_assert_uint_eq(pol.nrules, 1);
	/* and a sticky world-writable directory of our own */
	ck_assert_int_eq(chmod(tdir, 01777), 0);
	cc_policy_free(&pol);
	ck_assert_int_eq(load(tfile), 0);
	/* read-only for root too is fine */
	ck_assert_int_eq(chmod(tfile, 0400), 0);
	cc_policy_free(&pol);
	ck_assert_int_eq(load(tfile), 0);
}
END_TEST

START_TEST(test_load_writable_file)
{
	char msg[300];
	NEED_ROOT();
	ck_assert_int_eq(chmod(tfile, 0664), 0);
	snprintf(msg, sizeof(msg), "policy %s is writable by its group (mode 0664): refusing", tfile);
	LOAD_FAILS(tfile, msg);
	ck_assert_int_eq(chmod(tfile, 0646), 0);
	snprintf(msg, sizeof(msg), "policy %s is writable by others (mode 0646): refusing", tfile);
	LOAD_FAILS(tfile, msg);
	/* sticky means nothing on a file */
	ck_assert_int_eq(chmod(tfile, 01666), 0);
	snprintf(msg, sizeof(msg), "policy %s is writable by others (mode 1666): refusing", tfile);
	LOAD_FAILS(tfile, msg);
	ck_assert_int_eq(chmod(tfile, 0644), 0);
	ck_assert_int_eq(chown(tfile, 1, 0), 0);
	snprintf(msg, sizeof(msg), "policy %s is not owned by root (uid 1): refusing", tfile);
	LOAD_FAILS(tfile, msg);
}
END_TEST

START_TEST(test_load_writable_parent)
{
	char msg[300];
	NEED_ROOT();
	ck_assert_int_eq(chmod(tdir, 0777), 0);
	snprintf(msg, sizeof(msg), "policy %s is writable by others (mode 0777): refusing", tdir);
	LOAD_FAILS(tfile, msg);
	ck_assert_int_eq(chmod(tdir, 0775), 0);
	snprintf(msg, sizeof(msg), "policy %s is writable by its group (mode 0775): refusing", tdir);
	LOAD_FAILS(tfile, msg);
	ck_assert_int_eq(chmod(tdir, 0755), 0);
	ck_assert_int_eq(chown(tdir, 1, 0), 0);
	snprintf(msg, sizeof(msg), "policy %s is not owned by root (uid 1): refusing", tdir);
	LOAD_FAILS(tfile, msg);
	/* a sticky directory that someone else owns is theirs to change */
	ck_assert_int_eq(chmod(tdir, 01777), 0);
	LOAD_FAILS(tfile, msg);
	ck_assert_int_eq(chown(tdir, 0, 0), 0);
	ck_assert_int_eq(chmod(tdir, 0755), 0);
	/* two levels down: the middle directory is checked too */
	char sub[160], f2[200];
	snprintf(sub, sizeof(sub), "%s/etc", tdir);
	snprintf(f2, sizeof(f2), "%s/policy.conf", sub);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	ck_assert_int_eq(rename(tfile, f2), 0);
	ck_assert_int_eq(load(f2), 0);
	cc_policy_free(&pol);
	ck_assert_int_eq(chmod(tdir, 0757), 0);
	snprintf(msg, sizeof(msg), "policy %s is writable by others (mode 0757): refusing", tdir);
	LOAD_FAILS(f2, msg);
}
END_TEST

START_TEST(test_load_symlinks_and_odd_files)
{
	char link[160], msg[400], dlink[160], via[200], fifo[160];
	NEED_ROOT();
	snprintf(link, sizeof(link), "%s/link.conf", tdir);
	ck_assert_int_eq(symlink(tfile, link), 0);
	snprintf(msg, sizeof(msg), "policy %s is a symlink: refusing", link);
	LOAD_FAILS(link, msg);
	/* a symlinked directory above it */
	snprintf(dlink, sizeof(dlink), "%s/dlink", tdir);
	ck_assert_int_eq(symlink(tdir, dlink), 0);
	snprintf(via, sizeof(via), "%s/policy.conf", dlink);
	snprintf(msg, sizeof(msg), "%s above the policy is not a directory", dlink);
	LOAD_FAILS(via, msg);
	/* a directory, a FIFO (must not block: O_NONBLOCK), a missing file */
	snprintf(msg, sizeof(msg), "policy %s is not a regular file", tdir);
	LOAD_FAILS(tdir, msg);
	snprintf(fifo, sizeof(fifo), "%s/fifo.conf", tdir);
	ck_assert_int_eq(mkfifo(fifo, 0644), 0);
	snprintf(msg, sizeof(msg), "policy %s is not a regular file", fifo);
	LOAD_FAILS(fifo, msg);
	snprintf(via, sizeof(via), "%s/missing.conf", tdir);
	snprintf(msg, sizeof(msg), "cannot open the policy %s: No such file or directory", via);
	LOAD_FAILS(via, msg);
	LOAD_FAILS("etc/policy.conf", "policy path 'etc/policy.conf' is not absolute");
	/* a valid location, a broken file: the parse error names the path */
	FILE *f = fopen(tfile, "w");
	fputs("[r]\nbogus = 1\n", f);
	fclose(f);
	snprintf(msg, sizeof(msg), "%s:2: unknown key 'bogus' in [r]", tfile);
	LOAD_FAILS(tfile, msg);
}
END_TEST

/* ---- fuzz ---- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
	/* xorshift64*: fixed seed, same sequence on every run */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static const char *const seeds[] = {
	"[oncall]\ngroup = daemon\nuser = alice\nactions = mount, unmount, exec, exec-via\n"
	"image = /usr/share/crashcart/crashcart.img\nimage = /srv/img/*.img sha256=" PIN_A "\n"
	"target = *\ntarget = cgroup:/docker/*\ntarget = runtime:docker\ntarget = id:3f2a*\nprofile = ptrace\n"
	"[audit]\nsink = file, syslog\nrequire = all\n",
	"; comment\n[a]\ngroup = bin\nactions = unmount\ntarget = *\n[b]\nuser = bob\nactions = exec\n"
	"image = /img/*\ntarget = cgroup:/crashcart-it/*\nprofile = restricted\n",
	"[audit]\nsink = journald\nsink = auditd\n[r.1]\ngroup = root\nactions = exec-via\nimage = /x\ntarget = id:*\n",
};

static const char alphabet[] = "[]=:;#,\n \t*/?\\abcdeimnoprstuxyz0123456789-_.$:\"'\r";

static const char *const words[] = {
	"group", "user", "actions", "image", "target", "profile", "sink", "require", "[audit]", "[r]",
	"mount", "unmount", "exec", "exec-via", "ptrace", "restricted", "sha256=", PIN_B, "cgroup:/",
	"runtime:", "id:", "*", "file", "syslog", "journald", "auditd", "any", "all", "\n  ", "=", "\n[",
};

static size_t mutate(char *buf, size_t len, size_t cap)
{
	int rounds = 1 + (int)(rnd() % 4);
	for (int k = 0; k < rounds; k++) {
		size_t pos = len ? rnd() % (len + 1) : 0;
		switch (rnd() % 8) {
		case 0: /* flip a byte (never to NUL: parse_string stops there) */
			if (len && pos < len)
				buf[pos] = (char)(1 + rnd() % 255);
			break;
		case 1: /* insert from the INI alphabet */
			if (len + 1 < cap) {
				memmove(buf + pos + 1, buf + pos, len - pos);
				buf[pos] = alphabet[rnd() % (sizeof(alphabet) - 1)];
				len++;
			}
			break;
		case 2: { /* delete a range */
			size_t n = rnd() % 16;
			if (pos + n > len)
				n = len - pos;
			memmove(buf + pos, buf + pos + n, len - pos - n);
			len -= n;
			break;
		}
		case 3: { /* insert a keyword */
			const char *w = words[rnd() % (sizeof(words) / sizeof(words[0]))];
			size_t n = strlen(w);
			if (len + n < cap) {
				memmove(buf + pos + n, buf + pos, len - pos);
				memcpy(buf + pos, w, n);
				len += n;
			}
			break;
		}
		case 4: { /* duplicate a slice (repeats lines, sections) */
			size_t from = len ? rnd() % len : 0, n = rnd() % 64;
			if (from + n > len)
				n = len - from;
			char slice[64];
			memcpy(slice, buf + from, n);
			if (len + n < cap) {
				memmove(buf + pos + n, buf + pos, len - pos);
				memcpy(buf + pos, slice, n);
				len += n;
			}
			break;
		}
		case 5: { /* a long run (line length limits, list buffers) */
			size_t n = rnd() % 400;
			char c = alphabet[rnd() % (sizeof(alphabet) - 1)];
			if (len + n < cap) {
				memmove(buf + pos + n, buf + pos, len - pos);
				memset(buf + pos, c, n);
				len += n;
			}
			break;
		}
		case 6: /* cut the end */
			len = pos;
			break;
		default: /* a high byte (UTF-8 lead, BOM) */
			if (len + 1 < cap) {
				memmove(buf + pos + 1, buf + pos, len - pos);
				buf[pos] = (char)(0x80 | rnd() % 128);
				len++;
			}
			break;
		}
	}
	buf[len] = '\0';
	return len;
}

static void check_parsed(const struct cc_policy *p)
{
	ck_assert_uint_le(p->nrules, 256);
	ck_assert_uint_ne(p->sinks, 0);
	for (size_t i = 0; i < p->nrules; i++) {
		const struct cc_rule *r = &p->rules[i];
		ck_assert(r->groups || r->users);
		ck_assert_uint_ne(r->actions, 0);
		ck_assert(r->targets);
		if (r->actions & (CC_PERM_MOUNT | CC_PERM_EXEC | CC_PERM_EXEC_VIA))
			ck_assert_uint_gt(r->nimages, 0);
		for (size_t k = 0; k < r->nimages; k++)
			ck_assert(r->images[k].pattern[0] == '/');
	}
}

START_TEST(test_fuzz)
{
	const char *env = getenv("CC_FUZZ_ITERS");
	long iters = env ? strtol(env, NULL, 10) : 100000;
	size_t cap = 8192, accepted = 0;
	char *buf = malloc(cap + 1);
	FILE *null = fopen("/dev/null", "w");
	struct fx x;

	rng_state = 0x9e3779b97f4a7c15ULL;
	ck_assert_ptr_nonnull(buf);
	for (long i = 0; i < iters; i++) {
		const char *seed = seeds[rnd() % (sizeof(seeds) / sizeof(seeds[0]))];
		size_t len = strlen(seed);
		memcpy(buf, seed, len + 1);
		len = mutate(buf, len, cap);
		if (rnd() % 4 == 0)
			len = mutate(buf, len, cap);
		memset(&perr, 0, sizeof(perr));
		int r = cc_policy_parse_string(buf, "fuzz", &pol, &perr);
		if (r < 0) {
			ck_assert_msg(strncmp(perr.msg, "fuzz", 4) == 0, "iteration %ld: message without origin: %s", i,
				      perr.msg);
			ck_assert_uint_eq(pol.nrules, 0);
			ck_assert_ptr_null(pol.rules);
			continue;
		}
		accepted++;
		check_parsed(&pol);
		facts(&x);
		for (unsigned a = CC_PERM_MOUNT; a <= CC_PERM_EXEC_VIA; a <<= 1) {
			x.f.action = a;
			x.f.own_pidns = a != CC_PERM_EXEC;
			x.f.runtime = a == CC_PERM_MOUNT ? "docker" : NULL;
			x.f.id = a == CC_PERM_MOUNT ? "3f2a00" : NULL;
			(void)cc_policy_match(&pol, &x.f, why, sizeof(why));
		}
		cc_policy_describe(&pol, null);
		cc_policy_free(&pol);
	}
	fclose(null);
	free(buf);
	fprintf(stderr, "fuzz: %ld iterations, %zu accepted\n", iters, accepted);
	ck_assert_uint_gt(accepted, 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("parse");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_parse_full);
	tcase_add_test(tc, test_parse_defaults);
	tcase_add_test(tc, test_parse_inih_forms);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_parse_bad_pins);
	tcase_add_test(tc, test_parse_duplicate_rule);
	tcase_add_test(tc, test_parse_long_lines);
	tcase_add_test(tc, test_parse_file_nul_and_size);
	tcase_add_test(tc, test_parse_file_sizes);
	tcase_add_test(tc, test_parse_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("match");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_first_match_wins);
	tcase_add_test(tc, test_match_who);
	tcase_add_test(tc, test_match_action_and_reason);
	tcase_add_test(tc, test_match_image_globs);
	tcase_add_test(tc, test_match_pin);
	tcase_add_test(tc, test_match_targets);
	tcase_add_test(tc, test_match_ptrace_needs_own_pidns);
	tcase_add_test(tc, test_match_netadmin_needs_own_netns);
	tcase_add_test(tc, test_two_stage_match);
	tcase_add_test(tc, test_two_stage_consistent);
	tcase_add_test(tc, test_describe);
	suite_add_tcase(s, tc);

	tc = tcase_create("load-as-root");
	tcase_set_tags(tc, "as-root");
	tcase_add_checked_fixture(tc, load_setup, load_teardown);
	tcase_set_timeout(tc, 10); /* a FIFO that blocked open() would hang here */
	tcase_add_test(tc, test_load_ok_under_sticky_tmp);
	tcase_add_test(tc, test_load_writable_file);
	tcase_add_test(tc, test_load_writable_parent);
	tcase_add_test(tc, test_load_symlinks_and_odd_files);
	suite_add_tcase(s, tc);

	tc = tcase_create("fuzz");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_fuzz);
	suite_add_tcase(s, tc);
	return s;
}

/* test_policy: every case but load-as-root; test_policy as-root: only
 * that one, exit 77 (meson: SKIP) when not root. */
int main(int argc, char **argv)
{
	bool as_root = argc > 1 && strcmp(argv[1], "as-root") == 0;
	if (as_root && geteuid() != 0) {
		puts("load-as-root: needs root; skipped");
		return 77;
	}
	SRunner *sr = srunner_create(suite());
	srunner_run_tagged(sr, NULL, as_root ? "load-as-root" : NULL, NULL, as_root ? NULL : "as-root", CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
