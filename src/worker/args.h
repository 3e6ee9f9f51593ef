/* Command line of crashcart. Parsing stops at the first non-option, so that
 * `crashcart PID tcpdump -i eth0` passes `-i eth0` to tcpdump. */
#pragma once
#include <stdbool.h>
#include <stdio.h>

#include "util.h"

/* audit verify: the files of one rotated log (logrotate's "rotate 52" and
 * the current one fit many times over) */
#define CC_AUDIT_FILES_MAX 1000

enum cc_mode {
	CC_MODE_EXEC = 0, /* crashcart ID [CMD ARG...] */
	CC_MODE_MOUNT,    /* -m ID */
	CC_MODE_UNMOUNT,  /* -u ID */
	CC_MODE_HELP,
	CC_MODE_VERSION,
	CC_MODE_LIST,          /* --list [--json]: the containers the resolver sees */
	CC_MODE_CHECK_POLICY,  /* --check-policy [FILE] */
	CC_MODE_AUDIT_VERIFY,  /* audit verify FILE... [--sessions DIR] */
	CC_MODE_AUDIT_SHOW,    /* audit show FILE [--sessions DIR] */
	CC_MODE_AUDIT_REPLAY,  /* audit replay SESSION [--speed N] [--commands] [--log FILE] [--force] [--sessions DIR] */
	CC_MODE_AUDIT_LINK,    /* audit link ROTATED [--log FILE] (logrotate's postrotate) */
};

struct cc_args {
	enum cc_mode mode;
	const char *image;  /* -i PATH, or the build-time default */
	int verbose;        /* -v, repeatable */
	bool exec_via;      /* -e: through the runtime's own exec */
	bool json;          /* --json (with --list) */
	int tty;            /* -t: 1 (a pty even without a terminal), -T: 0 (never), else -1: when stdin is a terminal */
	const char *target; /* ID; the FILE of --check-policy and audit; audit replay's SESSION */
	char **cmd;         /* CMD ARG... (points into argv; NULL-terminated; may be empty) */
	/* audit */
	const char *sessions; /* --sessions DIR, or the build-time session directory */
	const char *files[CC_AUDIT_FILES_MAX]; /* audit verify FILE...: files[0] == target */
	size_t nfiles;
	const char *log;      /* replay/link --log FILE, or the build-time audit log */
	bool log_given;
	double speed;         /* replay --speed N (default 1; 0: no delays) */
	bool commands;        /* replay --commands */
	bool force;           /* replay --force; -u --force: detach even while in use */
};

int cc_parse_args(int argc, char **argv, struct cc_args *a, cc_error *err);
void cc_usage(FILE *f);
