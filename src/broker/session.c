/* The broker's request dispatch. One row per request type: which handler,
 * what must have happened before (hello, target, mount), whether it may come
 * only once, and for which session actions it is allowed. A request that does
 * not fit its row is a protocol violation and ends the broker: the worker is
 * under the user's control, so anything unexpected is hostile. */
#include "session.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "caps.h"
#include "config.h"
#include "fault.h"
#include "json.h"
#include "relay.h"

enum {
	NEED_HELLO = 1 << 0,
	NEED_TARGET = 1 << 1,
	NEED_MOUNT = 1 << 2,
	ONCE = 1 << 3,
	NEED_EXEC_VIA = 1 << 4,
};
#define ACT(a) (1u << (a))
#define ANY_ACTION (ACT(CC_ACT_MOUNT) | ACT(CC_ACT_UNMOUNT) | ACT(CC_ACT_EXEC) | ACT(CC_ACT_EXEC_VIA))

typedef int (*handler_fn)(struct session *s, struct cc_msg *req, struct cc_msg *rep, cc_error *err);

struct row {
	uint16_t type;
	handler_fn fn;
	unsigned flags;
	unsigned actions; /* session actions this request is allowed for */
	uint16_t reply;
};

static const char *action_name(uint32_t a)
{
	switch (a) {
	case CC_ACT_MOUNT: return "mount";
	case CC_ACT_UNMOUNT: return "unmount";
	case CC_ACT_EXEC: return "exec";
	case CC_ACT_EXEC_VIA: return "exec-via";
	default: return "unknown";
	}
}

/* ---- audit records ----
 * Every operation: a "begin" record before acting (no record, no action),
 * an "end" record with the result after. Every refusal: one "refused"
 * record. Each carries who, the target as the broker verified it next to
 * the worker's claim, and the image.
 *
 * Every record is in the file (one write(2) under the lock) before what it
 * announces happens; not every record is fsynced on its own. A session's
 * records are made durable in two groups: before anything that can outlive
 * a crash of the host (the tool starts: exec begin; the runtime's exec:
 * exec-via begin), and at the end of the request (the last record before
 * the reply). A mount, a loop device, /dev/crashcart and an unmount are
 * kernel state that a crash undoes as well, so their records may wait for
 * the next group (defer_sync); a refusal is synced at once. */

struct record {
	struct cc_json j;
	struct cc_audit_summary sum;
};

static void rec_start(struct session *s, struct record *rc, const char *event, const char *phase)
{
	struct timespec ts;
	struct tm tm;
	char when[64];
	struct cc_json *j = &rc->j;

	rc->sum = (struct cc_audit_summary){ .event = event, .phase = phase, .result = "" };
	clock_gettime(CLOCK_REALTIME, &ts);
	if (strcmp(phase, "begin") == 0)
		s->began = ts;
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	cc_json_init(j);
	cc_json_open(j, NULL);
	cc_json_str(j, "ts", when);
	if (strcmp(phase, "end") == 0)
		cc_json_u64(j, "duration_ms", (uint64_t)((ts.tv_sec - s->began.tv_sec) * 1000 +
							 (ts.tv_nsec - s->began.tv_nsec) / 1000000));
	cc_json_str(j, "session", cc_audit_session());
	cc_json_u64(j, "seq", ++s->audit_seq);
	cc_json_str(j, "event", event);
	cc_json_str(j, "phase", phase);
	cc_json_u64(j, "uid", s->caller.uid);
	cc_json_str(j, "user", s->caller.user);
	cc_json_u64(j, "gid", s->caller.gid);
	cc_json_open_array(j, "groups");
	for (int i = 0; i < s->caller.ngroups; i++)
		cc_json_u64(j, NULL, s->caller.groups[i]);
	cc_json_close_array(j);
	cc_json_str(j, "loginuid", s->caller.loginuid);
	cc_json_str(j, "audit_session", s->caller.sessionid);
	cc_json_str(j, "tty", s->caller.tty);
	if (s->spec) {
		cc_json_open(j, "target");
		cc_json_str(j, "spec", s->spec);
		cc_json_u64(j, "pid", s->have_target ? (uint64_t)s->pin.pid : s->claimed_pid);
		if (s->have_target) {
			cc_json_u64(j, "start_time", s->pin.start_time);
			cc_json_open(j, "ns");
			for (int i = 0; i < s->pin.nns; i++)
				cc_json_u64(j, s->pin.ns[i].name, s->pin.ns[i].ino);
			cc_json_close(j);
			cc_json_str(j, "cgroup", s->pin.cgroup);
			cc_json_bool(j, "claim_verified", s->claim_verified);
		}
		cc_json_open(j, "claim");
		cc_json_str(j, "runtime", s->claim_runtime);
		cc_json_str(j, "id", s->claim_id);
		cc_json_str(j, "name", s->claim_name);
		cc_json_close(j);
		cc_json_close(j);
	}
	if (s->image_path[0]) {
		cc_json_str(j, "image", s->image_path);
		if (s->image_sha256[0])
			cc_json_str(j, "image_sha256", s->image_sha256);
	}
	if (s->rule)
		cc_json_str(j, "rule", s->rule->name);
}

