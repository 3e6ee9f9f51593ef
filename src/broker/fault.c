/* Fault hooks of a test build (-Dfault_hooks=true only): see fault.h. */
#include "fault.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>

#include "util.h"

void cc_fault_point(const char *step)
{
	char want[64];

	if (cc_read_file_at(AT_FDCWD, CRASHCART_FAULT_FILE, want, sizeof(want)) < 0)
		return;
	want[strcspn(want, " \n")] = '\0';
	if (strcmp(want, step) == 0)
		(void)raise(SIGSTOP);
}
