/* crashcart audit verify|show|replay: read the audit log and the session
 * recordings (no broker: they read only what the caller may read). */
#pragma once
#include "args.h"
#include "util.h"

/* The exit status (0; 1: something does not verify), or negative with err
 * set (crashcart's own failure: 125). */
int cc_audit_command(const struct cc_args *a, cc_error *err);
