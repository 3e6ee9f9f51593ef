/* dropcaps PROG [ARG...]: empty this process's permitted, effective,
 * inheritable and ambient sets, then exec PROG. Copied into a container for
 * tests-profiles.sh: the same tool with the same ids, without the
 * capability a profile keeps, to show that the capability is needed. */
#include <linux/capability.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
	if (argc < 2) {
		fprintf(stderr, "usage: dropcaps PROG [ARG...]\n");
		return 2;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 || syscall(SYS_capset, &h, d) < 0) {
		perror("dropcaps");
		return 1;
	}
	execv(argv[1], argv + 1);
	perror("dropcaps: exec");
	return 127;
}
