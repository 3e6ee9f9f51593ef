/* The worker's side of the broker conversation: start the broker, then one
 * stub per request (pack, send, expect the reply, unpack), mirroring the
 * broker's dispatch table in src/broker/session.c. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "proto.h"
#include "resolve.h"

#define CC_BROKER_FD 3 /* the broker finds its socket here */

struct cc_broker {
	int sock;
	pid_t pid;
};

/* Spawns the broker at its compiled-in path. Must run before the worker
 * sets NO_NEW_PRIVS or loads a seccomp filter: either would void the
 * broker's file capabilities. */
int cc_broker_spawn(struct cc_broker *b, cc_error *err);
/* Closes the socket (the broker then ends the session: unmounts what this
 * session mounted) and waits for the broker. Returns its exit status. */
int cc_broker_finish(struct cc_broker *b);

int cc_broker_hello(struct cc_broker *b, cc_error *err);
int cc_broker_target(struct cc_broker *b, enum cc_action action, const char *spec,
		     const struct cc_claim *claim, const char *resolve_error, cc_error *err);
/* *tidied: what an earlier session that ended abnormally had left and the
 * broker removed ("" nothing), malloc'd */
int cc_broker_mount(struct cc_broker *b, const char *image, bool persistent,
		    bool *was_mounted, char **source, char **fstype, char **tidied, cc_error *err);
int cc_broker_unmount(struct cc_broker *b, bool force, bool *was_mounted, char **tidied, cc_error *err);
/* -e: tells the broker what the runtime's exec will run (for the record),
 * then how it ended (after which the broker ends the session). */
int cc_broker_exec_via(struct cc_broker *b, char **argv, cc_error *err);
int cc_broker_exec_via_end(struct cc_broker *b, const struct cc_exit *x, cc_error *err);
/* Runs argv (empty: the image's shell) on the caller's stdin/out/err. */
/* Runs argv in the target; the broker relays the worker's stdio to it (a
 * pseudo-terminal with pty). */
int cc_broker_exec(struct cc_broker *b, char **argv, const char *term, bool pty, struct cc_exit *out, cc_error *err);