/* Closes and offers the record to the sinks. result: NULL for a begin
 * record, else "ok", "error" or "refused" (with e). */
static int rec_write(struct record *rc, const char *result, const cc_error *e, cc_error *err)
{
	int r;
	if (result) {
		rc->sum.result = result;
		cc_json_str(&rc->j, "result", result);
	}
	if (e) {
		cc_json_u64(&rc->j, "errno", (uint64_t)e->code);
		cc_json_str(&rc->j, "error", e->msg);
	}
	cc_json_close(&rc->j);
	r = cc_audit_write(&rc->j, &rc->sum, err);
	cc_json_free(&rc->j);
	return r;
}

/* argv, bounded, so that a record always fits a line the chain can follow. */
static void record_argv(struct record *rc, char **argv)
{
	size_t total = 0, i = 0;
	cc_json_open_array(&rc->j, "argv");
	for (char **a = argv; a && *a; a++, i++) {
		if (i >= 64 || total > 8192) {
			cc_json_str(&rc->j, NULL, "...");
			break;
		}
		char part[512];
		snprintf(part, sizeof(part), "%s", *a);
		total += strlen(part);
		cc_json_str(&rc->j, NULL, part);
	}
	cc_json_close_array(&rc->j);
}

/* How a tool ended, and who says so (the launcher saw it; the worker's
 * word is all there is for -e). */
static void record_exit(struct record *rc, const struct cc_exit *x, const char *reported_by)
{
	static const char *const kinds[] = { "", "exited", "signaled", "exec-failed", "lost" };
	cc_json_open(&rc->j, "exit");
	cc_json_str(&rc->j, "kind", x->kind < ARRAY_SIZE(kinds) ? kinds[x->kind] : "?");
	cc_json_u64(&rc->j, "value", x->value);
	cc_json_str(&rc->j, "reported_by", reported_by);
	cc_json_close(&rc->j);
}

/* A failure found by a check while acting is a refusal, not an error: a
 * symlink planted in the container (ELOOP, ENOTDIR), another filesystem in
 * the way (EEXIST), a /dev that is not the container's own tmpfs (EXDEV), a
 * lock the container holds (EAGAIN), a kernel feature that is missing
 * (EOPNOTSUPP). */
static const char *result_of(int r, const cc_error *e)
{
	if (r == 0)
		return "ok";
	switch (e->code) {
	case ELOOP: case ENOTDIR: case EEXIST: case EXDEV: case EAGAIN: case EOPNOTSUPP:
		return "refused";
	default:
		return "error";
	}
}

/* The end record of an operation that returned r (err holds its error). A
 * failure to record the end of a successful operation is reported too. */
static int rec_end(struct record *rc, int r, cc_error *err)
{
	cc_error aerr = { 0 };
	int a = rec_write(rc, result_of(r, err), r < 0 ? err : NULL, &aerr);
	if (r < 0)
		return r;
	if (a < 0)
		*err = aerr;
	return a;
}

/* A refusal: one record, then the error goes back to the worker. If even
 * the record cannot be written, the reply says so too. */
static int refuse(struct session *s, const char *event, cc_error *e)
{
	struct record rc;
	cc_error aerr = { 0 };

	rec_start(s, &rc, event, "refused");
	if (rec_write(&rc, "refused", e, &aerr) < 0) {
		char old[sizeof(e->msg)];
		memcpy(old, e->msg, sizeof(old));
		snprintf(e->msg, sizeof(e->msg), "%.300s (and the refusal could not be recorded: %.300s)", old, aerr.msg);
	}
	return -e->code;
}

/* ---- checks against the caller ---- */

/* Does the cgroup path the broker read name the claimed container? The
 * id must stand as a whole word of a path component ("/docker/ID",
 * "docker-ID.scope", "lxc.payload.NAME"); systemd escapes '-' in unit
 * names, so that form counts as well. */
static bool id_in(const char *cgroup, const char *id)
{
	size_t n = strlen(id);
	for (const char *p = cgroup; n && (p = strstr(p, id)); p++) {
		char before = p == cgroup ? '/' : p[-1], after = p[n];
		if ((before == '/' || before == '-' || before == '.') &&
		    (after == '/' || after == '.' || after == '\n' || after == '\0'))
			return true;
	}
	return false;
}

static bool claim_matches(const char *cgroup, const char *runtime, const char *id)
{
	char esc[512];
	size_t o = 0;

	if (strcmp(runtime, "pid") == 0 || !runtime[0])
		return true; /* a bare PID claims nothing more */
	if (!id[0] || strlen(id) > 200)
		return false;
	if (id_in(cgroup, id))
		return true;
	for (const char *p = id; *p && o + 5 < sizeof(esc); p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		    *p == ':' || (*p == '.' && p != id))
			esc[o++] = *p;
		else
			o += (size_t)snprintf(esc + o, sizeof(esc) - o, "\\x%02x", (unsigned char)*p);
	}
	esc[o] = '\0';
	/* ns/id (containerd): the id part is what the cgroup path names */
	const char *slash = strrchr(id, '/');
	return id_in(cgroup, esc) || (slash && id_in(cgroup, slash + 1));
}

