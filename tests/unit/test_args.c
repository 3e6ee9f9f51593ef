/* Command-line parsing of crashcart: modes, options ending at the first
 * non-option, and one clear error per misuse. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "config.h"

#define PARSE(a, err, ...)                                                  \
	({                                                                  \
		static char *argv_[] = { "crashcart", __VA_ARGS__, NULL };  \
		cc_parse_args((int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_, (a), (err)); \
	})

START_TEST(exec_default_shell)
{
	struct cc_args a;
	cc_error err = { 0 };
	ck_assert_int_eq(PARSE(&a, &err, "1234"), 0);
	ck_assert_int_eq(a.mode, CC_MODE_EXEC);
	ck_assert_str_eq(a.target, "1234");
	ck_assert_ptr_null(a.cmd[0]);
	ck_assert_str_eq(a.image, CRASHCART_DEFAULT_IMAGE);
}
END_TEST

START_TEST(options_end_at_first_non_option)
{
	struct cc_args a;
	cc_error err = { 0 };
	ck_assert_int_eq(PARSE(&a, &err, "-i", "/img", "42", "tcpdump", "-i", "eth0", "-v"), 0);
	ck_assert_str_eq(a.image, "/img");
	ck_assert_int_eq(a.verbose, 0);
	ck_assert_str_eq(a.target, "42");
	ck_assert_str_eq(a.cmd[0], "tcpdump");
	ck_assert_str_eq(a.cmd[1], "-i");
	ck_assert_str_eq(a.cmd[2], "eth0");
	ck_assert_str_eq(a.cmd[3], "-v");
	ck_assert_ptr_null(a.cmd[4]);
}
END_TEST

START_TEST(double_dash_ends_options)
{
	struct cc_args a;
	cc_error err = { 0 };
	ck_assert_int_eq(PARSE(&a, &err, "-v", "--", "42", "-m"), 0);
	ck_assert_int_eq(a.mode, CC_MODE_EXEC);
	ck_assert_int_eq(a.verbose, 1);
	ck_assert_str_eq(a.cmd[0], "-m");
}
END_TEST

START_TEST(mount_and_unmount)
{
	struct cc_args a;
	cc_error err = { 0 };
	ck_assert_int_eq(PARSE(&a, &err, "-m", "7"), 0);
	ck_assert_int_eq(a.mode, CC_MODE_MOUNT);
	ck_assert_int_eq(PARSE(&a, &err, "--unmount", "pid://7"), 0);
	ck_assert_int_eq(a.mode, CC_MODE_UNMOUNT);
	ck_assert_str_eq(a.target, "pid://7");
	ck_assert_int_eq(PARSE(&a, &err, "-vv", "--image=/x", "-m", "7"), 0);
	ck_assert_int_eq(a.verbose, 2);
	ck_assert_str_eq(a.image, "/x");
	ck_assert(!a.force);
	ck_assert_int_eq(PARSE(&a, &err, "--force", "-u", "7"), 0);
	ck_assert_int_eq(a.mode, CC_MODE_UNMOUNT);
	ck_assert(a.force);
	ck_assert_int_eq(PARSE(&a, &err, "-m", "--force", "7"), -EINVAL);
	ck_assert_str_eq(err.msg, "--force goes with -u");
	ck_assert_int_eq(PARSE(&a, &err, "--force", "7"), -EINVAL);
	ck_assert_str_eq(err.msg, "--force goes with -u");
}
END_TEST

START_TEST(misuse_is_one_clear_error)
{
	struct cc_args a;
	cc_error err = { 0 };
	ck_assert_int_eq(PARSE(&a, &err, "-m", "-u", "7"), -EINVAL);
	ck_assert_str_eq(err.msg, "-m and -u cannot be used together");
	ck_assert_int_eq(PARSE(&a, &err, "-m", "7", "ls"), -EINVAL);
	ck_assert_str_eq(err.msg, "-m takes no command, got 'ls'");
	ck_assert_int_eq(PARSE(&a, &err, "-x", "7"), -EINVAL);
	ck_assert_str_eq(err.msg, "unknown option -x (see crashcart --help)");
	ck_assert_int_eq(PARSE(&a, &err, "--bogus", "7"), -EINVAL);
	ck_assert_str_eq(err.msg, "unknown option --bogus (see crashcart --help)");
	ck_assert_int_eq(PARSE(&a, &err, "-i"), -EINVAL);
	ck_assert_str_eq(err.msg, "option -i needs an argument");
	ck_assert_int_eq(PARSE(&a, &err, "-v"), -EINVAL);
	ck_assert_str_eq(err.msg, "no container given (see crashcart --help)");
	ck_assert_int_eq(PARSE(&a, &err, ""), -EINVAL);
	ck_assert_str_eq(err.msg, "empty container id");
	ck_assert_int_eq(PARSE(&a, &err, "-i", "", "7"), -EINVAL);
	ck_assert_int_eq(PARSE(&a, &err, "-e", "-m", "7"), -EINVAL);
	ck_assert_str_eq(err.msg, "-e goes with running a command, not with -m or -u");
	ck_assert_int_eq(PARSE(&a, &err, "-e", "7", "ls"), 0);
	ck_assert(a.exec_via);
}
END_TEST

START_TEST(help_and_version_win)
{
	struct cc_args a;
	cc_error err = { 0 };
	ck_assert_int_eq(PARSE(&a, &err, "-V"), 0);
	ck_assert_int_eq(a.mode, CC_MODE_VERSION);
	ck_assert_int_eq(PARSE(&a, &err, "-m", "--help"), 0);
	ck_assert_int_eq(a.mode, CC_MODE_HELP);
}
END_TEST

START_TEST(audit_subcommands)
{
	struct cc_args a;
	cc_error err = { 0 };
	ck_assert_int_eq(PARSE(&a, &err, "audit", "verify", "/log"), 0);
	ck_assert_int_eq(a.mode, CC_MODE_AUDIT_VERIFY);
	ck_assert_str_eq(a.target, "/log");
	ck_assert_str_eq(a.sessions, CRASHCART_SESSION_DIR);
	ck_assert_int_eq(PARSE(&a, &err, "audit", "show", "--sessions", "/s", "/log"), 0);
	ck_assert_int_eq(a.mode, CC_MODE_AUDIT_SHOW);
	ck_assert_str_eq(a.sessions, "/s");
	ck_assert_str_eq(a.target, "/log");
	ck_assert_int_eq(PARSE(&a, &err, "audit", "replay", "abc"), 0);
	ck_assert_int_eq(a.mode, CC_MODE_AUDIT_REPLAY);
	ck_assert_str_eq(a.log, CRASHCART_AUDIT_LOG);
	ck_assert(!a.log_given && !a.commands && !a.force);
	ck_assert_double_eq(a.speed, 1);
	ck_assert_int_eq(PARSE(&a, &err, "audit", "replay", "--speed=2.5", "abc", "--commands", "--force", "--log", "/l",
			       "--sessions=/d"), 0);
	ck_assert_double_eq(a.speed, 2.5);
	ck_assert(a.commands && a.force && a.log_given);
	ck_assert_str_eq(a.log, "/l");
	ck_assert_str_eq(a.sessions, "/d");
	ck_assert_str_eq(a.target, "abc");
	/* verify takes the files of a rotated log, options among them */
	ck_assert_int_eq(PARSE(&a, &err, "audit", "verify", "log.2.gz", "--sessions", "/s", "log.1", "log"), 0);
	ck_assert_uint_eq(a.nfiles, 3);
	ck_assert_str_eq(a.target, "log.2.gz");
	ck_assert_str_eq(a.files[1], "log.1");
	ck_assert_str_eq(a.files[2], "log");
	ck_assert_str_eq(a.sessions, "/s");
	ck_assert_int_eq(PARSE(&a, &err, "audit", "link", "/var/log/x.1", "--log", "/var/log/x"), 0);
	ck_assert_int_eq(a.mode, CC_MODE_AUDIT_LINK);
	ck_assert_str_eq(a.target, "/var/log/x.1");
	ck_assert_str_eq(a.log, "/var/log/x");
	ck_assert_int_eq(PARSE(&a, &err, "audit", "replay", "--speed", "0", "--", "--odd.cast"), 0);
	ck_assert_double_eq(a.speed, 0);
	ck_assert_str_eq(a.target, "--odd.cast");
}
END_TEST

