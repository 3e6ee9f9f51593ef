/* relay.c: the session's stdio, made by the broker and copied through it. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "record.h"
#include "util.h"

struct cc_msg;

enum cc_relay_chan {
	CC_CH_IN,   /* operator's stdin -> the tool (pty master or pipe) */
	CC_CH_PTY,  /* the pty master -> the operator's terminal */
	CC_CH_OUT,  /* the tool's stdout pipe -> the operator's stdout */
	CC_CH_ERR,  /* the tool's stderr pipe -> the operator's stderr */
	CC_RELAY_NCHAN
};

struct cc_relay {
	int op[3];          /* the operator's stdin, stdout, stderr (the worker's; never the tool's) */
	int tty;            /* the first of op[] that is a terminal, or -1 */
	bool pty;
	int master;         /* the tool's pty, or -1 */
	int pipe[3];        /* our ends of the tool's pipes, or -1 */
	int sigfd;          /* SIGWINCH while relaying a pty */
	const char *ended_by; /* why the session was ended early, or NULL */
	bool violation;     /* the worker sent a request while the tool ran */
	uint64_t bytes[CC_RELAY_NCHAN];
	struct cc_rec *rec;   /* the session's recording, or NULL */
	struct cc_rec_carry carry[CC_RELAY_NCHAN];
	unsigned cols, rows;  /* the tool's window size, as last set */
	unsigned limit_s;     /* the policy's max_session, 0: none */
	int trail;            /* the exec trail's seccomp listener (LAUNCH_TRAIL), or -1 */
};

/* Makes the tool's stdio: with pty, a fresh pseudo-terminal (its slave on
 * the tool's stdin and on each of stdout/stderr the operator has at a
 * terminal; *ctty is then true), pipes for the rest. tool[] gets the
 * tool's ends (the caller passes them to the launcher and closes them). */
int cc_relay_open(struct cc_relay *r, const int op[3], bool pty, int tool[3], bool *ctty, cc_error *err);
/* Copies until the launcher reports (LAUNCH_DONE into *done, or its error),
 * then drains what the tool wrote. A hang-up of the operator's terminal or
 * of the worker asks the launcher to end the session (r->ended_by says
 * which). */
int cc_relay_run(struct cc_relay *r, int worker_sock, int launcher_sock, struct cc_msg *done, cc_error *err);
/* The operator's window size onto the tool's terminal (recorded when it
 * changes). */
void cc_relay_resize(struct cc_relay *r);
void cc_relay_close(struct cc_relay *r);