/* What the policy is asked about the image: nothing (unmount), its path
 * alone before the file is opened, or its path and digest once hashed. */
enum image_facts { NO_IMAGE, IMAGE_PATH, IMAGE_DIGEST };

/* The policy's verdict for this session's target and action. With
 * IMAGE_PATH only a refusal is final (no rule can allow it, whatever the
 * file holds); s->rule is set by the full verdict alone. */
static int allowed(struct session *s, unsigned perm, enum image_facts facts, cc_error *err)
{
	bool with_image = facts != NO_IMAGE;
	gid_t gids[257];
	size_t ng = 0;
	char why[300];

	if (!s->policy_loaded)
		return cc_fail(err, EPERM, "no policy loaded");
	gids[ng++] = s->caller.gid;
	for (int i = 0; i < s->caller.ngroups && ng < ARRAY_SIZE(gids); i++)
		gids[ng++] = s->caller.groups[i];
	struct cc_facts f = {
		.user = s->caller.user,
		.gids = gids,
		.ngids = ng,
		.action = perm,
		.image = with_image ? s->image_path : NULL,
		.image_sha256 = with_image ? s->image_sha256 : NULL,
		.cgroup = s->pin.cgroup,
		.runtime = s->claim_verified ? s->claim_runtime : NULL,
		.id = s->claim_verified ? s->claim_id : NULL,
		.own_pidns = s->pin.own_pidns,
		.own_netns = cc_pin_own_netns(&s->pin),
	};
	const struct cc_rule *rule = facts == IMAGE_PATH ? cc_policy_precheck(&s->policy, &f, why, sizeof(why))
							 : cc_policy_match(&s->policy, &f, why, sizeof(why));
	if (!rule)
		return cc_fail(err, EPERM, "not allowed: %s (policy %s)", why, CRASHCART_POLICY);
	if (facts != IMAGE_PATH)
		s->rule = rule;
	return 0;
}

/* ---- handlers ---- */

static int do_hello(struct session *s, struct cc_msg *req, struct cc_msg *rep, cc_error *err)
{
	if (req->u.hello.version != CC_PROTO_VERSION)
		return cc_fail(err, EPROTO, "worker speaks protocol %u, broker %u", req->u.hello.version,
			       CC_PROTO_VERSION);
	s->hello = true;
	rep->u.hello.version = CC_PROTO_VERSION;
	return 0;
}

static char *dup_or_empty(const char *v)
{
	return strdup(v ? v : "");
}

static int do_target(struct session *s, struct cc_msg *req, struct cc_msg *rep, cc_error *err)
{
	struct cc_target *t = &req->u.target;
	const char *event = action_name(t->action);

	s->action = t->action;
	s->spec = dup_or_empty(t->spec);
	s->claim_runtime = dup_or_empty(t->runtime);
	s->claim_id = dup_or_empty(t->id);
	s->claim_name = dup_or_empty(t->name);
	s->claimed_pid = t->pid;
	if (!s->spec || !s->claim_runtime || !s->claim_id || !s->claim_name)
		return cc_fail(err, ENOMEM, "out of memory");
	if (t->action < CC_ACT_MOUNT || t->action > CC_ACT_EXEC_VIA) {
		s->action = 0; /* no row allows anything in such a session */
		cc_fail(err, EINVAL, "unknown action %u", t->action);
		return refuse(s, event, err);
	}

	if (s->startup_failed) {
		*err = s->startup;
		return refuse(s, event, err);
	}
	if (t->pid == 0) {
		cc_fail(err, ENOENT, "cannot resolve '%s': %s", t->spec,
			t->resolve_error[0] ? t->resolve_error : "unknown target");
		return refuse(s, event, err);
	}
	if (cc_target_pin(&s->pin, (pid_t)t->pid, t->start_time, s->host_mntns, s->caller.uid, err) < 0)
		return refuse(s, event, err);
	s->have_target = true;
	/* The worker's answer is a claim: what it says must be what we see. */
	s->claim_verified = claim_matches(s->pin.cgroup, s->claim_runtime, s->claim_id);
	if (!s->claim_verified) {
		cc_fail(err, EPERM, "the resolver's claim does not hold: the cgroup of PID %d does not name %s container '%s'",
			s->pin.pid, s->claim_runtime, s->claim_id);
		return refuse(s, event, err);
	}
	rep->u.target_ok.pid = (uint32_t)s->pin.pid;
	rep->u.target_ok.start_time = s->pin.start_time;
	rep->u.target_ok.cgroup = s->pin.cgroup;
	return 0;
}

