/* Running a runtime's CLI for name resolution (`podman container inspect`)
 * from a process that is not under the worker's seccomp filter: a Go
 * program needs far more than the worker should be allowed. The spawner (a
 * prefork.h helper) is forked before the filter; the worker sends it an argv
 * and gets back the bounded output and exit status. The output is parsed
 * by the worker, under its filter, as before. */
#pragma once
#include <stddef.h>

#include "util.h"

/* Fork the spawner (before cc_seccomp_load). Without it, cc_spawn_bounded
 * runs the command in-process (unit tests). */
int cc_spawner_start(cc_error *err);
void cc_spawner_stop(void);
/* No spawner for this run (the target is a live PID: nothing to look up by
 * name); cc_spawn_bounded then fails instead of running the CLI under the
 * worker's filter (it would be killed). */
void cc_spawner_skip(void);

/* Run bin with argv, stdin /dev/null, stdout (at most max bytes) into a
 * malloc'd *out, the start of stderr into errbuf. Returns the exit status
 * (>= 0), or a negative errno (err set) on failure, timeout or overflow. */
int cc_spawn_bounded(const char *bin, char *const argv[], char **out, size_t *outlen, size_t max, char *errbuf,
		     size_t errmax, cc_error *err);
/* The in-process version (resolve_podman.c). */
int cc_run_bounded(const char *bin, char *const argv[], char **out, size_t *outlen, size_t max, char *errbuf,
		   size_t errmax, cc_error *err);
