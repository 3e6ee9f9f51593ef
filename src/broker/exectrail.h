/* exectrail.c: the programs a recorded session starts, from the kernel. */
#pragma once
#include "record.h"
#include "util.h"

/* Takes one pending exec notification from listener, records it in rec,
 * lets the exec go on. 0, or negative when the listener is unusable. */
int cc_trail_take(int listener, struct cc_rec *rec, cc_error *err);
