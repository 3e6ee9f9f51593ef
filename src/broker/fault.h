/* Fault hooks: named steps of a session where a test build of the broker
 * can be made to stop, so that the integration suite's fault matrix
 * (tests-fault.sh) can kill a process or fill a disk at exactly that step.
 *
 * Only in builds configured with -Dfault_hooks=true (the integration
 * suite's own install, tests/integration/lib.sh). In every other build
 * cc_fault_point() is an empty inline function and fault.c is not
 * compiled: a production broker has no hook, reads no control file, and
 * nothing in its environment or argv can make it stop.
 *
 * How a test build stops (fault.c): at step S it reads the build-time file
 * CRASHCART_FAULT_FILE (root's, beside the policy); if that names S, the
 * broker stops itself with raise(SIGSTOP). The test sees the broker in
 * state T (/proc/PID/stat), does its damage, and sends SIGCONT (or
 * SIGKILL). Why this way: a stop is observable from outside without a
 * channel of its own, deterministic (the broker cannot run past the step),
 * and needs no system call the broker's seccomp allowlist lacks: raise()
 * is rt_sigprocmask + getpid/gettid + tgkill, listed for abort() already,
 * and the file is read with openat/read/close like /proc. strace or a
 * seccomp listener would need ptrace rights over a file-capability process
 * (and a second stop mechanism); an environment variable read by a broker
 * with file capabilities is exactly what a production build must never do.
 *
 * The steps (in the order a session passes them):
 *   begin       the mount's begin record is written, nothing attached yet
 *   loop        the loop device is attached (held by the broker's fd)
 *   fsmount     the filesystem is created and mounted detached (an fd)
 *   move_mount  the image is on the container's /dev/crashcart; the broker
 *               is in the container's mount namespace, holding its /dev lock
 *   unmount     the session's end: /dev/crashcart is unmounted, the
 *               directory crashcart made not yet removed (in the
 *               container's mount namespace, holding its /dev lock) */
#pragma once
#include "config.h"

#if CRASHCART_FAULT_HOOKS
void cc_fault_point(const char *step);
#else
static inline void cc_fault_point(const char *step)
{
	(void)step;
}
#endif