static int do_mount(struct session *s, struct cc_msg *req, struct cc_msg *rep, cc_error *err)
{
	const char *path = req->u.mount.image;
	bool persistent = req->u.mount.flags & CC_MOUNT_PERSISTENT;
	struct cc_loop lo = { .fd = -1 };
	struct record rc;
	int r;

	if (req->u.mount.flags & ~CC_MOUNT_PERSISTENT)
		return cc_fail(err, EINVAL, "unknown mount flags %#x", req->u.mount.flags);
	if (strlen(path) >= sizeof(s->image_path) || path[0] == '\0') {
		cc_fail(err, ENAMETOOLONG, "invalid image path");
		return refuse(s, "mount", err);
	}
	strcpy(s->image_path, path);
	if (path[0] != '/') {
		/* (the policy's patterns are absolute: say why before it does) */
		cc_fail(err, EINVAL, "image path '%s' is not absolute", path);
		return refuse(s, "mount", err);
	}
	/* An exec session's mount is part of the exec: it needs "exec" (or
	 * "exec-via"), not "mount". */
	unsigned perm = s->action == CC_ACT_EXEC ? CC_PERM_EXEC
			: s->action == CC_ACT_EXEC_VIA ? CC_PERM_EXEC_VIA : CC_PERM_MOUNT;
	/* The policy decides first: a path no rule allows is refused before
	 * the file is opened, read, or given the digest xattr (with
	 * CAP_SYS_ADMIN). Opening is not harmless: a FIFO's writer, a device's
	 * driver or a file's atime sees it. */
	if (allowed(s, perm, IMAGE_PATH, err) < 0)
		return refuse(s, "mount", err);
	if (cc_image_open(path, &s->img, err) < 0)
		return refuse(s, "mount", err);
	/* Hashed for every mount the path stage allowed, not only for pins:
	 * the records name the image by its digest (cached, see image.c). */
	if (cc_image_sha256(&s->img, s->image_sha256, err) < 0)
		return refuse(s, "mount", err);
	if (allowed(s, perm, IMAGE_DIGEST, err) < 0)
		return refuse(s, "mount", err);
	/* An exec's profile must fit the target before anything is attached
	 * (do_exec's cc_profile_plan comes after this mount). */
	if (s->action == CC_ACT_EXEC && cc_profile_fits_target(s->rule->profile, &s->pin, s->rule->name, err) < 0)
		return refuse(s, "mount", err);
	/* A tool needs the devices cgroup (devcg.c): said before anything is
	 * attached, not after the mount. */
	if (s->action == CC_ACT_EXEC && !s->devcg_ok) {
		*err = s->devcg_err;
		return refuse(s, "mount", err);
	}
	/* Before anything is attached: /dev must be the container's own tmpfs
	 * (mount.c checks again on the fd it writes through). */
	int devfd = cc_mount_dev_open(&s->pin, err);
	if (devfd < 0)
		return refuse(s, "mount", err);
	cc_trace_take(&s->pin, devfd, &s->trace_before);
	(void)close(devfd);
	/* Fail closed: a session the policy wants recorded starts only once
	 * its recording exists, before anything is attached or mounted. */
	if (s->action != CC_ACT_MOUNT && s->rule->record != CC_RECORD_NONE) {
		if (s->action == CC_ACT_EXEC_VIA) {
			cc_fail(err, EPERM,
				"rule [%s] records sessions (record = %s), and -e goes through the runtime's own exec, "
				"which crashcart cannot record: run without -e, or under a rule with record = none",
				s->rule->name, cc_record_name(s->rule->record));
			return refuse(s, "mount", err);
		}
		if (cc_rec_open(&s->rec, cc_audit_session(), err) < 0)
			return refuse(s, "mount", err);
	}
	if (s->devdir < 0) {
		s->devdir = cc_devdir_open(err);
		if (s->devdir < 0)
			return refuse(s, "mount", err);
	}

	rec_start(s, &rc, "mount", "begin");
	cc_json_bool(&rc.j, "persistent", persistent);
	rc.sum.defer_sync = true; /* a mount does not outlive a crash: synced with the next group */
	r = rec_write(&rc, NULL, NULL, err);
	if (r < 0)
		return r; /* no record, no mount */
	cc_fault_point("begin");

	r = cc_loop_attach(s->devdir, &s->img, path, &lo, err);
	if (r == 0)
		cc_fault_point("loop");
	if (r == 0)
		r = cc_mount_into(&s->pin, s->host_mntns_fd, s->devdir, &s->img, &lo, persistent, &s->ms, err);
	/* The mount holds the loop device now (or, on failure, nothing does and
	 * autoclear frees it as we close our fd). */
	cc_loop_release(&lo);

	if (r == 0 && s->ms.was_mounted)
		cc_trace_free(&s->trace_before); /* not the first mount: no "before" of ours */
	rec_start(s, &rc, "mount", "end");
	if (r == 0) {
		s->mounted = true;
		snprintf(s->source, sizeof(s->source), "%s", lo.source);
		cc_json_str(&rc.j, "source", lo.source);
		cc_json_str(&rc.j, "fstype", s->img.fstype);
		cc_json_bool(&rc.j, "loop_reused", lo.reused);
		cc_json_bool(&rc.j, "already_mounted", s->ms.was_mounted);
		cc_json_bool(&rc.j, "persistent", s->ms.persistent);
	}
	if (s->ms.tidied[0])
		cc_json_str(&rc.j, "tidied", s->ms.tidied);
	/* An exec session's exec (or exec-via) begin record, synced, comes
	 * before its tool runs; a mount on its own is synced now. */
	rc.sum.defer_sync = r == 0 && s->action != CC_ACT_MOUNT;
	r = rec_end(&rc, r, err);
	if (r < 0 && !s->mounted)
		cc_rec_discard(&s->rec); /* no session: no recording either */
	if (r < 0)
		return r; /* failed, or mounted without a record of it: say so */
	rep->u.mount_ok.was_mounted = s->ms.was_mounted;
	rep->u.mount_ok.source = s->source;
	rep->u.mount_ok.fstype = s->img.fstype;
	rep->u.mount_ok.tidied = s->ms.tidied;
	return 0;
}

