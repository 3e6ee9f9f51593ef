#include "policy.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <grp.h>
#include <ini.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_RULES 256
#define MAX_LIST 64
#define MAX_POLICY (1 << 20)
/* inih reads a line into a fixed INI_MAX_LINE buffer and parses whatever
 * does not fit as a line of its own: the tail of a long comment would become
 * a rule key. Such lines are refused before inih sees them. */
#define MAX_POLICY_LINE (INI_MAX_LINE - 3)

static const struct {
	const char *name;
	unsigned perm;
} perms[] = {
	{ "mount", CC_PERM_MOUNT },
	{ "unmount", CC_PERM_UNMOUNT },
	{ "exec", CC_PERM_EXEC },
	{ "exec-via", CC_PERM_EXEC_VIA },
};

static const struct {
	const char *name;
	unsigned kind;
} sinks[] = {
	{ "file", CC_SINK_FILE }, { "syslog", CC_SINK_SYSLOG },
	{ "journald", CC_SINK_JOURNALD }, { "auditd", CC_SINK_AUDITD },
};

const char *cc_perm_name(unsigned perm)
{
	for (size_t i = 0; i < ARRAY_SIZE(perms); i++)
		if (perms[i].perm == perm)
			return perms[i].name;
	return "?";
}

struct parse {
	struct cc_policy *p;
	char err[256];
	bool failed;
	int line, err_line; /* the line being parsed; the one of err */
	bool audit_seen;
	char section[80]; /* of the previous key: a new [section] starts when it changes */
};

/* Only the first error is kept: inih reports its line number. */
__attribute__((format(printf, 2, 3))) static int bad(struct parse *ps, const char *fmt, ...)
{
	if (!ps->failed) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(ps->err, sizeof(ps->err), fmt, ap);
		va_end(ap);
		ps->failed = true;
		ps->err_line = ps->line;
	}
	return 0;
}

static int strv_push(char ***v, const char *s)
{
	size_t n = cc_strv_len(*v);
	if (n >= MAX_LIST)
		return -E2BIG;
	char **nv = realloc(*v, (n + 2) * sizeof(char *));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[n] = strdup(s);
	nv[n + 1] = NULL;
	return nv[n] ? 0 : -ENOMEM;
}

static bool is_name(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.' || *s == '$'))
			return false;
	return true;
}

/* "a, b ,c" -> calls fn(word) for each word. */
static int each_word(const char *list, int (*fn)(struct parse *, void *, const char *), struct parse *ps, void *arg)
{
	char buf[512], *save = NULL;
	if (strlen(list) >= sizeof(buf))
		return bad(ps, "list too long");
	strcpy(buf, list);
	int any = 0;
	for (char *w = strtok_r(buf, ", \t", &save); w; w = strtok_r(NULL, ", \t", &save)) {
		if (!fn(ps, arg, w))
			return 0;
		any = 1;
	}
	return any ? 1 : bad(ps, "empty list");
}

static int add_action(struct parse *ps, void *arg, const char *w)
{
	struct cc_rule *r = arg;
	for (size_t i = 0; i < ARRAY_SIZE(perms); i++)
		if (strcmp(w, perms[i].name) == 0) {
			r->actions |= perms[i].perm;
			return 1;
		}
	return bad(ps, "unknown action '%s' (mount, unmount, exec, exec-via)", w);
}

static int add_sink(struct parse *ps, void *arg, const char *w)
{
	(void)arg;
	for (size_t i = 0; i < ARRAY_SIZE(sinks); i++)
		if (strcmp(w, sinks[i].name) == 0) {
			ps->p->sinks |= sinks[i].kind;
			return 1;
		}
	return bad(ps, "unknown audit sink '%s' (file, syslog, journald, auditd)", w);
}

