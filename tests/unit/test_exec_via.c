/* -e: the runtime's own exec command line built for each runtime
 * (src/worker/exec_via.c). Docker's (which first checks the caller's access
 * to the daemon's socket) is tested end to end in tests-runtimes.sh. */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "exec_via.h"

#define IMAGE_PATH "PATH=/dev/crashcart/bin:/dev/crashcart/sbin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static struct cc_claim claim(const char *runtime, const char *id, const char *name)
{
	struct cc_claim c;
	memset(&c, 0, sizeof(c));
	c.pid = 4242;
	snprintf(c.runtime, sizeof(c.runtime), "%s", runtime);
	snprintf(c.id, sizeof(c.id), "%s", id);
	snprintf(c.name, sizeof(c.name), "%s", name);
	return c;
}

/* argv must be exactly the NULL-terminated list that follows */
static void argv_is(char **argv, ...)
{
	va_list ap;
	size_t i = 0;
	const char *want;

	va_start(ap, argv);
	while ((want = va_arg(ap, const char *)) != NULL) {
		ck_assert_msg(argv[i] != NULL, "argv ends at %zu, want '%s'", i, want);
		ck_assert_msg(strcmp(argv[i], want) == 0, "argv[%zu] is '%s', want '%s'", i, argv[i], want);
		i++;
	}
	va_end(ap);
	ck_assert_msg(argv[i] == NULL, "argv[%zu] is '%s', want the end", i, argv[i]);
	cc_strv_free(argv);
}

static char *cmd[] = { "ps", "-ef", NULL };

START_TEST(podman)
{
	struct cc_claim c = claim("podman", "0123abcd", "db");
	char **v;
	cc_error e = { 0 };
	ck_assert_int_eq(cc_exec_via_argv(&c, cmd, false, &v, &e), 0);
	argv_is(v, "podman", "exec", "-i", "-e", IMAGE_PATH, "0123abcd", "ps", "-ef", NULL);
	ck_assert_int_eq(cc_exec_via_argv(&c, cmd, true, &v, &e), 0);
	argv_is(v, "podman", "exec", "-i", "-t", "-e", IMAGE_PATH, "0123abcd", "ps", "-ef", NULL);
}
END_TEST

START_TEST(nerdctl)
{
	char **v;
	cc_error e = { 0 };
	/* containerd's NAMESPACE/ID: the namespace is nerdctl's -n */
	struct cc_claim c = claim("containerd", "feed01", "k8s.io/web");
	ck_assert_int_eq(cc_exec_via_argv(&c, cmd, false, &v, &e), 0);
	argv_is(v, "nerdctl", "-n", "k8s.io", "exec", "-i", "-e", IMAGE_PATH, "web", "ps", "-ef", NULL);
	ck_assert_int_eq(cc_exec_via_argv(&c, cmd, true, &v, &e), 0);
	argv_is(v, "nerdctl", "-n", "k8s.io", "exec", "-i", "-t", "-e", IMAGE_PATH, "web", "ps", "-ef", NULL);
	/* no namespace known: nerdctl's default, by id */
	c = claim("containerd", "feed01", "");
	ck_assert_int_eq(cc_exec_via_argv(&c, cmd, false, &v, &e), 0);
	argv_is(v, "nerdctl", "exec", "-i", "-e", IMAGE_PATH, "feed01", "ps", "-ef", NULL);
}
END_TEST

START_TEST(kubectl)
{
	char **v;
	cc_error e = { 0 };
	/* a Kubernetes NAMESPACE/POD/CONTAINER, on containerd or CRI-O */
	static const char *const rts[] = { "containerd", "cri-o" };
	for (size_t i = 0; i < 2; i++) {
		struct cc_claim c = claim(rts[i], "feed02", "prod/web-7d9/app");
		ck_assert_int_eq(cc_exec_via_argv(&c, cmd, false, &v, &e), 0);
		argv_is(v, "kubectl", "exec", "-i", "-n", "prod", "web-7d9", "-c", "app", "--", "ps", "-ef", NULL);
		ck_assert_int_eq(cc_exec_via_argv(&c, cmd, true, &v, &e), 0);
		argv_is(v, "kubectl", "exec", "-i", "-t", "-n", "prod", "web-7d9", "-c", "app", "--", "ps", "-ef", NULL);
	}
	/* CRI-O without a pod name has no exec of its own here */
	struct cc_claim c = claim("cri-o", "feed03", "");
	ck_assert_int_eq(cc_exec_via_argv(&c, cmd, false, &v, &e), -ENOTSUP);
}
END_TEST

START_TEST(lxc_attach)
{
	char **v;
	cc_error e = { 0 };
	/* by name (LXC's id is the name; a differing one shows which is used) */
	struct cc_claim c = claim("lxc", "web-id", "web");
	ck_assert_int_eq(cc_exec_via_argv(&c, cmd, false, &v, &e), 0);
	argv_is(v, "lxc-attach", "-n", "web", "--", "ps", "-ef", NULL);
	/* a terminal changes nothing: lxc-attach gives the container's own */
	ck_assert_int_eq(cc_exec_via_argv(&c, cmd, true, &v, &e), 0);
	argv_is(v, "lxc-attach", "-n", "web", "--", "ps", "-ef", NULL);
	c = claim("lxc", "web2", "");
	ck_assert_int_eq(cc_exec_via_argv(&c, cmd, false, &v, &e), 0);
	argv_is(v, "lxc-attach", "-n", "web2", "--", "ps", "-ef", NULL);
}
END_TEST

START_TEST(default_command_is_the_images_shell)
{
	char **v;
	cc_error e = { 0 };
	char *none[] = { NULL };
	struct cc_claim c = claim("lxc", "web", "web");
	ck_assert_int_eq(cc_exec_via_argv(&c, none, true, &v, &e), 0);
	ck_assert_str_eq(v[4], "/dev/crashcart/bin/sh");
	ck_assert_str_eq(v[5], "-c");
	ck_assert_ptr_nonnull(strstr(v[6], "exec /dev/crashcart/bin/sh -i"));
	ck_assert_ptr_null(v[7]);
	cc_strv_free(v);
}
END_TEST

START_TEST(no_exec_of_its_own)
{
	char **v = NULL;
	cc_error e = { 0 };
	static const char *const rts[] = { "pid", "runc", "machine", "" };
	for (size_t i = 0; i < 4; i++) {
		struct cc_claim c = claim(rts[i], "x", "x");
		ck_assert_int_eq(cc_exec_via_argv(&c, cmd, false, &v, &e), -ENOTSUP);
		ck_assert_ptr_null(v);
		ck_assert_ptr_nonnull(strstr(e.msg, "-e needs a container of a runtime with its own exec"));
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("exec_via");
	TCase *tc = tcase_create("argv");
	tcase_add_test(tc, podman);
	tcase_add_test(tc, nerdctl);
	tcase_add_test(tc, kubectl);
	tcase_add_test(tc, lxc_attach);
	tcase_add_test(tc, default_command_is_the_images_shell);
	tcase_add_test(tc, no_exec_of_its_own);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