static int unmount_record(struct session *s, bool explicit_request, bool force, bool *unmounted, char *tidied,
			  size_t tidied_len, cc_error *err)
{
	struct record rc;
	int r;

	rec_start(s, &rc, "unmount", "begin");
	cc_json_str(&rc.j, "reason", explicit_request ? "request" : "session end");
	if (explicit_request)
		cc_json_bool(&rc.j, "force", force);
	rc.sum.defer_sync = true; /* synced with the end record */
	r = rec_write(&rc, NULL, NULL, err);
	if (r < 0)
		return r;
	r = cc_unmount_from(&s->pin, s->host_mntns_fd, explicit_request, force, unmounted, tidied, tidied_len, err);
	rec_start(s, &rc, "unmount", "end");
	cc_json_bool(&rc.j, "unmounted", *unmounted);
	if (tidied[0])
		cc_json_str(&rc.j, "tidied", tidied);
	if (r == 0 && s->trace_before.taken) {
		/* this session mounted first and is the last to leave: what is
		 * left of it, on record */
		struct cc_trace after = { 0 };
		cc_error ignored;
		int devfd = cc_mount_dev_open(&s->pin, &ignored);
		if (devfd >= 0) {
			cc_trace_take(&s->pin, devfd, &after);
			(void)close(devfd);
		}
		cc_trace_json(&rc.j, &s->trace_before, &after);
		cc_trace_free(&after);
	}
	return rec_end(&rc, r, err);
}

static int do_unmount(struct session *s, struct cc_msg *req, struct cc_msg *rep, cc_error *err)
{
	bool unmounted = false;
	int r;

	if (req->u.unmount.flags & ~CC_UNMOUNT_FORCE)
		return cc_fail(err, EINVAL, "unknown unmount flags %#x", req->u.unmount.flags);
	if (allowed(s, CC_PERM_UNMOUNT, NO_IMAGE, err) < 0)
		return refuse(s, "unmount", err);
	r = unmount_record(s, true, (req->u.unmount.flags & CC_UNMOUNT_FORCE) != 0, &unmounted, s->ms.tidied,
			   sizeof(s->ms.tidied), err);
	if (r < 0)
		return r;
	rep->u.unmount_ok.was_mounted = unmounted;
	rep->u.unmount_ok.tidied = s->ms.tidied;
	return 0;
}