static int add_image(struct parse *ps, struct cc_rule *r, const char *v)
{
	char buf[4200], *sp;
	struct cc_image_rule *im;

	if (strlen(v) >= sizeof(buf))
		return bad(ps, "image path too long");
	strcpy(buf, v);
	if (buf[0] != '/')
		return bad(ps, "image '%s' is not an absolute path", v);
	if (r->nimages >= MAX_LIST)
		return bad(ps, "too many images in one rule");
	im = realloc(r->images, (r->nimages + 1) * sizeof(*im));
	if (!im)
		return bad(ps, "out of memory");
	r->images = im;
	im = &r->images[r->nimages];
	memset(im, 0, sizeof(*im));
	sp = strpbrk(buf, " \t");
	if (sp) {
		*sp++ = '\0';
		sp += strspn(sp, " \t");
		if (strncmp(sp, "sha256=", 7) != 0 || !cc_is_hex64(sp + 7, strlen(sp + 7)))
			return bad(ps, "image pin must be sha256=<64 lowercase hex digits>");
		strcpy(im->sha256, sp + 7);
	}
	im->pattern = strdup(buf);
	if (!im->pattern)
		return bad(ps, "out of memory");
	r->nimages++;
	return 1;
}

static int add_target(struct parse *ps, struct cc_rule *r, const char *v)
{
	if (strcmp(v, "*") != 0 && strncmp(v, "cgroup:/", 8) != 0 && strncmp(v, "runtime:", 8) != 0 &&
	    strncmp(v, "id:", 3) != 0)
		return bad(ps, "target '%s' must be *, cgroup:/PATTERN, runtime:NAME or id:PATTERN", v);
	if ((strncmp(v, "runtime:", 8) == 0 && !v[8]) || (strncmp(v, "id:", 3) == 0 && !v[3]))
		return bad(ps, "target '%s' is empty", v);
	return strv_push(&r->targets, v) < 0 ? bad(ps, "too many targets") : 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *ps = user;
	struct cc_policy *p = ps->p;

	if (!*section)
		return bad(ps, "'%s' outside any [section]", name);
	bool new_section = strcmp(ps->section, section) != 0;
	snprintf(ps->section, sizeof(ps->section), "%s", section);
	if (strcmp(section, "audit") == 0) {
		if (strcmp(name, "sink") == 0) {
			if (!ps->audit_seen)
				p->sinks = 0; /* the file's sinks replace the default */
			ps->audit_seen = true;
			return each_word(value, add_sink, ps, NULL);
		}
		if (strcmp(name, "require") == 0) {
			if (strcmp(value, "any") && strcmp(value, "all"))
				return bad(ps, "require must be any or all");
			p->require_all = strcmp(value, "all") == 0;
			return 1;
		}
		return bad(ps, "unknown key '%s' in [audit]", name);
	}
	if (!is_name(section))
		return bad(ps, "rule name '%s' is not a plain name", section);
	struct cc_rule *r = p->nrules ? &p->rules[p->nrules - 1] : NULL;
	if (!new_section && (!r || strcmp(r->name, section) != 0))
		return 0; /* this section's rule was refused: the error is kept */
	if (new_section) {
		for (size_t i = 0; i < p->nrules; i++)
			if (strcmp(p->rules[i].name, section) == 0)
				return bad(ps, "rule [%s] appears twice", section);
		if (p->nrules >= MAX_RULES)
			return bad(ps, "more than %d rules", MAX_RULES);
		r = realloc(p->rules, (p->nrules + 1) * sizeof(*r));
		if (!r)
			return bad(ps, "out of memory");
		p->rules = r;
		r = &p->rules[p->nrules++];
		memset(r, 0, sizeof(*r));
		r->name = strdup(section);
		if (!r->name)
			return bad(ps, "out of memory");
	}
	if (strcmp(name, "group") == 0 || strcmp(name, "user") == 0) {
		if (!is_name(value))
			return bad(ps, "%s '%s' is not a plain name", name, value);
		return strv_push(name[0] == 'g' ? &r->groups : &r->users, value) < 0 ? bad(ps, "too many %ss", name) : 1;
	}
	if (strcmp(name, "actions") == 0)
		return each_word(value, add_action, ps, r);
	if (strcmp(name, "image") == 0)
		return add_image(ps, r, value);
	if (strcmp(name, "target") == 0)
		return add_target(ps, r, value);
	if (strcmp(name, "profile") == 0) {
		if (r->profile_set)
			return bad(ps, "profile given twice in [%s]", section);
		r->profile_set = true;
		if (strcmp(value, "restricted") == 0)
			r->profile = CC_PROFILE_RESTRICTED;
		else if (strcmp(value, "ptrace") == 0)
			r->profile = CC_PROFILE_PTRACE;
		else if (strcmp(value, "netadmin") == 0)
			r->profile = CC_PROFILE_NETADMIN;
		else if (strcmp(value, "sysadmin") == 0 || strcmp(value, "general") == 0)
			return bad(ps, "profile '%s' is not implemented (restricted, ptrace, netadmin)", value);
		else
			return bad(ps, "unknown profile '%s' (restricted, ptrace, netadmin)", value);
		return 1;
	}
	if (strcmp(name, "record") == 0) {
		static const char *const names[] = { "all", "tty", "none" };
		if (r->record_set)
			return bad(ps, "record given twice in [%s]", section);
		r->record_set = true;
		for (size_t i = 0; i < ARRAY_SIZE(names); i++)
			if (strcmp(value, names[i]) == 0) {
				r->record = (enum cc_record)i;
				return 1;
			}
		return bad(ps, "unknown record '%s' (all, tty, none)", value);
	}
	if (strcmp(name, "max_session") == 0) {
		char *end;
		unsigned long n;
		if (r->max_session)
			return bad(ps, "max_session given twice in [%s]", section);
		errno = 0;
		n = strtoul(value, &end, 10);
		unsigned long unit = !*end ? 1 : strcmp(end, "s") == 0 ? 1 : strcmp(end, "m") == 0 ? 60
				     : strcmp(end, "h") == 0 ? 3600 : 0;
		if (errno || end == value || !unit || n == 0 || value[0] == '-' || n > 7 * 86400 / unit)
			return bad(ps, "max_session '%s' must be a number of s, m or h, at most a week", value);
		r->max_session = (unsigned)(n * unit);
		return 1;
	}
	return bad(ps, "unknown key '%s' in [%s]", name, section);
}

