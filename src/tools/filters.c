/* crashcart-filters: prints the compiled seccomp filters in libseccomp's
 * readable PFC form, so that a reviewer can check what the lists in
 * policy/ turned into on this architecture. Not installed: the broker
 * itself takes nothing from argv. `ninja -C BUILD seccomp-pfc` writes
 * policy-{worker,broker,tool}.pfc into the build directory.
 *   usage: crashcart-filters worker|broker|tool|tool_ptrace [FILE]    (default: stdout)
 *
 * At build time it also writes the BPF programs the installed binaries load
 * (seccomp.c), so that they need no libseccomp at run time:
 *          crashcart-filters --c-header seccomp-bpf.h */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "seccomp.h"

int main(int argc, char **argv)
{
	static const enum cc_filter all[] = { CC_FILTER_WORKER, CC_FILTER_BROKER, CC_FILTER_TOOL, CC_FILTER_TOOL_PTRACE };
	cc_error err = { 0 };
	int fd = STDOUT_FILENO;

	if (argc == 3 && strcmp(argv[1], "--c-header") == 0) {
		fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			perror(argv[2]);
			return 1;
		}
		if (cc_seccomp_write_c_header(fd, &err) < 0) {
			fprintf(stderr, "%s: %s\n", argv[0], err.msg);
			(void)unlink(argv[2]);
			return 1;
		}
		return 0;
	}
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s worker|broker|tool|tool_ptrace [FILE]\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		if (strcmp(argv[1], cc_seccomp_name(all[i])) != 0)
			continue;
		if (argc == 3) {
			fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (fd < 0) {
				perror(argv[2]);
				return 1;
			}
		}
		/* tool_ptrace is a %variant of the tool's list */
		dprintf(fd, "# crashcart %s filter: %d syscalls named in policy/seccomp-%.*s.list\n", argv[1],
			cc_seccomp_count(all[i]), (int)strcspn(argv[1], "_"), argv[1]);
		if (cc_seccomp_export_pfc(all[i], fd, &err) < 0) {
			fprintf(stderr, "%s: %s\n", argv[0], err.msg);
			return 1;
		}
		return fd == STDOUT_FILENO || close(fd) == 0 ? 0 : 1;
	}
	fprintf(stderr, "%s: no filter '%s' (worker, broker, tool, tool_ptrace)\n", argv[0], argv[1]);
	return 2;
}
