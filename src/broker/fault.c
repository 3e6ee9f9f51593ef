/* Fault hooks of a test build (-Dfault_hooks=true only): see fault.h. */
#include "fault.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>

#include "util.h"

void cc_fault_point(const char *step)
{
	/* The file's directory, opened at the first step (begin, loop and
	 * fsmount run in the host's mount namespace): move_mount runs in the
	 * container's, where the host's path names nothing. */
	static int dirfd = -1;
	char dir[sizeof(CRASHCART_FAULT_FILE)], want[64];
	const char *base = strrchr(CRASHCART_FAULT_FILE, '/') + 1;

	if (dirfd < 0) {
		memcpy(dir, CRASHCART_FAULT_FILE, (size_t)(base - CRASHCART_FAULT_FILE));
		dir[base - CRASHCART_FAULT_FILE] = '\0';
		dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	if (dirfd < 0 || cc_read_file_at(dirfd, base, want, sizeof(want)) < 0)
		return;
	want[strcspn(want, " \n")] = '\0';
	if (strcmp(want, step) == 0)
		(void)raise(SIGSTOP);
}