const char *cc_record_name(enum cc_record rec)
{
	switch (rec) {
	case CC_RECORD_ALL: return "all";
	case CC_RECORD_TTY: return "tty";
	case CC_RECORD_NONE: return "none";
	}
	return "?";
}

static int finish(struct parse *ps, int line, const char *origin, cc_error *err)
{
	struct cc_policy *p = ps->p;

	if (line == -1)
		return cc_failx(err, errno ? errno : EIO, "cannot read %s", origin);
	if (line == -2)
		return cc_fail(err, ENOMEM, "out of memory reading %s", origin);
	/* inih reports its first error's line: ours, or a syntax error before */
	if (line > 0)
		return cc_fail(err, EINVAL, "%s:%d: %s", origin, line,
			       ps->failed && ps->err_line == line ? ps->err : "syntax error");
	for (size_t i = 0; i < p->nrules; i++) {
		struct cc_rule *r = &p->rules[i];
		if (!r->groups && !r->users)
			return cc_fail(err, EINVAL, "%s: rule [%s] names no group or user", origin, r->name);
		if (!r->actions)
			return cc_fail(err, EINVAL, "%s: rule [%s] allows no actions", origin, r->name);
		if ((r->actions & (CC_PERM_MOUNT | CC_PERM_EXEC | CC_PERM_EXEC_VIA)) && !r->nimages)
			return cc_fail(err, EINVAL, "%s: rule [%s] mounts but names no image", origin, r->name);
		if (!r->targets)
			return cc_fail(err, EINVAL, "%s: rule [%s] names no target", origin, r->name);
		size_t ng = cc_strv_len(r->groups);
		r->gids = calloc(ng + 1, sizeof(gid_t));
		if (!r->gids)
			return cc_fail(err, ENOMEM, "out of memory");
		for (size_t g = 0; g < ng; g++) {
			struct group *gr = getgrnam(r->groups[g]);
			r->gids[g] = gr ? gr->gr_gid : (gid_t)-1;
		}
	}
	return 0; /* p->sinks is never empty: an empty sink list is refused as it is read */
}

static void init(struct parse *ps, struct cc_policy *p)
{
	memset(p, 0, sizeof(*p));
	memset(ps, 0, sizeof(*ps));
	ps->p = p;
	p->sinks = CC_SINK_FILE;
}

/* Refuses what inih would parse differently from what it says: lines too
 * long for its buffer (their tails become lines of their own) and NUL bytes
 * (everything after one would be ignored). */
static int check_text(const char *text, size_t len, const char *origin, cc_error *err)
{
	size_t line = 1, col = 0;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\0')
			return cc_fail(err, EINVAL, "%s:%zu: a NUL byte", origin, line);
		if (text[i] == '\n') {
			line++;
			col = 0;
		} else if (text[i] != '\r' && ++col > MAX_POLICY_LINE) {
			return cc_fail(err, EINVAL, "%s:%zu: line longer than %d characters", origin, line,
				       MAX_POLICY_LINE);
		}
	}
	return 0;
}

