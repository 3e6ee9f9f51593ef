/* -e / --exec-via: the tool runs through the container runtime's own exec
 * (docker exec, podman exec, nerdctl exec, kubectl exec, lxc-attach), with
 * the user's own access to that runtime, so that it gets the container's
 * own user, capabilities and LSM profile. crashcart only mounts the image
 * around it (and unmounts after, which the original tool never did).
 *
 * The runtime's CLI must not run under the worker's seccomp filter: a
 * runner (prefork.h) is forked before the filter is loaded; it waits for
 * the argv and execs it. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "prefork.h"
#include "proto.h"
#include "resolve.h"

int cc_runner_start(struct cc_helper *r, cc_error *err);
/* Sends argv to the runner and waits for it; *out says how it ended. An
 * unused runner is ended with cc_helper_stop. */
int cc_runner_run(struct cc_helper *r, char **argv, struct cc_exit *out, cc_error *err);

/* The runtime's exec command for the claimed container running cmd (NULL
 * or empty: a shell from the image). */
int cc_exec_via_argv(const struct cc_claim *c, char **cmd, bool tty, char ***out, cc_error *err);
