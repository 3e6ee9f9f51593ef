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
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