/* inih's string reader, counting lines so that an error is told with its
 * own line (inih calls the handler for a line before reading the next). */
struct reader {
	const char *at;
	struct parse *ps;
};

static char *read_line(char *str, int num, void *stream)
{
	struct reader *rd = stream;
	int n = 0;

	if (!*rd->at || num < 2)
		return NULL;
	while (n < num - 1 && rd->at[n]) {
		str[n] = rd->at[n];
		if (rd->at[n++] == '\n')
			break;
	}
	str[n] = '\0';
	rd->at += n;
	rd->ps->line++;
	return str;
}

/* text holds len bytes and a NUL after them. */
static int parse_text(const char *text, size_t len, const char *origin, struct cc_policy *p, cc_error *err)
{
	struct parse ps;
	init(&ps, p);
	if (check_text(text, len, origin, err) < 0)
		return -EINVAL;
	struct reader rd = { text, &ps };
	int r = finish(&ps, ini_parse_stream(read_line, &rd, handler, &ps), origin, err);
	if (r < 0)
		cc_policy_free(p);
	return r;
}

int cc_policy_parse_string(const char *text, const char *origin, struct cc_policy *p, cc_error *err)
{
	return parse_text(text, strlen(text), origin, p, err);
}

/* Reads at most MAX_POLICY + 1 bytes (one more tells a file too large) into
 * a buffer that grows as the file does: a policy is a few KiB, and taking
 * the whole 1 MiB each time made every read map, fault in and unmap it
 * (most of fuzz_policy's time under ASan). */
int cc_policy_parse_file(FILE *f, const char *origin, struct cc_policy *p, cc_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t n = 0, cap = 0, got;

	memset(p, 0, sizeof(*p));
	errno = 0;
	do {
		if (n == cap) {
			size_t ncap = !cap ? 4096 : cap * 2 < (size_t)MAX_POLICY + 1 ? cap * 2 : (size_t)MAX_POLICY + 1;
			char *t = realloc(text, ncap + 1);
			if (!t)
				return cc_fail(err, ENOMEM, "out of memory reading %s", origin);
			text = t;
			cap = ncap;
		}
		got = fread(text + n, 1, cap - n, f);
		n += got;
	} while (n == cap && cap < (size_t)MAX_POLICY + 1);
	if (ferror(f))
		return cc_failx(err, errno ? errno : EIO, "cannot read %s", origin);
	if (n > MAX_POLICY)
		return cc_fail(err, EFBIG, "%s is larger than %d bytes", origin, MAX_POLICY);
	text[n] = '\0';
	return parse_text(text, n, origin, p, err);
}

/* Writable by someone other than root? A sticky world-writable directory
 * only lets others remove their own entries, so it is safe above a
 * root-owned entry. */
static int check_owner(const char *path, const struct stat *st, bool dir, cc_error *err)
{
	if (st->st_uid != 0)
		return cc_fail(err, EPERM, "policy %s is not owned by root (uid %u): refusing", path, st->st_uid);
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(dir && (st->st_mode & S_ISVTX)))
		return cc_fail(err, EPERM, "policy %s is writable by %s (mode %04o): refusing", path,
			       (st->st_mode & S_IWOTH) ? "others" : "its group", st->st_mode & 07777);
	return 0;
}

int cc_policy_load(const char *path, struct cc_policy *p, cc_error *err)
{
	char dir[4096];
	struct stat st;
	int fd, r;

	memset(p, 0, sizeof(*p));
	if (path[0] != '/' || strlen(path) >= sizeof(dir))
		return cc_fail(err, EINVAL, "policy path '%s' is not absolute", path);
	/* O_NONBLOCK: a FIFO planted at the path must not hang us before the
	 * checks below refuse it (no effect on a regular file). */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return errno == ELOOP ? cc_fail(err, ELOOP, "policy %s is a symlink: refusing", path)
				      : cc_failx(err, errno, "cannot open the policy %s", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		(void)close(fd);
		return cc_fail(err, EINVAL, "policy %s is not a regular file", path);
	}
	r = check_owner(path, &st, false, err);
	strcpy(dir, path);
	for (char *slash = strrchr(dir, '/'); r == 0 && slash; slash = strrchr(dir, '/')) {
		*(slash == dir ? slash + 1 : slash) = '\0';
		if (lstat(dir, &st) < 0) {
			r = cc_failx(err, errno, "cannot check %s", dir);
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			r = cc_fail(err, EPERM, "%s above the policy is not a directory", dir);
			break;
		}
		r = check_owner(dir, &st, true, err);
		if (slash == dir)
			break;
	}
	if (r < 0) {
		(void)close(fd);
		return r;
	}
	FILE *f = fdopen(fd, "r");
	if (!f) {
		(void)close(fd);
		return cc_failx(err, errno, "cannot read the policy %s", path);
	}
	r = cc_policy_parse_file(f, path, p, err);
	fclose(f);
	return r;
}

