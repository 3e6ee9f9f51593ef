#include "auditlog.h"

#include <json-c/json.h>
#include <string.h>

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define MAX_LINE (1 << 20)

void cc_sha256_init(struct cc_sha256 *h)
{
	sha256_init(&h->ctx);
}

void cc_sha256_update(struct cc_sha256 *h, const void *data, size_t len)
{
	sha256_update(&h->ctx, len, data);
}

void cc_sha256_final_hex(struct cc_sha256 *h, char out[CC_SHA256_HEX])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t digest[SHA256_DIGEST_SIZE];

	sha256_digest(&h->ctx, sizeof(digest), digest);
	for (size_t i = 0; i < sizeof(digest); i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[2 * SHA256_DIGEST_SIZE] = '\0';
}

void cc_sha256_hex(const void *data, size_t len, char out[CC_SHA256_HEX])
{
	struct cc_sha256 h;
	cc_sha256_init(&h);
	cc_sha256_update(&h, data, len);
	cc_sha256_final_hex(&h, out);
}

char *cc_chain_link(const char *record, const char *prev_line)
{
	char hash[CC_SHA256_HEX];

	if (prev_line)
		cc_sha256_hex(prev_line, strlen(prev_line), hash);
	else
		strcpy(hash, ZERO_HASH);
	return cc_chain_link_hash(record, hash);
}

char *cc_chain_link_hash(const char *record, const char *prev_hash)
{
	size_t n = strlen(record);
	char *line;

	if (n < 2 || record[n - 1] != '}' || strlen(prev_hash) != CC_SHA256_HEX - 1)
		return NULL;
	line = malloc(n + 96);
	if (!line)
		return NULL;
	/* '{}' has no member before prev; anything else needs a comma. */
	snprintf(line, n + 96, "%.*s%s\"prev\":\"%s\"}\n", (int)(n - 1), record, n > 2 ? "," : "", prev_hash);
	return line;
}

/* One line without its newline; -1 at EOF. Lines longer than MAX_LINE
 * are an error (-EFBIG), unless huge is given: then the line is read whole
 * and *huge says it is too long (verify reports it as a problem and goes
 * on: the broker never writes one, so it is a record tampered with). */
static ssize_t read_line(FILE *in, char **buf, size_t *cap, bool *huge)
{
	ssize_t n = getline(buf, cap, in);
	if (n < 0)
		/* the stream's own errno where it set one (a damaged .gz: EBADMSG) */
		return ferror(in) ? -(errno == EBADMSG ? EBADMSG : EIO) : -1;
	if (huge)
		*huge = n > MAX_LINE;
	else if (n > MAX_LINE)
		return -EFBIG;
	if (n > 0 && (*buf)[n - 1] == '\n')
		(*buf)[--n] = '\0';
	return n;
}

/* json_tokener_parse(line), with one tokener for the whole log: making and
 * freeing one per line was a fifth of what verify and show cost. As
 * json_tokener_parse does, anything but a complete value is NULL. */
static json_object *parse_record(json_tokener *tok, const char *line)
{
	json_object *obj;

	json_tokener_reset(tok);
	obj = json_tokener_parse_ex(tok, line, -1);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(obj);
		obj = NULL;
	}
	return obj;
}

static void tokener_freep(json_tokener **tok)
{
	if (*tok)
		json_tokener_free(*tok);
}