START_TEST(audit_misuse)
{
	static const struct {
		const char *args[4], *msg;
	} bad[] = {
		{ { "audit" }, "usage: crashcart audit verify|show FILE, crashcart audit replay SESSION (see crashcart --help)" },
		{ { "audit", "play", "x" }, "usage: crashcart audit verify|show FILE" },
		{ { "audit", "verify" }, "usage: crashcart audit verify FILE" },
		{ { "audit", "replay" }, "usage: crashcart audit replay SESSION" },
		{ { "audit", "show", "a", "b" }, "audit show takes one FILE, got 'b' too" },
		{ { "audit", "link", "a", "b" }, "audit link takes one ROTATED, got 'b' too" },
		{ { "audit", "link" }, "usage: crashcart audit link ROTATED" },
		{ { "audit", "link", "r", "--sessions=/s" }, "audit link: unknown option --sessions" },
		{ { "audit", "verify", "--speed", "2" }, "audit verify: unknown option --speed (see crashcart --help)" },
		{ { "audit", "show", "--force", "f" }, "audit show: unknown option --force" },
		{ { "audit", "replay", "x", "--sessions" }, "option --sessions needs an argument" },
		{ { "audit", "replay", "x", "--log=" }, "audit replay: --log needs a value" },
		{ { "audit", "replay", "x", "--force=yes" }, "audit replay: --force takes no value" },
		{ { "audit", "replay", "x", "-f" }, "audit replay: unknown option -f" },
		{ { "audit", "replay", "", }, "audit replay: empty SESSION" },
	};
	static const char *const speeds[] = { "-1", "1e3", "inf", "nan", "0x10", "1.2.3", ".", "", "1001", " 1", "2x" };
	struct cc_args a;
	cc_error err = { 0 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[8] = { "crashcart" };
		int argc = 1;
		for (int k = 0; k < 4 && bad[i].args[k]; k++)
			argv[argc++] = (char *)bad[i].args[k];
		memset(&err, 0, sizeof(err));
		ck_assert_msg(cc_parse_args(argc, argv, &a, &err) == -EINVAL, "case %zu accepted", i);
		ck_assert_msg(strncmp(err.msg, bad[i].msg, strlen(bad[i].msg)) == 0, "case %zu: '%s', want '%s'", i,
			      err.msg, bad[i].msg);
	}
	for (size_t i = 0; i < sizeof(speeds) / sizeof(speeds[0]); i++) {
		char *argv[] = { "crashcart", "audit", "replay", "x", "--speed", (char *)speeds[i], NULL };
		ck_assert_msg(cc_parse_args(6, argv, &a, &err) == -EINVAL, "--speed '%s' accepted", speeds[i]);
		if (speeds[i][0])
			ck_assert_ptr_nonnull(strstr(err.msg, "--speed wants a number from 0 to 1000"));
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("args");
	TCase *tc = tcase_create("parse");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, exec_default_shell);
	tcase_add_test(tc, options_end_at_first_non_option);
	tcase_add_test(tc, double_dash_ends_options);
	tcase_add_test(tc, mount_and_unmount);
	tcase_add_test(tc, misuse_is_one_clear_error);
	tcase_add_test(tc, help_and_version_win);
	tcase_add_test(tc, audit_subcommands);
	tcase_add_test(tc, audit_misuse);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