void cc_policy_free(struct cc_policy *p)
{
	for (size_t i = 0; i < p->nrules; i++) {
		struct cc_rule *r = &p->rules[i];
		free(r->name);
		cc_strv_free(r->groups);
		cc_strv_free(r->users);
		free(r->gids);
		for (size_t k = 0; k < r->nimages; k++)
			free(r->images[k].pattern);
		free(r->images);
		cc_strv_free(r->targets);
	}
	free(p->rules);
	memset(p, 0, sizeof(*p));
}

/* ---- matching ---- */

static bool who_matches(const struct cc_rule *r, const struct cc_facts *f)
{
	for (char **u = r->users; u && *u; u++)
		if (f->user && strcmp(*u, f->user) == 0)
			return true;
	for (size_t g = 0; r->groups && r->groups[g]; g++)
		for (size_t k = 0; k < f->ngids; k++)
			if (r->gids && r->gids[g] != (gid_t)-1 && r->gids[g] == f->gids[k])
				return true;
	return false;
}

/* pins_pending: the digest is not known yet (stage one of the two-stage
 * decision): a pinned image counts as matching by its path alone, the pin
 * is checked once the image has been opened and hashed. */
static bool image_matches(const struct cc_rule *r, const struct cc_facts *f, bool pins_pending)
{
	if (!f->image)
		return true; /* unmount: no image involved */
	for (size_t i = 0; i < r->nimages; i++) {
		const struct cc_image_rule *im = &r->images[i];
		if (fnmatch(im->pattern, f->image, FNM_PATHNAME | FNM_PERIOD) != 0)
			continue;
		if (im->sha256[0] && !pins_pending &&
		    (!f->image_sha256 || strcmp(im->sha256, f->image_sha256) != 0))
			continue;
		return true;
	}
	return false;
}

/* Does any line "N:controllers:/path" of /proc/PID/cgroup match? */
static bool cgroup_matches(const char *pattern, const char *cgroup)
{
	const char *line = cgroup;
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[1024];
		if (len < sizeof(buf)) {
			memcpy(buf, line, len);
			buf[len] = '\0';
			char *path = strchr(buf, ':');
			path = path ? strchr(path + 1, ':') : NULL;
			if (path && fnmatch(pattern, path + 1, 0) == 0)
				return true;
		}
		line = nl ? nl + 1 : NULL;
	}
	return false;
}

static bool target_matches(const struct cc_rule *r, const struct cc_facts *f)
{
	for (char **t = r->targets; t && *t; t++) {
		if (strcmp(*t, "*") == 0)
			return true;
		if (strncmp(*t, "cgroup:", 7) == 0 && f->cgroup && cgroup_matches(*t + 7, f->cgroup))
			return true;
		if (strncmp(*t, "runtime:", 8) == 0 && f->runtime && strcmp(*t + 8, f->runtime) == 0)
			return true;
		if (strncmp(*t, "id:", 3) == 0 && f->id && fnmatch(*t + 3, f->id, 0) == 0)
			return true;
	}
	return false;
}