/* TERM goes into the container's environment: a plain name or nothing. */
static const char *sane_term(const char *t)
{
	if (!t || !*t || strlen(t) > 64)
		return "dumb";
	for (const char *p = t; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.' || *p == '+'))
			return "dumb";
	return t;
}

/* What the prompt shows: the target as the operator typed it (docker://web,
 * ns/pod/ctr) and the operator's own name, which the container's
 * /etc/passwd does not know (bash's \\u says "I have no name!"). Both go
 * into PS1, which a shell expands: only characters that mean nothing there
 * pass, the rest become '_'. */
static void prompt_word(const char *in, char *out, size_t len)
{
	size_t n = 0;
	for (const char *p = in ? in : ""; *p && n + 1 < len; p++)
		out[n++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
				   *p == '-' || *p == '_' || *p == '.' || *p == ':' || *p == '/' ? *p : '_';
	out[n] = '\0';
}

/* The tool's environment: nothing of the container's configures the
 * toolbox. PATH is the image's only (a bare command name is looked up
 * there, launcher.c), HOME is a directory of the image (so ~/.bashrc,
 * ~/.gdbinit, ~/.vimrc, ~/.inputrc are the image's, not ones the container
 * planted in its /), readline reads the image's inputrc, and no history is
 * written into the container. */
static void tool_env(struct session *s, const char *term, char *buf, size_t len, char **envp)
{
	char name[65], user[33];
	size_t o = 0;
	int n = 0;

	prompt_word(s->spec, name, sizeof(name));
	prompt_word(s->caller.user, user, sizeof(user));
#define ENV(...) do { envp[n++] = buf + o; o += (size_t)snprintf(buf + o, len - o, __VA_ARGS__) + 1; } while (0)
	/* one PATH, the image's; .crashcartrc keeps it as it is */
	ENV("PATH=/dev/crashcart/bin:/dev/crashcart/sbin");
	ENV("HOME=%s", cc_image_has(s->ms.pinfd, "home") ? "/dev/crashcart/home" : "/dev/crashcart");
	ENV("INPUTRC=/dev/crashcart/etc/inputrc");
	ENV("HISTFILE=");
	ENV("LESSHISTFILE=-");
	/* paths compiled too short to point into the image (image/README.md) */
	ENV("SHELL=%s", cc_image_has(s->ms.pinfd, "bin/bash") ? "/dev/crashcart/bin/bash" : "/dev/crashcart/bin/sh");
	ENV("OPENSSL_CONF=/dev/crashcart/usr/lib/ssl/openssl.cnf");
	ENV("LOCPATH=/dev/crashcart/usr/lib/locale");
	ENV("TERM=%s", sane_term(term));
	ENV("PS1=[crashcart %s@%s \\W]\\$ ", user, name);
	ENV("CRASHCART_TARGET=%s", name);
	ENV("CRASHCART_USER=%s", user);
	/* for the image's perf and bpftrace wrappers: why a refusal happened */
	ENV("CRASHCART_PROFILE=%s", cc_profile_name(s->rule ? s->rule->profile : CC_PROFILE_RESTRICTED));
#undef ENV
	envp[n] = NULL;
}

static int do_exec(struct session *s, struct cc_msg *req, struct cc_msg *rep, cc_error *err)
{
	static char *bash_argv[] = { "/dev/crashcart/bin/bash", "--rcfile", "/dev/crashcart/.crashcartrc", "-i", NULL };
	static char *sh_argv[] = { "/dev/crashcart/bin/sh", NULL };
	char **argv = req->u.exec.argv;
	char envbuf[1024], *envp[20];
	struct cc_msg launch = { .type = CC_MSG_LAUNCH }, done = { 0 };
	struct cc_relay relay;
	int tool[3];
	bool pty = req->u.exec.flags & CC_EXEC_PTY, ctty;
	struct record rc;
	int r;

	if (!argv || !argv[0]) {
		bool bash = cc_image_has(s->ms.pinfd, "bin/bash") && cc_image_has(s->ms.pinfd, ".crashcartrc");
		argv = bash ? bash_argv : sh_argv;
	}
	if (!argv[0][0]) {
		cc_fail(err, EINVAL, "empty command name");
		return refuse(s, "exec", err);
	}
	if (req->u.exec.flags & ~CC_EXEC_PTY) {
		cc_fail(err, EINVAL, "unknown exec flags %#x", req->u.exec.flags);
		return refuse(s, "exec", err);
	}
	/* (the devices cgroup: refused at the mount, before anything is
	 * attached; an exec comes only after its session's mount: NEED_MOUNT) */
	tool_env(s, req->u.exec.term, envbuf, sizeof(envbuf), envp);

	/* The profile comes from the rule that allowed this session's exec
	 * (profile.c: the tool's identity and capabilities). */
	struct cc_profile_plan plan;
	if (cc_profile_plan(s->rule ? s->rule->profile : CC_PROFILE_RESTRICTED, &s->pin, &plan, err) < 0)
		return refuse(s, "exec", err);

	/* The tool's stdio is ours (a pty or pipes), never the operator's. */
	if (cc_relay_open(&relay, req->fds, pty, tool, &ctty, err) < 0)
		return refuse(s, "exec", err);
	if (s->rule && s->rule->record == CC_RECORD_TTY && !pty)
		cc_rec_discard(&s->rec); /* record = tty: this one has no terminal */
	if (s->rec.fd >= 0) {
		relay.rec = &s->rec;
		cc_rec_header(&s->rec, relay.cols, relay.rows, sane_term(req->u.exec.term), s->spec, pty);
	}
	relay.limit_s = s->rule ? s->rule->max_session : 0;

	rec_start(s, &rc, "exec", "begin");
	record_argv(&rc, argv);
	cc_json_str(&rc.j, "profile", cc_profile_name(plan.profile));
	char capnames[200];
	cc_json_str(&rc.j, "tool_caps", cc_profile_tool_caps(&plan, capnames, sizeof(capnames)));
	if (plan.creds[0])
		cc_json_str(&rc.j, "tool_ids", plan.creds); /* ruid euid suid rgid egid sgid groups... */
	cc_json_bool(&rc.j, "pty", pty);
	if (s->rec.fd >= 0) {
		cc_json_open(&rc.j, "recording");
		cc_json_str(&rc.j, "file", s->rec.file);
		cc_json_close(&rc.j);
	}
	if (relay.limit_s)
		cc_json_u64(&rc.j, "max_session_s", relay.limit_s);
	r = rec_write(&rc, NULL, NULL, err);
	if (r < 0) {
		for (int i = 0; i < 3; i++)
			(void)close(tool[i]);
		cc_relay_close(&relay);
		cc_rec_discard(&s->rec);
		return r;
	}

	launch.u.launch = (struct cc_launch){
		.nsflags = (uint32_t)s->pin.nsflags,
		.keep_caps = plan.tool_caps,
		.argv = argv,
		.envp = envp,
		.flags = (ctty ? CC_LAUNCH_CTTY : 0) | (s->rec.fd >= 0 ? CC_LAUNCH_TRAIL : 0) | plan.launch_flags,
		.creds = plan.creds,
	};
	launch.fds[0] = s->pin.pidfd;
	memcpy(&launch.fds[1], tool, sizeof(tool));
	launch.nfds = 4;
	launch.seq = 1;
	r = cc_msg_send(s->launcher_sock, &launch, err);
	if (r == -EPIPE || r == -ECONNRESET)
		r = cc_fail(err, EPIPE, "the broker's launcher is gone (killed?): the tool was not started");
	for (int i = 0; i < 3; i++)
		(void)close(tool[i]); /* the launcher has them now */
	if (r == 0)
		r = cc_relay_run(&relay, s->sock, s->launcher_sock, &done, err);
	cc_relay_close(&relay);
	/* One exec a session (ONCE): the launcher's part is over, whatever
	 * happened. Its socket closed now, it exits while the records are
	 * written and the worker hears back, not after (main.c reaps it). */
	(void)close(s->launcher_sock);
	s->launcher_sock = -1;
	if (r == 0)
		rep->u.exit = (struct cc_exit){ done.u.exit.kind, done.u.exit.value, 0 };
	bool violation = r == 0 && relay.violation;

	rec_start(s, &rc, "exec", "end");
	if (r == 0) {
		record_exit(&rc, &done.u.exit, "launcher");
		cc_json_u64(&rc.j, "session_processes_ended", done.u.exit.ended);
	}
	if (relay.ended_by)
		cc_json_str(&rc.j, "ended_by", relay.ended_by);
	cc_json_open(&rc.j, "bytes");
	cc_json_u64(&rc.j, "in", relay.bytes[CC_CH_IN]);
	cc_json_u64(&rc.j, "out", relay.bytes[CC_CH_PTY] + relay.bytes[CC_CH_OUT]);
	cc_json_u64(&rc.j, "err", relay.bytes[CC_CH_ERR]);
	cc_json_close(&rc.j);
	char rec_sha[65] = "";
	if (s->rec.fd >= 0) {
		bool broke = s->rec.failed;
		/* one wait for the recording and the records where the
		 * journal orders them (audit.c), else the recording's fsync
		 * first: the end record is written after it either way */
		int rr = cc_rec_close(&s->rec, rec_sha, cc_audit_commits_with(s->rec.fd));
		cc_json_open(&rc.j, "recording");
		cc_json_str(&rc.j, "file", s->rec.file);
		cc_json_u64(&rc.j, "bytes", s->rec.bytes);
		cc_json_str(&rc.j, "sha256", rec_sha);
		cc_json_u64(&rc.j, "execs", s->rec.execs);
		if (rr < 0 || broke)
			cc_json_str(&rc.j, "error", s->rec.error);
		cc_json_close(&rc.j);
		rc.sum.recording_sha256 = rec_sha;
	}
	if (violation)
		r = cc_fail(err, EPROTO, "a request came while the tool ran: the session was ended");
	else if (r == 0 && s->rec.error[0])
		r = cc_fail(err, EIO, "%s", s->rec.error); /* fail closed: the session was ended */
	/* The tool has run: a missing end record cannot undo that, and the
	 * begin record is there; the worker still gets the exit status (but
	 * for a violation or a broken recording, the error). */
	rc.sum.defer_sync = true; /* synced with the unmount's end record, or below */
	(void)rec_write(&rc, result_of(r, err), r == 0 ? NULL : err, &(cc_error){ 0 });
	/* The tool has ended: the session's mount goes now, before the worker
	 * hears back, so that "crashcart returned" means "cleaned up". */
	cc_session_end(s);
	/* Nothing deferred is left unsynced when the worker hears back (an
	 * image mounted before, -m, has no unmount records to carry it). */
	(void)cc_audit_sync(&(cc_error){ 0 });
	return r;
}

/* -e: the worker runs the runtime's own exec with the user's own access to
 * the runtime; the broker only holds the mount and keeps the record. The
 * end (exit status) is the worker's report and recorded as such. */
static int do_exec_via(struct session *s, struct cc_msg *req, struct cc_msg *rep, cc_error *err)
{
	struct record rc;
	(void)rep;
	if (!req->u.exec_via.argv || !req->u.exec_via.argv[0]) {
		cc_fail(err, EINVAL, "empty command");
		return refuse(s, "exec-via", err);
	}
	rec_start(s, &rc, "exec-via", "begin");
	record_argv(&rc, req->u.exec_via.argv);
	s->exec_via_started = true;
	return rec_write(&rc, NULL, NULL, err);
}

static int do_exec_via_end(struct session *s, struct cc_msg *req, struct cc_msg *rep, cc_error *err)
{
	struct record rc;
	(void)rep;
	rec_start(s, &rc, "exec-via", "end");
	record_exit(&rc, &req->u.exit, "worker");
	rc.sum.defer_sync = true; /* synced below, with the unmount's records */
	(void)rec_write(&rc, "ok", NULL, err);
	cc_session_end(s);
	(void)cc_audit_sync(&(cc_error){ 0 });
	return 0;
}

static const struct row rows[] = {
	{ CC_MSG_HELLO, do_hello, ONCE, ANY_ACTION, CC_MSG_HELLO_OK },
	{ CC_MSG_TARGET, do_target, NEED_HELLO | ONCE, ANY_ACTION, CC_MSG_TARGET_OK },
	{ CC_MSG_MOUNT, do_mount, NEED_HELLO | NEED_TARGET | ONCE,
	  ACT(CC_ACT_MOUNT) | ACT(CC_ACT_EXEC) | ACT(CC_ACT_EXEC_VIA), CC_MSG_MOUNT_OK },
	{ CC_MSG_UNMOUNT, do_unmount, NEED_HELLO | NEED_TARGET | ONCE, ACT(CC_ACT_UNMOUNT), CC_MSG_UNMOUNT_OK },
	{ CC_MSG_EXEC, do_exec, NEED_HELLO | NEED_TARGET | NEED_MOUNT | ONCE, ACT(CC_ACT_EXEC), CC_MSG_EXEC_DONE },
	{ CC_MSG_EXEC_VIA, do_exec_via, NEED_HELLO | NEED_TARGET | NEED_MOUNT | ONCE, ACT(CC_ACT_EXEC_VIA),
	  CC_MSG_EXEC_VIA_OK },
	{ CC_MSG_EXEC_VIA_END, do_exec_via_end, NEED_HELLO | NEED_TARGET | NEED_MOUNT | NEED_EXEC_VIA | ONCE,
	  ACT(CC_ACT_EXEC_VIA), CC_MSG_EXEC_VIA_END_OK },
};

void cc_session_init(struct session *s, int sock)
{
	memset(s, 0, sizeof(*s));
	s->sock = sock;
	s->devdir = -1;
	s->host_mntns_fd = -1;
	s->launcher_sock = -1;
	s->pin.pidfd = s->pin.procfd = -1;
	s->img.fd = -1;
	s->ms.pinfd = -1;
	cc_rec_init(&s->rec);
}

void cc_session_end(struct session *s)
{
	cc_error err = { 0 };
	bool unmounted = false;

	if (s->rec.fd >= 0 && !s->rec.started)
		cc_rec_discard(&s->rec); /* mounted for a tool that never ran */
	if (!s->mounted || s->ended)
		return;
	s->ended = true;
	cc_closep(&s->ms.pinfd);
	s->ms.pinfd = -1;
	if (s->ms.persistent)
		return;
	char tidied[sizeof(s->ms.tidied)];
	(void)unmount_record(s, false, false, &unmounted, tidied, sizeof(tidied), &err);
}

/* Returns 1 to go on, 0 at the end of the session, negative when the
 * broker must stop (protocol violation). */
int cc_session_step(struct session *s)
{
	struct cc_msg req, rep;
	cc_error err = { 0 };
	const struct row *row = NULL;
	int r = cc_msg_recv(s->sock, &req, &err);

	/* (ECONNRESET: the worker went away with a reply unread, killed: a
	 * hang-up, not a malformed request) */
	if (r == 0 || r == -ECONNRESET)
		return 0;
	if (r < 0)
		goto violation;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		if (rows[i].type == req.type)
			row = &rows[i];
	if (!row) {
		cc_fail(&err, EPROTO, "unexpected request %s", cc_msg_name(req.type));
		goto violation;
	}
	unsigned bit = 1u << (row - rows);
	if ((row->flags & ONCE) && (s->seen & bit)) {
		cc_fail(&err, EPROTO, "%s sent twice", cc_msg_name(req.type));
		goto violation;
	}
	if (((row->flags & NEED_HELLO) && !s->hello) || ((row->flags & NEED_TARGET) && !s->have_target) ||
	    ((row->flags & NEED_MOUNT) && !s->mounted) || ((row->flags & NEED_EXEC_VIA) && !s->exec_via_started)) {
		cc_fail(&err, EPROTO, "%s out of order", cc_msg_name(req.type));
		goto violation;
	}
	/* before TARGET there is no action yet; only HELLO and TARGET get here */
	if (s->action && !(row->actions & ACT(s->action))) {
		cc_fail(&err, EPROTO, "%s not allowed in a %s session", cc_msg_name(req.type), action_name(s->action));
		goto violation;
	}
	s->seen |= bit;
	memset(&rep, 0, sizeof(rep));
	rep.type = row->reply;
	rep.seq = req.seq;
	r = row->fn(s, &req, &rep, &err);
	if (r < 0)
		r = cc_reply_error(s->sock, req.seq, &err, &err);
	else
		r = cc_msg_send(s->sock, &rep, &err);
	cc_msg_clear(&req);
	/* After a refused TARGET every later request is out of order: the
	 * worker can only hang up. */
	return r < 0 ? r : 1;

violation:
	cc_msg_clear(&req);
	{
		cc_error rec = err;
		(void)refuse(s, "protocol", &rec);
	}
	fprintf(stderr, "crashcart-broker: protocol violation: %s\n", err.msg);
	return -EPROTO;
}
