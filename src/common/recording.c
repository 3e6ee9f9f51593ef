#include "recording.h"

#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#define LOG_MAX_LINE (1 << 20) /* as auditlog.c */
#define CAST_MAX_DEPTH 6       /* [t,"x",{"argv":[…]}] is 3 deep */
#define CAST_MAX_T 1e9         /* seconds: ~31 years */
#define TERM_MAX 65535         /* columns, rows */

bool cc_session_id_valid(const char *id)
{
	size_t n = 0;
	for (; id[n]; n++)
		if (n >= CC_SESSION_ID_MAX || !((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')))
			return false;
	return n > 0;
}

/* One line of at most max bytes into buf (NUL-terminated, without its
 * newline). Never reads more than max+1 bytes of a line into memory, so a
 * hostile file cannot make us allocate. 1: a line, 0: the end, -EFBIG: too
 * long, -EIO. *nul: the line holds a NUL byte (json-c and strlen would stop
 * there, hiding what follows). */
static int read_bounded_line(FILE *f, char *buf, size_t max, size_t *len, bool *nul)
{
	size_t n = 0;
	int ch;

	*nul = false;
	while ((ch = getc_unlocked(f)) != EOF && ch != '\n') {
		if (n >= max)
			return -EFBIG;
		if (ch == 0)
			*nul = true;
		buf[n++] = (char)ch;
	}
	if (ch == EOF) {
		if (ferror(f))
			return -EIO;
		if (n == 0)
			return 0;
	}
	buf[n] = '\0';
	*len = n;
	return 1;
}

/* The rest of a line read_bounded_line() found too long: 0, or -EIO. */
static int skip_line(FILE *f)
{
	int ch;
	while ((ch = getc_unlocked(f)) != EOF && ch != '\n')
		;
	return ferror(f) ? -EIO : 0;
}

/* ---- the cast ---- */

static json_object *member(json_object *o, const char *key)
{
	json_object *v = NULL;
	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* A string member without NUL bytes; NULL (and an error) otherwise. */
static const char *string_of(json_object *v)
{
	if (!v || !json_object_is_type(v, json_type_string))
		return NULL;
	const char *s = json_object_get_string(v);
	return strlen(s) == (size_t)json_object_get_string_len(v) ? s : NULL;
}

static bool int_in(json_object *v, int64_t lo, int64_t hi, int64_t *out)
{
	if (!v || !json_object_is_type(v, json_type_int))
		return false;
	errno = 0;
	int64_t x = json_object_get_int64(v);
	/* json-c saturates values beyond int64 and says so in errno; a value it
	 * keeps as uint64 (above INT64_MAX) comes back as INT64_MAX */
	if (errno || x < lo || x > hi)
		return false;
	*out = x;
	return true;
}

/* Parses the line just read: exactly one JSON value, nothing after it. */
static int parse_line(struct cc_cast *c, size_t len, bool nul, cc_error *err)
{
	json_object_put(c->cur);
	c->cur = NULL;
	if (nul)
		return cc_fail(err, EBADMSG, "line %zu holds a NUL byte", c->lineno);
	if (len == 0)
		return cc_fail(err, EBADMSG, "line %zu is empty", c->lineno);
	json_tokener_reset(c->tok);
	c->cur = json_tokener_parse_ex(c->tok, c->line, (int)len);
	enum json_tokener_error je = json_tokener_get_error(c->tok);
	if (!c->cur || je != json_tokener_success) {
		json_object_put(c->cur);
		c->cur = NULL;
		return cc_fail(err, EBADMSG, "line %zu is not JSON (%s)", c->lineno,
			       je == json_tokener_continue ? "it ends early" : json_tokener_error_desc(je));
	}
	if (json_tokener_get_parse_end(c->tok) != len)
		return cc_fail(err, EBADMSG, "line %zu has bytes after its JSON value", c->lineno);
	return 0;
}

static int next_line(struct cc_cast *c, cc_error *err)
{
	size_t len = 0;
	bool nul;
	int r = read_bounded_line(c->f, c->line, CC_CAST_MAX_LINE, &len, &nul);
	if (r == -EFBIG)
		return cc_fail(err, EFBIG, "line %zu is longer than %d bytes", c->lineno + 1, CC_CAST_MAX_LINE);
	if (r == -EIO)
		return cc_failx(err, EIO, "cannot read line %zu", c->lineno + 1);
	if (r == 0)
		return 0;
	c->lineno++;
	r = parse_line(c, len, nul, err);
	return r < 0 ? r : 1;
}

static void copy_cut(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static int parse_header(struct cc_cast *c, cc_error *err)
{
	json_object *h = c->cur, *v, *cc;
	int64_t x;

	if (!json_object_is_type(h, json_type_object))
		return cc_fail(err, EBADMSG, "line 1 is not an asciicast header (a JSON object)");
	if (!int_in(member(h, "version"), 2, 2, &x))
		return cc_fail(err, EBADMSG, "the header's version is not 2 (asciicast v2)");
	if (!int_in(member(h, "width"), 1, TERM_MAX, &x))
		return cc_fail(err, EBADMSG, "the header's width is not a number of columns");
	c->h.width = (unsigned)x;
	if (!int_in(member(h, "height"), 1, TERM_MAX, &x))
		return cc_fail(err, EBADMSG, "the header's height is not a number of rows");
	c->h.height = (unsigned)x;
	if ((v = member(h, "timestamp")) && !int_in(v, 0, INT64_MAX, &c->h.timestamp))
		return cc_fail(err, EBADMSG, "the header's timestamp is not a time in seconds");
	if ((v = member(h, "title")) && !string_of(v))
		return cc_fail(err, EBADMSG, "the header's title is not a string");
	if ((v = member(h, "env"))) {
		json_object *t;
		if (!json_object_is_type(v, json_type_object))
			return cc_fail(err, EBADMSG, "the header's env is not an object");
		if ((t = member(v, "TERM")) && !json_object_is_type(t, json_type_null)) {
			if (!string_of(t))
				return cc_fail(err, EBADMSG, "the header's env.TERM is not a string");
			copy_cut(c->h.term, sizeof(c->h.term), string_of(t));
		}
	}
	c->h.pty = -1;
	if ((cc = member(h, "crashcart"))) {
		const char *s;
		if (!json_object_is_type(cc, json_type_object))
			return cc_fail(err, EBADMSG, "the header's crashcart member is not an object");
		if ((v = member(cc, "session"))) {
			if (!(s = string_of(v)) || !cc_session_id_valid(s))
				return cc_fail(err, EBADMSG, "the header's crashcart.session is not a session id");
			copy_cut(c->h.session, sizeof(c->h.session), s);
		}
		if ((v = member(cc, "target"))) {
			if (!(s = string_of(v)))
				return cc_fail(err, EBADMSG, "the header's crashcart.target is not a string");
			copy_cut(c->h.target, sizeof(c->h.target), s);
		}
		if ((v = member(cc, "pty"))) {
			if (!json_object_is_type(v, json_type_boolean))
				return cc_fail(err, EBADMSG, "the header's crashcart.pty is not true or false");
			c->h.pty = json_object_get_boolean(v);
		}
	}
	return 0;
}

int cc_cast_open(struct cc_cast *c, FILE *f, cc_error *err)
{
	int r;

	memset(c, 0, sizeof(*c));
	c->f = f;
	c->line = malloc(CC_CAST_MAX_LINE + 1);
	c->tok = json_tokener_new_ex(CAST_MAX_DEPTH);
	if (!c->line || !c->tok) {
		cc_cast_close(c);
		return cc_fail(err, ENOMEM, "out of memory");
	}
	json_tokener_set_flags(c->tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	r = next_line(c, err);
	if (r == 0)
		r = cc_fail(err, EBADMSG, "empty file: no asciicast header");
	if (r > 0)
		r = parse_header(c, err);
	if (r < 0) {
		cc_cast_close(c);
		return r;
	}
	return 0;
}

static int parse_exec(struct cc_cast *c, json_object *d, struct cc_cast_event *ev, cc_error *err)
{
	json_object *argv;
	size_t n;

	if (!json_object_is_type(d, json_type_object))
		return cc_fail(err, EBADMSG, "line %zu: an \"x\" event's data is not an object", c->lineno);
	if (!int_in(member(d, "pid"), 1, INT32_MAX, &ev->pid))
		return cc_fail(err, EBADMSG, "line %zu: the exec's pid is not a process id", c->lineno);
	ev->syscall = string_of(member(d, "syscall"));
	if (!ev->syscall || (strcmp(ev->syscall, "execve") && strcmp(ev->syscall, "execveat")))
		return cc_fail(err, EBADMSG, "line %zu: the exec's syscall is not execve or execveat", c->lineno);
	if (!(ev->path = string_of(member(d, "path"))))
		return cc_fail(err, EBADMSG, "line %zu: the exec's path is not a string without NUL", c->lineno);
	argv = member(d, "argv");
	if (!argv || !json_object_is_type(argv, json_type_array))
		return cc_fail(err, EBADMSG, "line %zu: the exec's argv is not an array", c->lineno);
	n = json_object_array_length(argv);
	if (n + 1 > c->argv_cap) {
		const char **p = realloc(c->argv, (n + 1) * sizeof(*p));
		if (!p)
			return cc_fail(err, ENOMEM, "out of memory");
		c->argv = p;
		c->argv_cap = n + 1;
	}
	for (size_t i = 0; i < n; i++)
		if (!(c->argv[i] = string_of(json_object_array_get_idx(argv, i))))
			return cc_fail(err, EBADMSG, "line %zu: argv[%zu] of the exec is not a string without NUL",
				       c->lineno, i);
	c->argv[n] = NULL;
	ev->argv = c->argv;
	ev->argc = n;
	return 0;
}

static int parse_resize(struct cc_cast *c, struct cc_cast_event *ev, cc_error *err)
{
	char cols[8], rows[8];
	const char *x = memchr(ev->data, 'x', ev->len);
	uint64_t w, h;

	if (strlen(ev->data) != ev->len || !x || (size_t)(x - ev->data) >= sizeof(cols) || ev->len - (size_t)(x - ev->data) - 1 >= sizeof(rows))
		return cc_fail(err, EBADMSG, "line %zu: a resize is not COLSxROWS", c->lineno);
	snprintf(cols, sizeof(cols), "%.*s", (int)(x - ev->data), ev->data);
	snprintf(rows, sizeof(rows), "%s", x + 1);
	if (cc_parse_u64(cols, TERM_MAX, &w) < 0 || cc_parse_u64(rows, TERM_MAX, &h) < 0 || !w || !h)
		return cc_fail(err, EBADMSG, "line %zu: a resize is not COLSxROWS", c->lineno);
	ev->cols = (unsigned)w;
	ev->rows = (unsigned)h;
	return 0;
}

int cc_cast_next(struct cc_cast *c, struct cc_cast_event *ev, cc_error *err)
{
	static const char codes[] = "oirmx"; /* in enum cc_cast_code's order */
	json_object *e, *t, *code, *d;
	const char *s;
	int r;

	memset(ev, 0, sizeof(*ev));
	r = next_line(c, err);
	if (r <= 0)
		return r;
	e = c->cur;
	if (!json_object_is_type(e, json_type_array) || json_object_array_length(e) != 3)
		return cc_fail(err, EBADMSG, "line %zu is not an event ([time, code, data])", c->lineno);
	t = json_object_array_get_idx(e, 0);
	code = json_object_array_get_idx(e, 1);
	d = json_object_array_get_idx(e, 2);
	if (!json_object_is_type(t, json_type_double) && !json_object_is_type(t, json_type_int))
		return cc_fail(err, EBADMSG, "line %zu: the event's time is not a number", c->lineno);
	ev->t = json_object_get_double(t);
	if (!isfinite(ev->t) || ev->t < 0 || ev->t > CAST_MAX_T)
		return cc_fail(err, EBADMSG, "line %zu: the event's time is not seconds since the start", c->lineno);
	s = string_of(code);
	if (!s || strlen(s) != 1 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return cc_fail(err, EBADMSG, "line %zu: the event's code is not one letter", c->lineno);
	ev->code = strchr(codes, s[0]) ? (enum cc_cast_code)(strchr(codes, s[0]) - codes) : CC_CAST_OTHER;
	switch (ev->code) {
	case CC_CAST_OUTPUT:
	case CC_CAST_INPUT:
	case CC_CAST_MARKER:
	case CC_CAST_RESIZE:
		if (!json_object_is_type(d, json_type_string))
			return cc_fail(err, EBADMSG, "line %zu: the \"%s\" event's data is not a string", c->lineno, s);
		ev->data = json_object_get_string(d);
		ev->len = (size_t)json_object_get_string_len(d);
		return ev->code == CC_CAST_RESIZE && parse_resize(c, ev, err) < 0 ? -EBADMSG : 1;
	case CC_CAST_EXEC:
		return parse_exec(c, d, ev, err) < 0 ? -EBADMSG : 1;
	case CC_CAST_OTHER:
		return 1;
	}
	return 1;
}

void cc_cast_close(struct cc_cast *c)
{
	json_object_put(c->cur);
	if (c->tok)
		json_tokener_free(c->tok);
	free(c->line);
	free(c->argv);
	memset(c, 0, sizeof(*c));
}

/* ---- the file ---- */

int cc_digest_fd(int fd, struct cc_digest *d, cc_error *err)
{
	uint8_t buf[65536];
	struct cc_sha256 ctx;

	cc_sha256_init(&ctx);
	d->bytes = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cc_failx(err, errno, "cannot read the recording");
		if (n == 0)
			break;
		cc_sha256_update(&ctx, buf, (size_t)n);
		d->bytes += (uint64_t)n;
	}
	cc_sha256_final_hex(&ctx, d->sha256);
	return 0;
}

int cc_recording_open(int dirfd, const char *path, cc_error *err)
{
	/* O_NONBLOCK: opening a FIFO planted under this name must not hang */
	int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (dirfd >= 0 ? O_NOFOLLOW : 0);
	_cleanup_close_ int fd = openat(dirfd >= 0 ? dirfd : AT_FDCWD, path, flags);
	struct stat st;

	if (fd < 0 && errno == ELOOP && dirfd >= 0)
		return cc_fail(err, ELOOP, "%s is a symbolic link, not a recording", path);
	if (fd < 0)
		return cc_failx(err, errno, "cannot open %s", path);
	if (fstat(fd, &st) < 0)
		return cc_failx(err, errno, "cannot stat %s", path);
	if (!S_ISREG(st.st_mode))
		return cc_fail(err, EINVAL, "%s is not a regular file", path);
	if (fcntl(fd, F_SETFL, O_RDONLY) < 0)
		return cc_failx(err, errno, "cannot read %s", path);
	return TAKE_FD(fd);
}

/* ---- the sessions of an audit log ---- */

/* An index from session id to its slot (open addressing; ids are random
 * hex from the broker, but the log is writable by operators, so the hash
 * is of the whole string and the table grows with the log). */
struct index {
	size_t *slot; /* position + 1 in s->v; 0: empty */
	size_t cap;
};

static size_t hash_of(const char *s)
{
	size_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int index_grow(struct index *ix, const struct cc_sessions *s)
{
	size_t cap = ix->cap ? ix->cap * 2 : 256;
	size_t *slot = calloc(cap, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		size_t h = hash_of(s->v[i].id) & (cap - 1);
		while (slot[h])
			h = (h + 1) & (cap - 1);
		slot[h] = i + 1;
	}
	free(ix->slot);
	ix->slot = slot;
	ix->cap = cap;
	return 0;
}

static struct cc_session *session_of(struct cc_sessions *s, struct index *ix, size_t *cap, const char *id,
				     size_t no)
{
	size_t h;

	if (2 * (s->n + 1) > ix->cap && index_grow(ix, s) < 0)
		return NULL;
	for (h = hash_of(id) & (ix->cap - 1); ix->slot[h]; h = (h + 1) & (ix->cap - 1))
		if (strcmp(s->v[ix->slot[h] - 1].id, id) == 0)
			return &s->v[ix->slot[h] - 1];
	if (s->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct cc_session *v = realloc(s->v, ncap * sizeof(*v));
		if (!v)
			return NULL;
		s->v = v;
		*cap = ncap;
	}
	struct cc_session *ss = &s->v[s->n];
	memset(ss, 0, sizeof(*ss));
	copy_cut(ss->id, sizeof(ss->id), id);
	ss->id_valid = cc_session_id_valid(id);
	ss->order = no;
	ix->slot[h] = ++s->n;
	return ss;
}

static const char *str_or(json_object *v, const char *dflt)
{
	const char *s = string_of(v);
	return s ? s : dflt;
}

static void read_begin(struct cc_session *ss, json_object *o, size_t no)
{
	json_object *rec;
	if (ss->begins++)
		return;
	ss->begin_no = no;
	copy_cut(ss->ts, sizeof(ss->ts), str_or(member(o, "ts"), ""));
	copy_cut(ss->user, sizeof(ss->user), str_or(member(o, "user"), ""));
	json_object *t = member(o, "target");
	copy_cut(ss->target, sizeof(ss->target),
		 t && json_object_is_type(t, json_type_object) ? str_or(member(t, "spec"), "") : "");
	if ((rec = member(o, "recording"))) {
		ss->begin_recording = true;
		const char *f = json_object_is_type(rec, json_type_object) ? string_of(member(rec, "file")) : NULL;
		/* a name that does not fit is not ID.cast: "?" never matches */
		copy_cut(ss->begin_file, sizeof(ss->begin_file),
			 f && strlen(f) < sizeof(ss->begin_file) ? f : "?");
	}
}

static void read_exit(struct cc_session *ss, json_object *o)
{
	json_object *x = member(o, "exit");
	int64_t v;
	const char *kind;

	if (x && json_object_is_type(x, json_type_object) && (kind = string_of(member(x, "kind")))) {
		if (strcmp(kind, "lost") != 0 && int_in(member(x, "value"), 0, UINT32_MAX, &v))
			snprintf(ss->exit, sizeof(ss->exit), "%.24s %" PRId64, kind, v);
		else
			copy_cut(ss->exit, sizeof(ss->exit), kind);
	} else {
		copy_cut(ss->exit, sizeof(ss->exit), str_or(member(o, "result"), "?"));
	}
}

static void read_end(struct cc_session *ss, json_object *o, size_t no)
{
	json_object *rec;
	int64_t v;
	const char *s;

	if (ss->ends++)
		return;
	ss->end_no = no;
	if (!ss->ts[0])
		copy_cut(ss->ts, sizeof(ss->ts), str_or(member(o, "ts"), ""));
	if (!ss->user[0])
		copy_cut(ss->user, sizeof(ss->user), str_or(member(o, "user"), ""));
	if (int_in(member(o, "duration_ms"), 0, INT64_MAX, &v)) {
		ss->has_duration = true;
		ss->duration_ms = (uint64_t)v;
	}
	read_exit(ss, o);
	if (!(rec = member(o, "recording")))
		return;
	ss->end_rec = CC_END_REC_INVALID;
	if (!json_object_is_type(rec, json_type_object))
		return;
	s = string_of(member(rec, "file"));
	copy_cut(ss->file, sizeof(ss->file), s && strlen(s) < sizeof(ss->file) ? s : "?");
	if (!s)
		return;
	if ((s = string_of(member(rec, "error")))) {
		ss->end_rec = CC_END_REC_ERROR;
		copy_cut(ss->rec_error, sizeof(ss->rec_error), s);
		return;
	}
	s = string_of(member(rec, "sha256"));
	if (s && cc_is_hex64(s, strlen(s)) && int_in(member(rec, "bytes"), 0, INT64_MAX, &v)) {
		ss->end_rec = CC_END_REC_DIGEST;
		ss->bytes = (uint64_t)v;
		memcpy(ss->sha256, s, CC_SHA256_HEX);
	}
}

int cc_sessions_read(FILE *in, struct cc_sessions *s, cc_error *err)
{
	_cleanup_free_ char *line = malloc(LOG_MAX_LINE + 1);
	struct index ix = { 0 };
	size_t cap = 0, no = 0, len;
	bool nul;
	int r;

	memset(s, 0, sizeof(*s));
	if (!line)
		return cc_fail(err, ENOMEM, "out of memory");
	while ((r = read_bounded_line(in, line, LOG_MAX_LINE, &len, &nul)) > 0 || r == -EFBIG) {
		no++;
		if (r == -EFBIG) {
			/* no record of the broker's: verify reports it; the
			 * sessions go on after it */
			if ((r = skip_line(in)) < 0)
				break;
			continue;
		}
		json_object *o = nul ? NULL : json_tokener_parse(line);
		const char *ev, *ph, *id;
		if (o && json_object_is_type(o, json_type_object) && (ev = string_of(member(o, "event"))) &&
		    strcmp(ev, "exec") == 0 && (ph = string_of(member(o, "phase"))) &&
		    (strcmp(ph, "begin") == 0 || strcmp(ph, "end") == 0) && (id = string_of(member(o, "session")))) {
			struct cc_session *ss = session_of(s, &ix, &cap, id, no);
			if (!ss) {
				json_object_put(o);
				free(ix.slot);
				cc_sessions_free(s);
				return cc_fail(err, ENOMEM, "out of memory");
			}
			if (ph[0] == 'b')
				read_begin(ss, o, no);
			else
				read_end(ss, o, no);
		}
		json_object_put(o);
	}
	free(ix.slot);
	if (r < 0) {
		cc_sessions_free(s);
		return cc_failx(err, EIO, "cannot read the audit log");
	}
	return 0;
}

void cc_sessions_free(struct cc_sessions *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

struct cc_session *cc_sessions_find(const struct cc_sessions *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].id, id) == 0)
			return &s->v[i];
	return NULL;
}

__attribute__((format(printf, 3, 4))) static int set_state(struct cc_session *ss, enum cc_rec_state st,
							    const char *fmt, ...)
{
	va_list ap;
	ss->state = st;
	va_start(ap, fmt);
	vsnprintf(ss->detail, sizeof(ss->detail), fmt, ap);
	va_end(ap);
	return 0;
}

/* The digest matched: the file is the one the end record vouches for. Its
 * header must be this session's, or the end record vouches for another
 * session's file (a forged record: operators can append valid ones). */
static void check_header(struct cc_session *ss, int fd)
{
	cc_error err = { 0 };
	struct cc_cast c;
	FILE *f;
	int dup_fd;

	if (lseek(fd, 0, SEEK_SET) < 0 || (dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0 ||
	    !(f = fdopen(dup_fd, "r"))) {
		(void)set_state(ss, CC_REC_UNREADABLE, "recording %s: cannot read it again", ss->file);
		return;
	}
	if (cc_cast_open(&c, f, &err) < 0)
		(void)set_state(ss, CC_REC_BAD, "recording %s matches its end record but is not a recording: %s", ss->file,
			  err.msg);
	else if (strcmp(c.h.session, ss->id) != 0)
		(void)set_state(ss, CC_REC_BAD, "recording %s matches its end record but its header names session '%s'",
			  ss->file, c.h.session);
	if (c.f)
		cc_cast_close(&c);
	fclose(f);
}

/* (int only so that each verdict is one `return set_state(…)`) */
static int check_session(struct cc_session *ss, int dirfd, int dir_errno)
{
	char want[CC_SESSION_ID_MAX + 8];
	cc_error err = { 0 };
	struct cc_digest d;

	snprintf(want, sizeof(want), "%s.cast", ss->id);
	ss->state = CC_REC_NONE;
	ss->detail[0] = '\0';
	if (ss->begins > 1 || ss->ends > 1)
		return set_state(ss, CC_REC_BAD, "%zu exec begin and %zu exec end records for one session", ss->begins,
				 ss->ends);
	if (!ss->ends)
		return set_state(ss, CC_REC_NO_END, "no end record (ended abnormally)");
	if (!ss->begins)
		return set_state(ss, CC_REC_BAD, "an exec end record (record %zu) without a begin record", ss->end_no);
	if (!ss->id_valid && (ss->begin_recording || ss->end_rec != CC_END_REC_NONE))
		return set_state(ss, CC_REC_BAD, "not a session id the broker makes: no recording can have its name");
	if (ss->begin_recording && strcmp(ss->begin_file, want) != 0)
		return set_state(ss, CC_REC_BAD, "the begin record names recording '%s', not %s", ss->begin_file, want);
	switch (ss->end_rec) {
	case CC_END_REC_NONE:
		if (ss->begin_recording)
			return set_state(ss, CC_REC_BAD, "the begin record announces recording %s, the end record has none",
					 want);
		return 0;
	case CC_END_REC_INVALID:
		return set_state(ss, CC_REC_BAD, "the end record's \"recording\" has no file with bytes and sha256");
	case CC_END_REC_ERROR:
		if (strcmp(ss->file, want) != 0)
			return set_state(ss, CC_REC_BAD, "the end record names recording '%s', not %s", ss->file, want);
		return set_state(ss, CC_REC_BROKEN, "the recording broke mid-session (the end record says: %s)",
				 ss->rec_error);
	case CC_END_REC_DIGEST:
		break;
	}
	if (strcmp(ss->file, want) != 0)
		return set_state(ss, CC_REC_BAD, "the end record names recording '%s', not %s", ss->file, want);
	if (dirfd < 0) {
		if (dir_errno == ENOENT)
			return set_state(ss, CC_REC_MISSING, "recording %s is missing (no session directory)", want);
		return set_state(ss, CC_REC_UNREADABLE, "recording %s cannot be checked: the session directory: %s",
				 want, strerror(dir_errno));
	}
	_cleanup_close_ int fd = cc_recording_open(dirfd, want, &err);
	if (fd == -ENOENT)
		return set_state(ss, CC_REC_MISSING, "recording %s is missing", want);
	if (fd == -ELOOP || fd == -EINVAL)
		return set_state(ss, CC_REC_MODIFIED, "%s", err.msg);
	if (fd < 0)
		return set_state(ss, CC_REC_UNREADABLE, "recording %s cannot be checked: %s", want, err.msg);
	if (cc_digest_fd(fd, &d, &err) < 0)
		return set_state(ss, CC_REC_UNREADABLE, "recording %s cannot be checked: %s", want, err.msg);
	if (d.bytes != ss->bytes)
		return set_state(ss, CC_REC_MODIFIED, "recording %s was %s: %" PRIu64 " bytes, the end record says %" PRIu64,
				 want, d.bytes < ss->bytes ? "cut short" : "extended", d.bytes, ss->bytes);
	if (strcmp(d.sha256, ss->sha256) != 0)
		return set_state(ss, CC_REC_MODIFIED, "recording %s was edited: its sha256 is not the end record's", want);
	ss->state = CC_REC_OK;
	check_header(ss, fd);
	return 0;
}

void cc_session_check(struct cc_session *ss, int dirfd, int dir_errno)
{
	(void)check_session(ss, dirfd, dir_errno);
}

const char *cc_rec_state_name(enum cc_rec_state st)
{
	switch (st) {
	case CC_REC_NONE: return "none";
	case CC_REC_OK: return "ok";
	case CC_REC_MISSING: return "MISSING";
	case CC_REC_MODIFIED: return "MODIFIED";
	case CC_REC_UNREADABLE: return "UNREADABLE";
	case CC_REC_BAD: return "INCONSISTENT";
	case CC_REC_NO_END: return "no end record";
	case CC_REC_BROKEN: return "BROKEN";
	}
	return "?";
}

/* One line, escaped: ids, users, targets and errors come from the log,
 * which operators can write. */
__attribute__((format(printf, 2, 3))) static int print_line(FILE *out, const char *fmt, ...)
{
	_cleanup_free_ char *text = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0) {
		text = NULL; /* undefined after a failure */
		return -ENOMEM;
	}
	if (cc_fputs_escaped(text, out) < 0 || fputc('\n', out) == EOF)
		return -EIO;
	return 0;
}

int cc_sessions_report(const struct cc_sessions *s, FILE *out, struct cc_sessions_tally *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < s->n; i++) {
		const struct cc_session *ss = &s->v[i];
		bool problem = cc_session_problem(ss), warning = cc_session_warning(ss);
		t->problems += problem;
		t->warnings += warning;
		t->no_end += ss->state == CC_REC_NO_END;
		t->verified += ss->state == CC_REC_OK;
		t->recorded += ss->end_rec == CC_END_REC_DIGEST;
		if ((problem || warning) && print_line(out, "session %s: %s", ss->id, ss->detail) < 0)
			return -EIO;
	}
	return 0;
}

static void format_duration(const struct cc_session *ss, char *buf, size_t size)
{
	uint64_t ms = ss->duration_ms, sec = ms / 1000;
	if (!ss->has_duration)
		snprintf(buf, size, "-");
	else if (sec < 60)
		snprintf(buf, size, "%" PRIu64 ".%01" PRIu64 "s", sec, (ms % 1000) / 100);
	else if (sec < 3600)
		snprintf(buf, size, "%" PRIu64 "m%02" PRIu64 "s", sec / 60, sec % 60);
	else
		snprintf(buf, size, "%" PRIu64 "h%02" PRIu64 "m", sec / 3600, (sec / 60) % 60);
}

int cc_sessions_print(const struct cc_sessions *s, FILE *out)
{
	if (s->n == 0)
		return 0;
	if (fprintf(out, "\nexec sessions: %zu\n", s->n) < 0)
		return -EIO;
	if (print_line(out, "%-32s  %-8s  %-24s  %8s  %-12s  %-13s  %s", "session", "user", "start", "duration",
		       "exit", "recording", "target") < 0)
		return -EIO;
	for (size_t i = 0; i < s->n; i++) {
		const struct cc_session *ss = &s->v[i];
		char dur[32];
		format_duration(ss, dur, sizeof(dur));
		if (print_line(out, "%-32s  %-8s  %-24s  %8s  %-12s  %-13s  %s", ss->id, ss->user, ss->ts, dur,
			       ss->ends ? ss->exit : "-", cc_rec_state_name(ss->state), ss->target) < 0)
			return -EIO;
	}
	return 0;
}

/* ---- operations that never ended ---- */

struct op_rec {
	char session[CC_SESSION_ID_MAX + 1];
	char event[16];
	bool begin;
	size_t no;
};

static int op_cmp(const void *a, const void *b)
{
	const struct op_rec *x = a, *y = b;
	int c = strcmp(x->session, y->session);
	if (!c)
		c = strcmp(x->event, y->event);
	return c ? c : (x->no > y->no) - (x->no < y->no);
}

int cc_open_operations(FILE *in, FILE *out, size_t *open, cc_error *err)
{
	_cleanup_free_ char *line = malloc(LOG_MAX_LINE + 1);
	_cleanup_free_ struct op_rec *v = NULL;
	size_t n = 0, cap = 0, no = 0, len;
	bool nul;
	int r;

	*open = 0;
	if (!line)
		return cc_fail(err, ENOMEM, "out of memory");
	while ((r = read_bounded_line(in, line, LOG_MAX_LINE, &len, &nul)) > 0 || r == -EFBIG) {
		no++;
		if (r == -EFBIG) {
			if ((r = skip_line(in)) < 0)
				break;
			continue;
		}
		json_object *o = nul ? NULL : json_tokener_parse(line);
		const char *ev, *ph, *id;
		if (o && json_object_is_type(o, json_type_object) && (ev = string_of(member(o, "event"))) &&
		    strcmp(ev, "exec") != 0 && strlen(ev) < sizeof(v->event) && (ph = string_of(member(o, "phase"))) &&
		    (strcmp(ph, "begin") == 0 || strcmp(ph, "end") == 0) && (id = string_of(member(o, "session")))) {
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 256;
				struct op_rec *nv = realloc(v, ncap * sizeof(*v));
				if (!nv) {
					json_object_put(o);
					return cc_fail(err, ENOMEM, "out of memory");
				}
				v = nv;
				cap = ncap;
			}
			copy_cut(v[n].session, sizeof(v[n].session), id);
			snprintf(v[n].event, sizeof(v[n].event), "%s", ev);
			v[n].begin = ph[0] == 'b';
			v[n].no = no;
			n++;
		}
		json_object_put(o);
	}
	if (r < 0)
		return cc_failx(err, EIO, "cannot read the audit log");
	/* Per session and operation, the begins that have no end: the last
	 * ones (a broker does one thing at a time, so only the last can be
	 * open; records moved out of order are the chain check's to report,
	 * not counted here as well). */
	if (n)
		qsort(v, n, sizeof(*v), op_cmp);
	for (size_t i = 0, j; i < n; i = j) {
		size_t begins = 0, ends = 0;
		for (j = i; j < n && strcmp(v[j].session, v[i].session) == 0 && strcmp(v[j].event, v[i].event) == 0; j++)
			*(v[j].begin ? &begins : &ends) += 1;
		for (size_t k = j, unended = begins > ends ? begins - ends : 0; unended && k-- > i;) {
			if (!v[k].begin)
				continue;
			unended--;
			++*open;
			if (print_line(out, "session %s: %s begin (record %zu) has no end record (ended abnormally)",
				       v[k].session, v[k].event, v[k].no) < 0)
				return -EIO;
		}
	}
	return 0;
}
