/* The operator's terminal while a tool runs in a pseudo-terminal of its own. */
#pragma once
#include "util.h"

/* Raw mode on stdin's terminal: every key (^C, ^Z, ^D, ^S) goes to the
 * tool's terminal, whose own line discipline acts on it. Restored by
 * cc_term_restore, at exit, and on the signals that end the worker. */
int cc_term_raw(cc_error *err);
void cc_term_restore(void);
