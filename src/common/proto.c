#include "proto.h"

#include <endian.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fdpass.h"

/* Each message type is a row: its name, how many fds it carries, and its
 * fields in wire order. The generic encoder/decoder below walk these rows,
 * so there is one place to read to know what a frame may contain. */
enum field_kind { F_END = 0, F_U32, F_U64, F_STR, F_STRV };

struct field {
	enum field_kind kind;
	size_t offset; /* into struct cc_msg */
};

/* Room for the longest message (TARGET, 8 fields) plus its F_END marker:
 * every walk below stops at F_END, so the marker must always fit. */
#define MAX_FIELDS 8
struct spec {
	const char *name;
	size_t nfds;
	struct field fields[MAX_FIELDS + 1];
};

/* Bounded by the array too, so a row that fills every slot cannot walk
 * into the next one. */
#define FOR_EACH_FIELD(f, s) \
	for (const struct field *f = (s)->fields; \
	     f < (s)->fields + ARRAY_SIZE((s)->fields) && f->kind != F_END; f++)

#define U32(f)  { F_U32, offsetof(struct cc_msg, u.f) }
#define U64(f)  { F_U64, offsetof(struct cc_msg, u.f) }
#define STR(f)  { F_STR, offsetof(struct cc_msg, u.f) }
#define STRV(f) { F_STRV, offsetof(struct cc_msg, u.f) }

static const struct spec specs[CC_MSG_TYPE_MAX] = {
	[CC_MSG_ERROR] = { "ERROR", 0, { U32(error.code), STR(error.message) } },
	[CC_MSG_HELLO] = { "HELLO", 0, { U32(hello.version) } },
	[CC_MSG_HELLO_OK] = { "HELLO_OK", 0, { U32(hello.version) } },
	[CC_MSG_TARGET] = { "TARGET", 0, {
		U32(target.action), U32(target.pid), U64(target.start_time),
		STR(target.spec), STR(target.runtime), STR(target.id),
		STR(target.name), STR(target.resolve_error) } },
	[CC_MSG_TARGET_OK] = { "TARGET_OK", 0, {
		U32(target_ok.pid), U64(target_ok.start_time), STR(target_ok.cgroup) } },
	[CC_MSG_MOUNT] = { "MOUNT", 0, { STR(mount.image), U32(mount.flags) } },
	[CC_MSG_MOUNT_OK] = { "MOUNT_OK", 0, {
		U32(mount_ok.was_mounted), STR(mount_ok.source), STR(mount_ok.fstype), STR(mount_ok.tidied) } },
	[CC_MSG_UNMOUNT] = { "UNMOUNT", 0, { U32(unmount.flags) } },
	[CC_MSG_UNMOUNT_OK] = { "UNMOUNT_OK", 0, { U32(unmount_ok.was_mounted), STR(unmount_ok.tidied) } },
	[CC_MSG_EXEC] = { "EXEC", 3, { STRV(exec.argv), STR(exec.term), U32(exec.flags) } },
	[CC_MSG_EXEC_DONE] = { "EXEC_DONE", 0, { U32(exit.kind), U32(exit.value) } },
	[CC_MSG_LAUNCH] = { "LAUNCH", 4, {
		U32(launch.nsflags), U64(launch.keep_caps), STRV(launch.argv), STRV(launch.envp),
		U32(launch.flags), STR(launch.creds) } },
	[CC_MSG_LAUNCH_DONE] = { "LAUNCH_DONE", 0, { U32(exit.kind), U32(exit.value), U32(exit.ended) } },
	[CC_MSG_EXEC_VIA] = { "EXEC_VIA", 0, { STRV(exec_via.argv) } },
	[CC_MSG_EXEC_VIA_OK] = { "EXEC_VIA_OK", 0, { { F_END, 0 } } },
	[CC_MSG_EXEC_VIA_END] = { "EXEC_VIA_END", 0, { U32(exit.kind), U32(exit.value) } },
	[CC_MSG_EXEC_VIA_END_OK] = { "EXEC_VIA_END_OK", 0, { { F_END, 0 } } },
	[CC_MSG_LAUNCH_END] = { "LAUNCH_END", 0, { { F_END, 0 } } },
	[CC_MSG_LAUNCH_TRAIL] = { "LAUNCH_TRAIL", 1, { { F_END, 0 } } },
};

