// The access policy: who may do what, with which image, to which target,
// and which profile the tool gets. One root-owned INI file (inih parses it);
// rules are tried in file order and the FIRST rule that matches everything
// (caller, action, image, target) decides. Nothing matches: denied. For an
// image the broker asks twice: before opening it, without its digest
// (cc_policy_precheck), and after hashing it, with (cc_policy_match).
//
//   [oncall]                      a rule; the section name is its name
//   group = oncall                who: groups and/or users (repeatable)
//   user = alice
//   actions = mount, unmount, exec, exec-via
//   image = /usr/share/crashcart/crashcart.img           (repeatable; glob)
//   image = /srv/img/*.img sha256=<64 hex>                pinned by digest
//   target = *                    any container (never the host)
//   target = cgroup:/docker/*     a glob on the target's cgroup path
//   target = runtime:docker       the resolver's runtime (once verified)
//   target = id:3f2a*             a glob on the container id (once verified)
//   profile = restricted          the operator's ids, no capabilities (default)
//   profile = ptrace              the target's ids, CAP_SYS_PTRACE (own PID ns)
//   profile = netadmin            the operator's ids, CAP_NET_ADMIN, CAP_NET_RAW
//                                 (own PID and network ns)
//   record = all                  record the session: all (default), tty
//                                 (only sessions with a pty), none
//   max_session = 30m             end sessions after this long (s, m, h)
//
//   [audit]
//   sink = file                   file, syslog, journald, auditd (repeatable)
//   require = any                 any: one sink must accept; all: every one
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "util.h"

enum {
	CC_PERM_MOUNT = 1 << 0,
	CC_PERM_UNMOUNT = 1 << 1,
	CC_PERM_EXEC = 1 << 2,
	CC_PERM_EXEC_VIA = 1 << 3,
};

enum cc_profile { CC_PROFILE_RESTRICTED = 0, CC_PROFILE_PTRACE, CC_PROFILE_NETADMIN };
enum cc_record { CC_RECORD_ALL = 0, CC_RECORD_TTY, CC_RECORD_NONE };

enum cc_sink_kind { CC_SINK_FILE = 1 << 0, CC_SINK_SYSLOG = 1 << 1, CC_SINK_JOURNALD = 1 << 2, CC_SINK_AUDITD = 1 << 3 };

struct cc_image_rule {
	char *pattern;
	char sha256[65]; /* "" when not pinned */
};

struct cc_rule {
	char *name;
	char **groups, **users;
	gid_t *gids;           /* groups resolved at load (-1: no such group) */
	unsigned actions;
	struct cc_image_rule *images;
	size_t nimages;
	char **targets;
	enum cc_profile profile;
	bool profile_set;
	enum cc_record record;  /* default: all */
	bool record_set;
	unsigned max_session;   /* seconds; 0: no limit */
};

struct cc_policy {
	struct cc_rule *rules;
	size_t nrules;
	unsigned sinks;        /* CC_SINK_*; default: file */
	bool require_all;
};

/* What a request is, as the broker established it. */
struct cc_facts {
	const char *user;
	const gid_t *gids;     /* primary and supplementary */
	size_t ngids;
	unsigned action;       /* one CC_PERM_* */
	const char *image;     /* path as given (NULL: not part of this request) */
	const char *image_sha256;
	const char *cgroup;    /* /proc/PID/cgroup as the broker read it */
	const char *runtime, *id; /* the resolver's claim, NULL unless verified */
	bool own_pidns;
	bool own_netns;
};

int cc_policy_parse_string(const char *text, const char *origin, struct cc_policy *p, cc_error *err);
int cc_policy_parse_file(FILE *f, const char *origin, struct cc_policy *p, cc_error *err);
/* Opens path and checks that it and every directory above it can be written
 * by root only (a sticky world-writable directory such as /tmp is accepted
 * above a root-owned entry), then parses it. */
int cc_policy_load(const char *path, struct cc_policy *p, cc_error *err);
void cc_policy_free(struct cc_policy *p);

/* The first rule that allows the request, or NULL with the reason in why.
 * A pinned image matches only when f->image_sha256 is its digest. */
const struct cc_rule *cc_policy_match(const struct cc_policy *p, const struct cc_facts *f, char *why, size_t whylen);

/* Stage one of a decision about an image, made before the file is opened:
 * everything but the digest (f->image_sha256 is ignored; a pinned image
 * matches by its path). NULL, with the reason in why, when no rule can
 * allow the request whatever the file holds: it is refused without the
 * image being opened, read or marked. Otherwise the first rule that may
 * allow it; it is not the verdict: stage two is cc_policy_match with the
 * digest, once the image has been opened and hashed. */
const struct cc_rule *cc_policy_precheck(const struct cc_policy *p, const struct cc_facts *f, char *why, size_t whylen);

/* Human-readable summary: what each group and user may do. */
void cc_policy_describe(const struct cc_policy *p, FILE *out);
const char *cc_perm_name(unsigned perm);
const char *cc_record_name(enum cc_record r);
const char *cc_profile_name(enum cc_profile p);
