/* Helper processes the worker forks BEFORE it loads its seccomp filter, for
 * the runtimes' own CLIs, which need far more than the worker is allowed:
 * the -e runner (exec_via.c) and the name-lookup spawner (spawner.c). Each
 * keeps only the terminal and a stream socket to the worker; an argv goes
 * over that socket NUL-separated. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

#include "util.h"

#define CC_ARGV_BYTES (64 * 1024)

struct cc_helper {
	pid_t pid;
	int fd; /* the worker's end */
};

#define CC_HELPER_INIT { .pid = -1, .fd = -1 }

/* Forks; the child closes every fd but 0-2 and its socket end, then runs
 * serve(fd), which must not return. */
int cc_helper_start(struct cc_helper *h, void (*serve)(int fd), cc_error *err);
/* Closes the worker's end (the helper sees EOF) and waits for it. */
void cc_helper_stop(struct cc_helper *h);

/* argv as NUL-separated bytes into buf; the length, or -E2BIG. */
ssize_t cc_argv_pack(char *const argv[], char *buf, size_t cap);
/* Back: pointers into buf (which must end in NUL), at most max-1 of them
 * and a NULL; the count, or -EINVAL. */
int cc_argv_unpack(char *buf, size_t len, char **argv, size_t max);