static const struct spec *spec_of(unsigned type)
{
	if (type == CC_MSG_NONE || type >= CC_MSG_TYPE_MAX || !specs[type].name)
		return NULL;
	return &specs[type];
}

const char *cc_msg_name(unsigned type)
{
	const struct spec *s = spec_of(type);
	return s ? s->name : "UNKNOWN";
}

size_t cc_msg_nfds(unsigned type)
{
	const struct spec *s = spec_of(type);
	return s ? s->nfds : 0;
}

/* ---- encoding ---- */

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int err;
};

static void put(struct wbuf *w, const void *src, size_t n)
{
	if (w->err)
		return;
	if (n > w->cap - w->len) {
		w->err = -EMSGSIZE;
		return;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void put_u16(struct wbuf *w, uint16_t v) { v = htole16(v); put(w, &v, 2); }
static void put_u32(struct wbuf *w, uint32_t v) { v = htole32(v); put(w, &v, 4); }
static void put_u64(struct wbuf *w, uint64_t v) { v = htole64(v); put(w, &v, 8); }

static void put_str(struct wbuf *w, const char *s)
{
	size_t n;
	if (!s) {
		w->err = w->err ? w->err : -EINVAL;
		return;
	}
	n = strlen(s);
	if (n > CC_STR_MAX) {
		w->err = w->err ? w->err : -EMSGSIZE;
		return;
	}
	put_u32(w, (uint32_t)n);
	put(w, s, n);
}

int cc_msg_encode(const struct cc_msg *m, uint8_t *buf, size_t cap)
{
	const struct spec *s = spec_of(m->type);
	struct wbuf w = { .p = buf, .cap = cap < CC_MSG_MAX ? cap : CC_MSG_MAX };

	if (!s)
		return -EINVAL;
	put_u32(&w, 0); /* length, patched below */
	put_u16(&w, CC_PROTO_VERSION);
	put_u16(&w, m->type);
	put_u32(&w, m->seq);
	FOR_EACH_FIELD(f, s) {
		const char *base = (const char *)m + f->offset;
		switch (f->kind) {
		case F_U32: put_u32(&w, *(const uint32_t *)(const void *)base); break;
		case F_U64: put_u64(&w, *(const uint64_t *)(const void *)base); break;
		case F_STR: put_str(&w, *(char *const *)(const void *)base); break;
		case F_STRV: {
			char *const *v = *(char **const *)(const void *)base;
			size_t n = cc_strv_len(v);
			if (n > CC_STRV_MAX) {
				w.err = w.err ? w.err : -EMSGSIZE;
				break;
			}
			put_u32(&w, (uint32_t)n);
			for (size_t i = 0; i < n; i++)
				put_str(&w, v[i]);
			break;
		}
		case F_END: break;
		}
	}
	if (w.err)
		return w.err;
	uint32_t len = htole32((uint32_t)w.len);
	memcpy(buf, &len, 4);
	return (int)w.len;
}

/* ---- decoding ---- */

struct rbuf {
	const uint8_t *p;
	size_t len, pos;
};

static int get(struct rbuf *r, void *dst, size_t n)
{
	if (n > r->len - r->pos)
		return -EBADMSG;
	memcpy(dst, r->p + r->pos, n);
	r->pos += n;
	return 0;
}

static int get_u16(struct rbuf *r, uint16_t *v) { int e = get(r, v, 2); *v = le16toh(*v); return e; }
static int get_u32(struct rbuf *r, uint32_t *v) { int e = get(r, v, 4); *v = le32toh(*v); return e; }
static int get_u64(struct rbuf *r, uint64_t *v) { int e = get(r, v, 8); *v = le64toh(*v); return e; }

static int get_str(struct rbuf *r, char **out, cc_error *err)
{
	uint32_t n;
	char *s;

	if (get_u32(r, &n) < 0)
		return cc_fail(err, EBADMSG, "string length runs past the frame");
	if (n > CC_STR_MAX)
		return cc_fail(err, EBADMSG, "string of %u bytes exceeds the limit of %d", n, CC_STR_MAX);
	if (n > r->len - r->pos)
		return cc_fail(err, EBADMSG, "string of %u bytes runs past the frame", n);
	if (memchr(r->p + r->pos, '\0', n))
		return cc_fail(err, EBADMSG, "string holds a NUL byte");
	s = malloc((size_t)n + 1);
	if (!s)
		return cc_fail(err, ENOMEM, "out of memory");
	memcpy(s, r->p + r->pos, n);
	s[n] = '\0';
	r->pos += n;
	*out = s;
	return 0;
}

static void clear_fields(struct cc_msg *m)
{
	const struct spec *s = spec_of(m->type);
	if (!s)
		return;
	FOR_EACH_FIELD(f, s) {
		void *base = (char *)m + f->offset;
		if (f->kind == F_STR) {
			free(*(char **)base);
			*(char **)base = NULL;
		} else if (f->kind == F_STRV) {
			cc_strv_free(*(char ***)base);
			*(char ***)base = NULL;
		}
	}
}

void cc_msg_clear(struct cc_msg *m)
{
	clear_fields(m);
	for (size_t i = 0; i < m->nfds && i < CC_FDS_MAX; i++)
		if (m->fds[i] >= 0)
			(void)close(m->fds[i]);
	memset(m, 0, sizeof(*m));
}

static int decode_fields(struct rbuf *r, const struct spec *s, struct cc_msg *m, cc_error *err)
{
	FOR_EACH_FIELD(f, s) {
		void *base = (char *)m + f->offset;
		int e = 0;
		switch (f->kind) {
		case F_U32: e = get_u32(r, base); break;
		case F_U64: e = get_u64(r, base); break;
		case F_STR: e = get_str(r, base, err); if (e < 0) return e; break;
		case F_STRV: {
			uint32_t n;
			char **v;
			if (get_u32(r, &n) < 0)
				return cc_fail(err, EBADMSG, "list length runs past the frame");
			if (n > CC_STRV_MAX)
				return cc_fail(err, EBADMSG, "list of %u strings exceeds the limit of %d", n, CC_STRV_MAX);
			v = calloc((size_t)n + 1, sizeof(char *));
			if (!v)
				return cc_fail(err, ENOMEM, "out of memory");
			*(char ***)base = v; /* owned by m from here: clear_fields frees it */
			for (uint32_t i = 0; i < n; i++) {
				e = get_str(r, &v[i], err);
				if (e < 0)
					return e;
			}
			break;
		}
		case F_END: break;
		}
		if (e < 0)
			return cc_fail(err, EBADMSG, "field runs past the frame");
	}
	return 0;
}

int cc_msg_decode(const uint8_t *buf, size_t len, size_t nfds, struct cc_msg *m, cc_error *err)
{
	struct rbuf r = { .p = buf, .len = len };
	uint32_t flen;
	uint16_t version, type;
	const struct spec *s;
	int e;

	memset(m, 0, sizeof(*m));
	if (len < CC_HDR_SIZE)
		return cc_fail(err, EBADMSG, "frame of %zu bytes is shorter than its header", len);
	if (len > CC_MSG_MAX)
		return cc_fail(err, EBADMSG, "frame of %zu bytes exceeds the limit of %d", len, CC_MSG_MAX);
	(void)get_u32(&r, &flen);
	(void)get_u16(&r, &version);
	(void)get_u16(&r, &type);
	(void)get_u32(&r, &m->seq);
	if (flen != len)
		return cc_fail(err, EBADMSG, "frame says %u bytes but %zu arrived", flen, len);
	if (version != CC_PROTO_VERSION)
		return cc_fail(err, EPROTO, "protocol version %u, expected %u (worker and broker from different builds?)",
			       version, CC_PROTO_VERSION);
	s = spec_of(type);
	if (!s)
		return cc_fail(err, EBADMSG, "unknown message type %u", type);
	if (nfds != s->nfds)
		return cc_fail(err, EBADMSG, "%s carries %zu fds, expected %zu", s->name, nfds, s->nfds);
	m->type = type;
	e = decode_fields(&r, s, m, err);
	if (e == 0 && r.pos != r.len)
		e = cc_fail(err, EBADMSG, "%zu stray bytes after %s", r.len - r.pos, s->name);
	if (e < 0) {
		clear_fields(m);
		memset(m, 0, sizeof(*m));
		return e;
	}
	return 0;
}

int cc_msg_send(int sock, const struct cc_msg *m, cc_error *err)
{
	static uint8_t buf[CC_MSG_MAX];
	int len = cc_msg_encode(m, buf, sizeof(buf));
	int r;

	if (len < 0)
		return cc_fail(err, -len, "cannot encode %s: %s", cc_msg_name(m->type), strerror(-len));
	if (m->nfds != cc_msg_nfds(m->type))
		return cc_fail(err, EINVAL, "%s needs %zu fds", cc_msg_name(m->type), cc_msg_nfds(m->type));
	r = cc_send_with_fds(sock, buf, (size_t)len, m->fds, m->nfds);
	if (r < 0)
		return cc_failx(err, -r, "cannot send %s", cc_msg_name(m->type));
	return 0;
}

int cc_msg_recv(int sock, struct cc_msg *m, cc_error *err)
{
	static uint8_t buf[CC_MSG_MAX];
	int fds[CC_FDS_MAX];
	size_t nfds = 0;
	ssize_t n = cc_recv_with_fds(sock, buf, sizeof(buf), fds, CC_FDS_MAX, &nfds);
	int r;

	memset(m, 0, sizeof(*m));
	if (n < 0) {
		if (n == -EBADMSG)
			return cc_fail(err, EBADMSG, "malformed control data (fds) on the socket");
		if (n == -EMSGSIZE)
			return cc_fail(err, EBADMSG, "frame larger than %d bytes", CC_MSG_MAX);
		return cc_failx(err, (int)-n, "cannot receive");
	}
	if (n == 0) {
		for (size_t i = 0; i < nfds; i++)
			(void)close(fds[i]);
		return 0;
	}
	r = cc_msg_decode(buf, (size_t)n, nfds, m, err);
	if (r < 0) {
		for (size_t i = 0; i < nfds; i++)
			(void)close(fds[i]);
		return r;
	}
	memcpy(m->fds, fds, nfds * sizeof(int));
	m->nfds = nfds;
	return 1;
}

int cc_call(int sock, struct cc_msg *req, uint16_t expect, struct cc_msg *reply, cc_error *err)
{
	static uint32_t seq;
	int r;

	req->seq = ++seq;
	r = cc_msg_send(sock, req, err);
	if (r < 0)
		return r;
	r = cc_msg_recv(sock, reply, err);
	if (r < 0)
		return r;
	if (r == 0)
		return cc_fail(err, ECONNRESET, "the broker went away while handling %s", cc_msg_name(req->type));
	if (reply->seq != req->seq) {
		cc_msg_clear(reply);
		return cc_fail(err, EPROTO, "reply numbered %u to request %u", reply->seq, req->seq);
	}
	if (reply->type == CC_MSG_ERROR)
		return cc_msg_take_error(reply, err);
	if (reply->type != expect) {
		unsigned got = reply->type;
		cc_msg_clear(reply);
		return cc_fail(err, EPROTO, "expected %s, got %s", cc_msg_name(expect), cc_msg_name(got));
	}
	return 0;
}

int cc_msg_take_error(struct cc_msg *reply, cc_error *err)
{
	int code = reply->u.error.code > 0 && reply->u.error.code < 4096 ? (int)reply->u.error.code : EIO;
	cc_fail(err, code, "%s", reply->u.error.message);
	cc_msg_clear(reply);
	return -code;
}

int cc_reply_error(int sock, uint32_t seq, const cc_error *e, cc_error *err)
{
	struct cc_msg m = { .type = CC_MSG_ERROR, .seq = seq };
	m.u.error.code = (uint32_t)(e->code > 0 ? e->code : EIO);
	m.u.error.message = (char *)e->msg;
	return cc_msg_send(sock, &m, err);
}