/* A string member of obj, or NULL. */
static const char *member_str(json_object *obj, const char *key)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int cc_chain_scan(FILE *in, FILE *out, const char *label, struct cc_chain_ends *e, cc_error *err)
{
	_cleanup_free_ char *line = NULL, *prev = NULL;
	__attribute__((cleanup(tokener_freep))) json_tokener *tok = json_tokener_new();
	size_t cap = 0, prevcap = 0, prevlen = 0;
	int problems = 0;
	ssize_t n;
	bool huge, have_prev = false;

	memset(e, 0, sizeof(*e));
	if (!tok)
		return cc_fail(err, ENOMEM, "out of memory");
	while ((n = read_line(in, &line, &cap, &huge)) >= 0) {
		size_t no = ++e->records;
		char want[CC_SHA256_HEX];
		/* json-c stops at a NUL byte: bytes after one would be unseen by
		 * the parser, and by a hash taken with strlen. */
		bool nul = memchr(line, '\0', (size_t)n) != NULL;
		json_object *obj = nul || huge ? NULL : parse_record(tok, line), *p = NULL;
		const char *what = NULL;
		char huge_what[80];

		if (have_prev)
			cc_sha256_hex(prev, prevlen, want);
		else
			strcpy(want, ZERO_HASH);
		if (huge) {
			snprintf(huge_what, sizeof(huge_what), "longer than %d bytes (not a record the broker wrote)", MAX_LINE);
			what = huge_what;
		} else if (nul) {
			what = "holds a NUL byte";
		} else if (!obj || !json_object_is_type(obj, json_type_object)) {
			what = "not a JSON object";
		} else if (!json_object_object_get_ex(obj, "prev", &p) || !json_object_is_type(p, json_type_string)) {
			what = "no chain link (\"prev\")";
		} else if (no == 1) {
			/* The first record starts the chain (64 zeros), or is the
			 * "rotate" record of `audit link`, which continues the chain of
			 * the file before it: that link is the caller's to check. */
			const char *ev = member_str(obj, "event"), *from = member_str(obj, "from");
			snprintf(e->first_prev, sizeof(e->first_prev), "%s", json_object_get_string(p));
			e->first_rotate = ev && strcmp(ev, "rotate") == 0 && from;
			if (e->first_rotate)
				snprintf(e->from, sizeof(e->from), "%s", from);
			if (strcmp(e->first_prev, want) != 0 && !e->first_rotate)
				what = "chain broken: it follows a record that is not the one before it "
				       "(a record was changed, removed or moved here)";
		} else if (strcmp(json_object_get_string(p), want) != 0) {
			what = "chain broken: it follows a record that is not the one before it "
			       "(a record was changed, removed or moved here)";
		}
		if (no == 1 && obj && json_object_is_type(obj, json_type_object))
			snprintf(e->first_ts, sizeof(e->first_ts), "%s", member_str(obj, "ts") ? member_str(obj, "ts") : "");
		if (what) {
			/* the label is a file name the caller gave: escaped */
			if (label) {
				(void)cc_fputs_escaped(label, out);
				fputs(": ", out);
			}
			fprintf(out, "record %zu: %s\n", no, what);
			problems++;
		}
		json_object_put(obj);
		/* this line is the next one's prev: the two buffers swap, and
		 * getline reuses (or grows) the old prev for the next line */
		char *t = prev;
		size_t tcap = prevcap;
		prev = line;
		prevcap = cap;
		prevlen = (size_t)n;
		have_prev = true;
		line = t;
		cap = tcap;
	}
	if (n == -EIO || n == -EBADMSG)
		return cc_failx(err, (int)-n, "cannot read the audit log");
	if (have_prev)
		cc_sha256_hex(prev, prevlen, e->last_hash);
	return problems;
}

int cc_chain_verify(FILE *in, FILE *out, size_t *records, cc_error *err)
{
	struct cc_chain_ends e;
	int r = cc_chain_scan(in, out, NULL, &e, err);

	*records = e.records;
	return r;
}

static const char *str_at(json_object *o, const char *a, const char *b)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, a, &v))
		return "";
	if (b && (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, b, &v)))
		return "";
	return json_object_is_type(v, json_type_null) ? "" : json_object_get_string(v);
}

int cc_audit_show(FILE *in, FILE *out, cc_error *err)
{
	_cleanup_free_ char *line = NULL;
	__attribute__((cleanup(tokener_freep))) json_tokener *tok = json_tokener_new();
	size_t cap = 0, no = 0;
	ssize_t n;

	if (!tok)
		return cc_fail(err, ENOMEM, "out of memory");
	while ((n = read_line(in, &line, &cap, NULL)) >= 0) {
		json_object *o = parse_record(tok, line);
		no++;
		if (!o || !json_object_is_type(o, json_type_object)) {
			fprintf(out, "%5zu  (not a record)\n", no);
			json_object_put(o);
			continue;
		}
		/* Every field may be the caller's (the target spec, the image
		 * path) or forged (operators can write the log): the whole line is
		 * escaped, so that a record is one line and cannot repaint others. */
		const char *error = str_at(o, "error", NULL);
		_cleanup_free_ char *text = NULL;
		int len = asprintf(&text, "%5zu  %s  %-8.8s  %-7s %-8s %-9s user %s (uid %s) target %s (pid %s)%s%s%s%s", no,
				   str_at(o, "ts", NULL), str_at(o, "session", NULL), str_at(o, "event", NULL),
				   str_at(o, "phase", NULL), str_at(o, "result", NULL), str_at(o, "user", NULL),
				   str_at(o, "uid", NULL), str_at(o, "target", "spec"), str_at(o, "target", "pid"),
				   *str_at(o, "image", NULL) ? " image " : "", str_at(o, "image", NULL),
				   *error ? ": " : "", error);
		json_object_put(o);
		if (len < 0) {
			text = NULL; /* asprintf leaves it undefined */
			return cc_fail(err, ENOMEM, "out of memory");
		}
		if (cc_fputs_escaped(text, out) < 0 || fputc('\n', out) == EOF)
			return cc_failx(err, EIO, "cannot write the records");
	}
	if (n == -EFBIG)
		return cc_fail(err, EFBIG, "record %zu is longer than %d bytes", no + 1, MAX_LINE);
	if (n == -EIO)
		return cc_failx(err, EIO, "cannot read the audit log");
	return 0;
}