static const struct cc_rule *match(const struct cc_policy *p, const struct cc_facts *f, bool pins_pending, char *why,
				   size_t whylen)
{
	bool who = false, act = false, img = false, pidns = false;

	for (size_t i = 0; i < p->nrules; i++) {
		const struct cc_rule *r = &p->rules[i];
		if (!who_matches(r, f))
			continue;
		who = true;
		if (!(r->actions & f->action))
			continue;
		act = true;
		if (!image_matches(r, f, pins_pending))
			continue;
		img = true;
		if (!target_matches(r, f))
			continue;
		if (r->profile != CC_PROFILE_RESTRICTED && f->action == CC_PERM_EXEC &&
		    (!f->own_pidns || (r->profile == CC_PROFILE_NETADMIN && !f->own_netns))) {
			/* a profile only where the container has its own PID
			 * namespace (and, for netadmin, network namespace) */
			pidns = true;
			continue;
		}
		return r;
	}
	if (!who)
		snprintf(why, whylen, "no policy rule names user %s or one of its groups", f->user ? f->user : "?");
	else if (!act)
		snprintf(why, whylen, "the policy does not allow %s to %s", f->user, cc_perm_name(f->action));
	else if (!img)
		snprintf(why, whylen, "the policy does not allow image %s", f->image);
	else if (pidns)
		snprintf(why, whylen, "the matching rule's profile needs a target with its own PID namespace "
					  "(netadmin: and network namespace)");
	else
		snprintf(why, whylen, "the policy does not allow %s on this target", cc_perm_name(f->action));
	return NULL;
}

const struct cc_rule *cc_policy_precheck(const struct cc_policy *p, const struct cc_facts *f, char *why, size_t whylen)
{
	return match(p, f, true, why, whylen);
}

const struct cc_rule *cc_policy_match(const struct cc_policy *p, const struct cc_facts *f, char *why, size_t whylen)
{
	return match(p, f, false, why, whylen);
}

void cc_policy_describe(const struct cc_policy *p, FILE *out)
{
	fprintf(out, "rules are tried in this order; the first that matches decides; nothing matches: denied\n");
	for (size_t i = 0; i < p->nrules; i++) {
		const struct cc_rule *r = &p->rules[i];
		fprintf(out, "[%s]\n  who:    ", r->name);
		for (size_t g = 0; r->groups && r->groups[g]; g++)
			fprintf(out, "group %s%s  ", r->groups[g], r->gids && r->gids[g] == (gid_t)-1 ? " (no such group!)" : "");
		for (char **u = r->users; u && *u; u++)
			fprintf(out, "user %s  ", *u);
		fprintf(out, "\n  may:    ");
		for (size_t k = 0; k < ARRAY_SIZE(perms); k++)
			if (r->actions & perms[k].perm)
				fprintf(out, "%s ", perms[k].name);
		fprintf(out, "\n");
		/* patterns are free text (--check-policy reads any file): escaped */
		for (size_t k = 0; k < r->nimages; k++) {
			fputs("  image:  ", out);
			(void)cc_fputs_escaped(r->images[k].pattern, out);
			fprintf(out, "%s%s\n", r->images[k].sha256[0] ? " sha256=" : "", r->images[k].sha256);
		}
		for (char **t = r->targets; t && *t; t++) {
			fputs("  target: ", out);
			(void)cc_fputs_escaped(strcmp(*t, "*") == 0 ? "* (any container; never the host)" : *t, out);
			fputc('\n', out);
		}
		fprintf(out, "  tool:   %s\n",
			r->profile == CC_PROFILE_PTRACE ? "ptrace (the target process's uid, gids and groups, CAP_SYS_PTRACE; "
							  "only in containers with their own PID namespace)"
			: r->profile == CC_PROFILE_NETADMIN ? "netadmin (CAP_NET_ADMIN, CAP_NET_RAW; only in containers with "
							      "their own PID and network namespaces)"
							    : "restricted (no capabilities)");
		fprintf(out, "  record: %s\n", r->record == CC_RECORD_ALL ? "all (every session: input, output, programs run)"
					       : r->record == CC_RECORD_TTY ? "tty (sessions with a terminal)" : "none");
		if (r->max_session)
			fprintf(out, "  limit:  sessions end after %u s\n", r->max_session);
	}
	fprintf(out, "[audit]\n  sinks:  ");
	for (size_t k = 0; k < ARRAY_SIZE(sinks); k++)
		if (p->sinks & sinks[k].kind)
			fprintf(out, "%s ", sinks[k].name);
	fprintf(out, "(%s must accept each record)\n", p->require_all ? "every one" : "at least one");
}

const char *cc_profile_name(enum cc_profile p)
{
	switch (p) {
	case CC_PROFILE_RESTRICTED:
		return "restricted";
	case CC_PROFILE_PTRACE:
		return "ptrace";
	case CC_PROFILE_NETADMIN:
		return "netadmin";
	}
	return "?";
}
