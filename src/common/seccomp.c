/* NOT IMPLEMENTED YET: no filter is loaded; cc_seccomp_load succeeds
 * without doing anything so that the call sites are in place. */
#include "seccomp.h"

int cc_seccomp_load(enum cc_filter which, cc_error *err)
{
	(void)which;
	(void)err;
	return 0;
}

int cc_seccomp_export_pfc(enum cc_filter which, int fd, cc_error *err)
{
	(void)which;
	(void)fd;
	return cc_fail(err, ENOSYS, "seccomp filters are not implemented yet");
}
