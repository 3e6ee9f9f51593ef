/* Unit tests for the wire codec (src/common/proto.c, fdpass.c).
 *
 * The broker decodes frames from an unprivileged peer, so besides round trips
 * these tests throw every malformed frame we can think of at the decoder, pass
 * hostile control data over real SOCK_SEQPACKET sockets (checking that no fd
 * leaks), and run a deterministic mutation fuzzer over valid frames. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdpass.h"
#include "proto.h"


/* ck_assert reports every passing check to the runner (a write per check);
 * hot loops use this, which only reports failures. */
#define REQUIRE(cond, ...) do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)

/* ------------------------------------------------------------------------ */
/* Helpers: a hand-written frame builder, independent of the encoder.       */

struct raw {
	uint8_t b[2 * CC_MSG_MAX];
	size_t len;
};
static struct raw R;

static void raw_u8(struct raw *r, uint8_t v)
{
	REQUIRE(r->len < sizeof(r->b), "raw frame overflow");
	r->b[r->len++] = v;
}
static void raw_u16(struct raw *r, uint16_t v)
{
	raw_u8(r, (uint8_t)v);
	raw_u8(r, (uint8_t)(v >> 8));
}
static void raw_u32(struct raw *r, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		raw_u8(r, (uint8_t)(v >> (8 * i)));
}
static void raw_u64(struct raw *r, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		raw_u8(r, (uint8_t)(v >> (8 * i)));
}
static void raw_bytes(struct raw *r, const void *p, size_t n)
{
	REQUIRE(n <= sizeof(r->b) - r->len, "raw frame overflow");
	memcpy(r->b + r->len, p, n);
	r->len += n;
}
static void raw_str(struct raw *r, const char *s)
{
	raw_u32(r, (uint32_t)strlen(s));
	raw_bytes(r, s, strlen(s));
}
static void raw_hdr(struct raw *r, uint16_t version, uint16_t type, uint32_t seq)
{
	r->len = 0;
	raw_u32(r, 0);
	raw_u16(r, version);
	raw_u16(r, type);
	raw_u32(r, seq);
}
static void raw_setlen(struct raw *r, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		r->b[i] = (uint8_t)(v >> (8 * i));
}
static void raw_fix(struct raw *r)
{
	raw_setlen(r, (uint32_t)r->len);
}
static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* ------------------------------------------------------------------------ */
/* Sample messages of every type.                                           */

static char *argv_sample[] = { "/bin/sh", "-c", "echo 'hi there' | cat", "", NULL };
static char *envp_sample[] = { "PATH=/usr/bin:/bin", "TERM=xterm-256color", "X=", NULL };
static char *strv_empty[] = { NULL };

/* variant 0: ordinary values; 1: extremes (max integers, empty strings and
 * lists); 2: mixed. Strings point at literals: the encoder only reads. */
static void sample(unsigned type, int variant, struct cc_msg *m)
{
	const int ext = variant == 1;
	const uint32_t u32 = ext ? UINT32_MAX : variant == 2 ? 0 : 12345;
	const uint64_t u64 = ext ? UINT64_MAX : variant == 2 ? 1 : 0x0102030405060708ULL;
	char *s1 = ext ? "" : "/var/lib/crashcart/crashcart.img";
	char *s2 = ext ? "" : variant == 2 ? "x" : "docker";
	char **v1 = ext ? strv_empty : argv_sample;
	char **v2 = ext ? strv_empty : variant == 2 ? argv_sample : envp_sample;

	memset(m, 0, sizeof(*m));
	m->type = (uint16_t)type;
	m->seq = ext ? UINT32_MAX : 0x11223344u + (uint32_t)variant;
	switch (type) {
	case CC_MSG_ERROR:
		m->u.error.code = ext ? UINT32_MAX : EACCES;
		m->u.error.message = ext ? "" : "permission denied: not in group 'ops'";
		break;
	case CC_MSG_HELLO:
	case CC_MSG_HELLO_OK:
		m->u.hello.version = ext ? UINT32_MAX : CC_PROTO_VERSION;
		break;
	case CC_MSG_TARGET:
		m->u.target.action = ext ? UINT32_MAX : CC_ACT_EXEC;
		m->u.target.pid = u32;
		m->u.target.start_time = u64;
		m->u.target.spec = ext ? "" : "web-1";
		m->u.target.runtime = s2;
		m->u.target.id = ext ? "" : "0123456789abcdef";
		m->u.target.name = ext ? "" : "web 1 (prod)";
		m->u.target.resolve_error = variant == 2 ? "no such container" : "";
		break;
	case CC_MSG_TARGET_OK:
		m->u.target_ok.pid = u32;
		m->u.target_ok.start_time = u64;
		m->u.target_ok.cgroup = ext ? "" : "/system.slice/docker-0123.scope";
		break;
	case CC_MSG_MOUNT:
		m->u.mount.image = s1;
		m->u.mount.flags = ext ? UINT32_MAX : CC_MOUNT_PERSISTENT;
		break;
	case CC_MSG_MOUNT_OK:
		m->u.mount_ok.was_mounted = u32;
		m->u.mount_ok.source = s1;
		m->u.mount_ok.fstype = ext ? "" : "squashfs";
		m->u.mount_ok.tidied = ext ? s2 : "";
		break;
	case CC_MSG_UNMOUNT:
		m->u.unmount.flags = ext ? UINT32_MAX : CC_UNMOUNT_FORCE;
		break;
	case CC_MSG_UNMOUNT_OK:
		m->u.unmount_ok.was_mounted = u32;
		m->u.unmount_ok.tidied = ext ? "" : s2;
		break;
	case CC_MSG_EXEC:
		m->u.exec.argv = v1;
		m->u.exec.term = s2;
		m->u.exec.flags = ext ? UINT32_MAX : CC_EXEC_PTY;
		break;
	case CC_MSG_EXEC_VIA:
		m->u.exec_via.argv = v1;
		break;
	case CC_MSG_EXEC_VIA_OK:
	case CC_MSG_EXEC_VIA_END_OK:
	case CC_MSG_LAUNCH_END:
	case CC_MSG_LAUNCH_TRAIL:
		break;
	case CC_MSG_EXEC_DONE:
	case CC_MSG_EXEC_VIA_END:
		m->u.exit.kind = ext ? UINT32_MAX : CC_EXIT_SIGNALED;
		m->u.exit.value = u32;
		break;
	case CC_MSG_LAUNCH_DONE:
		m->u.exit.kind = ext ? UINT32_MAX : CC_EXIT_LOST;
		m->u.exit.value = u32;
		m->u.exit.ended = ext ? UINT32_MAX : 3;
		break;
	case CC_MSG_LAUNCH:
		m->u.launch.nsflags = u32;
		m->u.launch.keep_caps = u64;
		m->u.launch.argv = v1;
		m->u.launch.envp = v2;
		m->u.launch.flags = ext ? UINT32_MAX : CC_LAUNCH_CTTY;
		m->u.launch.creds = ext ? "" : "1000 1000 1000 1000 1000 1000 27 100";
		break;
	default:
		ck_abort_msg("no sample for type %u", type);
	}
}

#define NVARIANTS 3

static void assert_strv_eq(char *const *got, char *const *want, const char *what)
{
	ck_assert_msg(got != NULL, "%s: decoded list is NULL", what);
	size_t n = cc_strv_len(want);
	ck_assert_msg(cc_strv_len(got) == n, "%s: %zu strings, want %zu", what, cc_strv_len(got), n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(got[i], want[i]);
	ck_assert_ptr_null(got[n]);
}

static void assert_msg_eq(const struct cc_msg *a, const struct cc_msg *b)
{
	ck_assert_uint_eq(a->type, b->type);
	ck_assert_uint_eq(a->seq, b->seq);
	switch (a->type) {
	case CC_MSG_ERROR:
		ck_assert_uint_eq(a->u.error.code, b->u.error.code);
		ck_assert_str_eq(a->u.error.message, b->u.error.message);
		break;
	case CC_MSG_HELLO:
	case CC_MSG_HELLO_OK:
		ck_assert_uint_eq(a->u.hello.version, b->u.hello.version);
		break;
	case CC_MSG_TARGET:
		ck_assert_uint_eq(a->u.target.action, b->u.target.action);
		ck_assert_uint_eq(a->u.target.pid, b->u.target.pid);
		ck_assert_uint_eq(a->u.target.start_time, b->u.target.start_time);
		ck_assert_str_eq(a->u.target.spec, b->u.target.spec);
		ck_assert_str_eq(a->u.target.runtime, b->u.target.runtime);
		ck_assert_str_eq(a->u.target.id, b->u.target.id);
		ck_assert_str_eq(a->u.target.name, b->u.target.name);
		ck_assert_str_eq(a->u.target.resolve_error, b->u.target.resolve_error);
		break;
	case CC_MSG_TARGET_OK:
		ck_assert_uint_eq(a->u.target_ok.pid, b->u.target_ok.pid);
		ck_assert_uint_eq(a->u.target_ok.start_time, b->u.target_ok.start_time);
		ck_assert_str_eq(a->u.target_ok.cgroup, b->u.target_ok.cgroup);
		break;
	case CC_MSG_MOUNT:
		ck_assert_str_eq(a->u.mount.image, b->u.mount.image);
		ck_assert_uint_eq(a->u.mount.flags, b->u.mount.flags);
		break;
	case CC_MSG_MOUNT_OK:
		ck_assert_uint_eq(a->u.mount_ok.was_mounted, b->u.mount_ok.was_mounted);
		ck_assert_str_eq(a->u.mount_ok.source, b->u.mount_ok.source);
		ck_assert_str_eq(a->u.mount_ok.fstype, b->u.mount_ok.fstype);
		ck_assert_str_eq(a->u.mount_ok.tidied, b->u.mount_ok.tidied);
		break;
	case CC_MSG_UNMOUNT:
		ck_assert_uint_eq(a->u.unmount.flags, b->u.unmount.flags);
		break;
	case CC_MSG_UNMOUNT_OK:
		ck_assert_uint_eq(a->u.unmount_ok.was_mounted, b->u.unmount_ok.was_mounted);
		ck_assert_str_eq(a->u.unmount_ok.tidied, b->u.unmount_ok.tidied);
		break;
	case CC_MSG_EXEC:
		assert_strv_eq(a->u.exec.argv, b->u.exec.argv, "exec.argv");
		ck_assert_str_eq(a->u.exec.term, b->u.exec.term);
		ck_assert_uint_eq(a->u.exec.flags, b->u.exec.flags);
		break;
	case CC_MSG_EXEC_VIA:
		assert_strv_eq(a->u.exec_via.argv, b->u.exec_via.argv, "exec_via.argv");
		break;
	case CC_MSG_EXEC_VIA_OK:
	case CC_MSG_EXEC_VIA_END_OK:
	case CC_MSG_LAUNCH_END:
	case CC_MSG_LAUNCH_TRAIL:
		break;
	case CC_MSG_EXEC_DONE:
	case CC_MSG_LAUNCH_DONE:
	case CC_MSG_EXEC_VIA_END:
		ck_assert_uint_eq(a->u.exit.kind, b->u.exit.kind);
		ck_assert_uint_eq(a->u.exit.value, b->u.exit.value);
		if (a->type == CC_MSG_LAUNCH_DONE)
			ck_assert_uint_eq(a->u.exit.ended, b->u.exit.ended);
		break;
	case CC_MSG_LAUNCH:
		ck_assert_uint_eq(a->u.launch.nsflags, b->u.launch.nsflags);
		ck_assert_uint_eq(a->u.launch.keep_caps, b->u.launch.keep_caps);
		ck_assert_uint_eq(a->u.launch.flags, b->u.launch.flags);
		assert_strv_eq(a->u.launch.argv, b->u.launch.argv, "launch.argv");
		assert_strv_eq(a->u.launch.envp, b->u.launch.envp, "launch.envp");
		ck_assert_str_eq(a->u.launch.creds, b->u.launch.creds);
		break;
	default:
		ck_abort_msg("unexpected type %u", a->type);
	}
}

static void assert_zero(const void *p, size_t n, const char *what)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		REQUIRE(b[i] == 0, "%s: byte %zu is 0x%02x, not zero", what, i, b[i]);
}

static uint8_t encbuf[CC_MSG_MAX];

static int encode_ok(const struct cc_msg *m, uint8_t *buf)
{
	int n = cc_msg_encode(m, buf, CC_MSG_MAX);
	ck_assert_msg(n >= CC_HDR_SIZE, "encoding %s failed: %d", cc_msg_name(m->type), n);
	return n;
}

/* Decoding must fail with a negative errno, a message, and leave m empty. */
static int decode_fails(const uint8_t *buf, size_t len, size_t nfds, const char *what)
{
	struct cc_msg m;
	cc_error err;
	memset(&m, 0xa5, sizeof(m));
	memset(&err, 0, sizeof(err));
	int r = cc_msg_decode(buf, len, nfds, &m, &err);
	REQUIRE(r < 0, "%s: decode accepted a bad frame (r=%d, len=%zu, nfds=%zu)", what, r, len, nfds);
	REQUIRE(err.msg[0] != '\0', "%s: no error message", what);
	REQUIRE(memchr(err.msg, '\0', sizeof(err.msg)) != NULL, "%s: message not terminated", what);
	REQUIRE(err.code > 0 && r == -err.code, "%s: r=%d but err.code=%d", what, r, err.code);
	REQUIRE(m.type == 0 && m.nfds == 0, "%s: message not reset", what);
	assert_zero(&m.u, sizeof(m.u), what);
	return err.code;
}

static void decode_ok(const uint8_t *buf, size_t len, size_t nfds, struct cc_msg *m)
{
	cc_error err = { 0 };
	int r = cc_msg_decode(buf, len, nfds, m, &err);
	ck_assert_msg(r == 0, "decode failed (%d): %s", r, err.msg);
}

/* ------------------------------------------------------------------------ */
/* Round trips                                                              */

START_TEST(test_roundtrip)
{
	const unsigned type = (unsigned)_i;
	for (int v = 0; v < NVARIANTS; v++) {
		struct cc_msg in, out, again;
		uint8_t buf2[CC_MSG_MAX];
		sample(type, v, &in);
		int n = encode_ok(&in, encbuf);
		/* The header as documented: LE length, version, type, seq. */
		ck_assert_uint_eq((uint32_t)(encbuf[0] | encbuf[1] << 8 | encbuf[2] << 16 | (uint32_t)encbuf[3] << 24), (uint32_t)n);
		ck_assert_uint_eq(get_le16(encbuf + 4), CC_PROTO_VERSION);
		ck_assert_uint_eq(get_le16(encbuf + 6), type);

		memset(&out, 0x5a, sizeof(out));
		decode_ok(encbuf, (size_t)n, cc_msg_nfds(type), &out);
		assert_msg_eq(&out, &in);
		ck_assert_uint_eq(out.nfds, 0); /* decode attaches no fds; recv does */

		/* Re-encoding the decoded message gives the same bytes. */
		int n2 = cc_msg_encode(&out, buf2, sizeof(buf2));
		ck_assert_int_eq(n2, n);
		ck_assert_int_eq(memcmp(encbuf, buf2, (size_t)n), 0);

		/* The decoded copy owns its strings: a second decode is independent. */
		decode_ok(buf2, (size_t)n2, cc_msg_nfds(type), &again);
		memset(buf2, 0, sizeof(buf2));
		assert_msg_eq(&again, &in);
		cc_msg_clear(&again);
		cc_msg_clear(&out);
		assert_zero(&out, sizeof(out), "cleared message");
	}
}
END_TEST

/* The wire layout, pinned byte for byte against a hand-built frame. */
/* A regression test: TARGET's 8 fields once filled every slot of its spec
 * row, leaving no F_END, and the encoder walked into TARGET_OK's row. */
START_TEST(test_wire_layout_target)
{
	struct cc_msg m, out;
	int n;

	sample(CC_MSG_TARGET, 0, &m);
	n = encode_ok(&m, encbuf);
	raw_hdr(&R, CC_PROTO_VERSION, CC_MSG_TARGET, m.seq);
	raw_u32(&R, m.u.target.action);
	raw_u32(&R, m.u.target.pid);
	raw_u64(&R, m.u.target.start_time);
	raw_str(&R, m.u.target.spec);
	raw_str(&R, m.u.target.runtime);
	raw_str(&R, m.u.target.id);
	raw_str(&R, m.u.target.name);
	raw_str(&R, m.u.target.resolve_error);
	raw_fix(&R);
	ck_assert_uint_eq((size_t)n, R.len);
	ck_assert_int_eq(memcmp(encbuf, R.b, R.len), 0);
	/* The documented frame decodes, and its fields are the ones decoded. */
	decode_ok(R.b, R.len, 0, &out);
	assert_msg_eq(&out, &m);
	cc_msg_clear(&out);
	/* Anything after resolve_error is trailing garbage. */
	raw_u32(&R, 9);
	raw_u64(&R, 7);
	raw_str(&R, "EVIL");
	raw_fix(&R);
	decode_fails(R.b, R.len, 0, "TARGET with a second action/start_time/spec");
}
END_TEST

START_TEST(test_wire_layout)
{
	struct cc_msg m;
	int n;

	sample(CC_MSG_LAUNCH, 0, &m);
	n = encode_ok(&m, encbuf);
	raw_hdr(&R, CC_PROTO_VERSION, CC_MSG_LAUNCH, m.seq);
	raw_u32(&R, m.u.launch.nsflags);
	raw_u64(&R, m.u.launch.keep_caps);
	raw_u32(&R, 4);
	for (int i = 0; i < 4; i++)
		raw_str(&R, argv_sample[i]);
	raw_u32(&R, 3);
	for (int i = 0; i < 3; i++)
		raw_str(&R, envp_sample[i]);
	raw_u32(&R, m.u.launch.flags);
	raw_str(&R, m.u.launch.creds);
	raw_fix(&R);
	ck_assert_uint_eq((size_t)n, R.len);
	ck_assert_int_eq(memcmp(encbuf, R.b, R.len), 0);

	/* UNMOUNT: the header and its flags (u32 LE). */
	memset(&m, 0, sizeof(m));
	m.type = CC_MSG_UNMOUNT;
	m.seq = 0xfeedbeef;
	m.u.unmount.flags = CC_UNMOUNT_FORCE;
	ck_assert_int_eq(cc_msg_encode(&m, encbuf, sizeof(encbuf)), CC_HDR_SIZE + 4);
	static const uint8_t unm[CC_HDR_SIZE + 4] = { 16, 0, 0, 0, CC_PROTO_VERSION, 0, CC_MSG_UNMOUNT, 0,
						      0xef, 0xbe, 0xed, 0xfe, 1, 0, 0, 0 };
	ck_assert_int_eq(memcmp(encbuf, unm, sizeof(unm)), 0);
}
END_TEST

START_TEST(test_names_and_nfds)
{
	ck_assert_str_eq(cc_msg_name(CC_MSG_ERROR), "ERROR");
	ck_assert_str_eq(cc_msg_name(CC_MSG_HELLO), "HELLO");
	ck_assert_str_eq(cc_msg_name(CC_MSG_EXEC), "EXEC");
	ck_assert_str_eq(cc_msg_name(CC_MSG_LAUNCH_DONE), "LAUNCH_DONE");
	ck_assert_str_eq(cc_msg_name(CC_MSG_NONE), "UNKNOWN");
	ck_assert_str_eq(cc_msg_name(CC_MSG_TYPE_MAX), "UNKNOWN");
	ck_assert_str_eq(cc_msg_name(0xffffffffu), "UNKNOWN");
	for (unsigned t = CC_MSG_NONE + 1; t < CC_MSG_TYPE_MAX; t++) {
		ck_assert_str_ne(cc_msg_name(t), "UNKNOWN");
		size_t want = t == CC_MSG_EXEC ? 3 : t == CC_MSG_LAUNCH ? 4 : t == CC_MSG_LAUNCH_TRAIL ? 1 : 0;
		ck_assert_uint_eq(cc_msg_nfds(t), want);
		ck_assert_uint_le(cc_msg_nfds(t), CC_FDS_MAX);
	}
	ck_assert_uint_eq(cc_msg_nfds(CC_MSG_NONE), 0);
	ck_assert_uint_eq(cc_msg_nfds(CC_MSG_TYPE_MAX), 0);
}
END_TEST

START_TEST(test_u64_extremes)
{
	static const uint64_t vals[] = { 0, 1, 0xff, 0x100, UINT32_MAX, (uint64_t)UINT32_MAX + 1,
		0x8000000000000000ULL, UINT64_MAX - 1, UINT64_MAX };
	for (size_t i = 0; i < ARRAY_SIZE(vals); i++) {
		struct cc_msg in, out;
		sample(CC_MSG_TARGET_OK, 0, &in);
		in.u.target_ok.start_time = vals[i];
		in.u.target_ok.pid = (uint32_t)vals[i];
		int n = encode_ok(&in, encbuf);
		decode_ok(encbuf, (size_t)n, 0, &out);
		ck_assert_uint_eq(out.u.target_ok.start_time, vals[i]);
		ck_assert_uint_eq(out.u.target_ok.pid, (uint32_t)vals[i]);
		cc_msg_clear(&out);

		sample(CC_MSG_LAUNCH, 1, &in);
		in.u.launch.keep_caps = vals[i];
		n = encode_ok(&in, encbuf);
		decode_ok(encbuf, (size_t)n, 4, &out);
		ck_assert_uint_eq(out.u.launch.keep_caps, vals[i]);
		ck_assert_uint_eq(out.u.launch.nsflags, UINT32_MAX);
		cc_msg_clear(&out);
	}
}
END_TEST

/* Strings of every byte but NUL, at the size limit, and lists at theirs. */
START_TEST(test_string_limits_roundtrip)
{
	struct cc_msg in, out;
	char *big = malloc(CC_STR_MAX + 1);
	ck_assert_ptr_nonnull(big);
	for (size_t i = 0; i < CC_STR_MAX; i++)
		big[i] = (char)(1 + i % 255); /* bytes 0x01..0xff, incl. non-UTF-8 */
	big[CC_STR_MAX] = '\0';
	sample(CC_MSG_ERROR, 0, &in);
	in.u.error.message = big;
	int n = encode_ok(&in, encbuf);
	ck_assert_int_eq(n, CC_HDR_SIZE + 4 + 4 + CC_STR_MAX);
	decode_ok(encbuf, (size_t)n, 0, &out);
	ck_assert_uint_eq(strlen(out.u.error.message), CC_STR_MAX);
	ck_assert_int_eq(memcmp(out.u.error.message, big, CC_STR_MAX), 0);
	cc_msg_clear(&out);

	/* A list of CC_STRV_MAX strings. */
	char **list = calloc(CC_STRV_MAX + 1, sizeof(char *));
	ck_assert_ptr_nonnull(list);
	for (size_t i = 0; i < CC_STRV_MAX; i++)
		list[i] = i % 2 ? "" : "arg";
	sample(CC_MSG_EXEC, 0, &in);
	in.u.exec.argv = list;
	n = encode_ok(&in, encbuf);
	decode_ok(encbuf, (size_t)n, 3, &out);
	assert_strv_eq(out.u.exec.argv, list, "argv at the limit");
	cc_msg_clear(&out);

	/* A NULL list is encoded as an empty one. */
	in.u.exec.argv = NULL;
	n = encode_ok(&in, encbuf);
	decode_ok(encbuf, (size_t)n, 3, &out);
	ck_assert_ptr_nonnull(out.u.exec.argv);
	ck_assert_ptr_null(out.u.exec.argv[0]);
	cc_msg_clear(&out);
	free(list);
	free(big);
}
END_TEST

/* A LAUNCH frame of exactly CC_MSG_MAX bytes: 40 bytes of header, fixed
 * fields and the empty creds, then 16 strings of 4 + 4090 bytes, the first
 * 8 bytes shorter. */
static char **max_frame_argv(size_t extra)
{
	char **argv = calloc(17, sizeof(char *));
	ck_assert_ptr_nonnull(argv);
	for (int i = 0; i < 16; i++) {
		size_t len = 4090 + (i == 0 ? extra - 8 : 0);
		argv[i] = malloc(len + 1);
		ck_assert_ptr_nonnull(argv[i]);
		memset(argv[i], 'a' + i, len);
		argv[i][len] = '\0';
	}
	return argv;
}

START_TEST(test_max_frame)
{
	struct cc_msg in, out;
	sample(CC_MSG_LAUNCH, 1, &in);
	in.u.launch.argv = max_frame_argv(0);
	int n = cc_msg_encode(&in, encbuf, sizeof(encbuf));
	ck_assert_int_eq(n, CC_MSG_MAX);
	decode_ok(encbuf, (size_t)n, 4, &out);
	assert_msg_eq(&out, &in);
	cc_msg_clear(&out);
	cc_strv_free(in.u.launch.argv);

	/* One byte more does not encode, however big the buffer. */
	static uint8_t big[2 * CC_MSG_MAX];
	in.u.launch.argv = max_frame_argv(1);
	ck_assert_int_eq(cc_msg_encode(&in, big, sizeof(big)), -EMSGSIZE);
	cc_strv_free(in.u.launch.argv);
}
END_TEST

START_TEST(test_msg_clear)
{
	struct cc_msg m;
	int p[2], q[2];

	/* Frees what decode allocated (valgrind) and zeroes everything. */
	for (unsigned t = 1; t < CC_MSG_TYPE_MAX; t++) {
		struct cc_msg in;
		sample(t, 0, &in);
		int n = encode_ok(&in, encbuf);
		decode_ok(encbuf, (size_t)n, cc_msg_nfds(t), &m);
		cc_msg_clear(&m);
		assert_zero(&m, sizeof(m), "cleared message");
	}

	/* Closes the fds it holds, and only those. */
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(pipe(q), 0);
	memset(&m, 0, sizeof(m));
	m.type = CC_MSG_EXEC;
	m.fds[0] = p[0];
	m.fds[1] = -1;
	m.fds[2] = p[1];
	m.fds[3] = q[0]; /* beyond nfds: not ours */
	m.nfds = 3;
	cc_msg_clear(&m);
	assert_zero(&m, sizeof(m), "cleared message");
	errno = 0;
	ck_assert_int_eq(fcntl(p[0], F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(fcntl(p[1], F_GETFD), -1);
	ck_assert_int_ge(fcntl(q[0], F_GETFD), 0);
	close(q[0]);
	close(q[1]);

	/* Clearing an empty message is harmless, twice. */
	memset(&m, 0, sizeof(m));
	cc_msg_clear(&m);
	cc_msg_clear(&m);
	assert_zero(&m, sizeof(m), "cleared message");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Encoder failures                                                         */

struct str_field { unsigned type; size_t offset; };
static const struct str_field str_fields[] = {
	{ CC_MSG_ERROR, offsetof(struct cc_msg, u.error.message) },
	{ CC_MSG_TARGET, offsetof(struct cc_msg, u.target.spec) },
	{ CC_MSG_TARGET, offsetof(struct cc_msg, u.target.runtime) },
	{ CC_MSG_TARGET, offsetof(struct cc_msg, u.target.id) },
	{ CC_MSG_TARGET, offsetof(struct cc_msg, u.target.name) },
	{ CC_MSG_TARGET, offsetof(struct cc_msg, u.target.resolve_error) },
	{ CC_MSG_TARGET_OK, offsetof(struct cc_msg, u.target_ok.cgroup) },
	{ CC_MSG_MOUNT, offsetof(struct cc_msg, u.mount.image) },
	{ CC_MSG_MOUNT_OK, offsetof(struct cc_msg, u.mount_ok.source) },
	{ CC_MSG_MOUNT_OK, offsetof(struct cc_msg, u.mount_ok.fstype) },
	{ CC_MSG_MOUNT_OK, offsetof(struct cc_msg, u.mount_ok.tidied) },
	{ CC_MSG_UNMOUNT_OK, offsetof(struct cc_msg, u.unmount_ok.tidied) },
	{ CC_MSG_EXEC, offsetof(struct cc_msg, u.exec.term) },
};

START_TEST(test_encode_null_string)
{
	for (size_t i = 0; i < ARRAY_SIZE(str_fields); i++) {
		struct cc_msg m;
		sample(str_fields[i].type, 0, &m);
		*(char **)(void *)((char *)&m + str_fields[i].offset) = NULL;
		ck_assert_msg(cc_msg_encode(&m, encbuf, sizeof(encbuf)) == -EINVAL,
			      "%s with a NULL string field #%zu encoded", cc_msg_name(m.type), i);
	}
}
END_TEST

START_TEST(test_encode_too_long)
{
	char *big = malloc(CC_STR_MAX + 2);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', CC_STR_MAX + 1);
	big[CC_STR_MAX + 1] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(str_fields); i++) {
		struct cc_msg m;
		sample(str_fields[i].type, 0, &m);
		*(char **)(void *)((char *)&m + str_fields[i].offset) = big;
		ck_assert_msg(cc_msg_encode(&m, encbuf, sizeof(encbuf)) == -EMSGSIZE,
			      "%s with a string of %d bytes encoded", cc_msg_name(m.type), CC_STR_MAX + 1);
	}

	/* Too long a string inside a list. */
	char *argv[] = { "ok", big, NULL };
	struct cc_msg m;
	sample(CC_MSG_EXEC, 0, &m);
	m.u.exec.argv = argv;
	ck_assert_int_eq(cc_msg_encode(&m, encbuf, sizeof(encbuf)), -EMSGSIZE);
	free(big);

	/* Too many strings in a list. */
	char **list = calloc(CC_STRV_MAX + 2, sizeof(char *));
	ck_assert_ptr_nonnull(list);
	for (size_t i = 0; i < CC_STRV_MAX + 1; i++)
		list[i] = "";
	sample(CC_MSG_LAUNCH, 0, &m);
	m.u.launch.argv = list;
	ck_assert_int_eq(cc_msg_encode(&m, encbuf, sizeof(encbuf)), -EMSGSIZE);
	sample(CC_MSG_LAUNCH, 0, &m);
	m.u.launch.envp = list;
	ck_assert_int_eq(cc_msg_encode(&m, encbuf, sizeof(encbuf)), -EMSGSIZE);
	sample(CC_MSG_EXEC, 0, &m);
	m.u.exec.argv = list;
	ck_assert_int_eq(cc_msg_encode(&m, encbuf, sizeof(encbuf)), -EMSGSIZE);
	free(list);
}
END_TEST

START_TEST(test_encode_bad_type)
{
	static const unsigned types[] = { CC_MSG_NONE, CC_MSG_TYPE_MAX, CC_MSG_TYPE_MAX + 1, 0xffff };
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		struct cc_msg m = { .type = (uint16_t)types[i], .seq = 1 };
		ck_assert_int_eq(cc_msg_encode(&m, encbuf, sizeof(encbuf)), -EINVAL);
	}
}
END_TEST

/* A buffer too small fails with -EMSGSIZE and is never written past its end. */
START_TEST(test_encode_small_buffer)
{
	static uint8_t buf[CC_MSG_MAX + 16];
	for (unsigned t = 1; t < CC_MSG_TYPE_MAX; t++) {
		struct cc_msg m;
		sample(t, 0, &m);
		int full = encode_ok(&m, encbuf);
		for (int cap = 0; cap < full; cap++) {
			memset(buf, 0xcc, (size_t)full + 16);
			REQUIRE(cc_msg_encode(&m, buf, (size_t)cap) == -EMSGSIZE,
				      "%s encoded into %d of %d bytes", cc_msg_name(t), cap, full);
			for (int i = cap; i < full + 16; i++)
				REQUIRE(buf[i] == 0xcc, "%s: cap %d, byte %d written", cc_msg_name(t), cap, i);
		}
		memset(buf, 0xcc, (size_t)full + 16);
		ck_assert_int_eq(cc_msg_encode(&m, buf, (size_t)full), full);
		ck_assert_int_eq(memcmp(buf, encbuf, (size_t)full), 0);
		ck_assert_uint_eq(buf[full], 0xcc);
	}
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Decoder: malformed frames                                                */

START_TEST(test_decode_short)
{
	struct cc_msg m;
	sample(CC_MSG_HELLO, 0, &m);
	int n = encode_ok(&m, encbuf);
	ck_assert_int_eq(n, CC_HDR_SIZE + 4);
	for (size_t len = 0; len < CC_HDR_SIZE; len++) {
		uint8_t tmp[CC_HDR_SIZE];
		memcpy(tmp, encbuf, sizeof(tmp));
		put_le32(tmp, (uint32_t)len); /* even when the length says so */
		ck_assert_int_eq(decode_fails(tmp, len, 0, "short frame, patched length"), EBADMSG);
		ck_assert_int_eq(decode_fails(encbuf, len, 0, "short frame"), EBADMSG);
	}
	/* NULL buffer with zero length */
	ck_assert_int_eq(decode_fails(NULL, 0, 0, "empty"), EBADMSG);
}
END_TEST

START_TEST(test_decode_length_mismatch)
{
	for (unsigned t = 1; t < CC_MSG_TYPE_MAX; t++) {
		struct cc_msg m;
		sample(t, 0, &m);
		int n = encode_ok(&m, encbuf);
		const uint32_t lies[] = { 0, 1, CC_HDR_SIZE - 1, CC_HDR_SIZE, (uint32_t)n - 1, (uint32_t)n + 1,
			(uint32_t)n + 4, CC_MSG_MAX, CC_MSG_MAX + 1, 0x80000000u, UINT32_MAX };
		for (size_t i = 0; i < ARRAY_SIZE(lies); i++) {
			if (lies[i] == (uint32_t)n)
				continue;
			put_le32(encbuf, lies[i]);
			decode_fails(encbuf, (size_t)n, cc_msg_nfds(t), "length field lies");
		}
		/* The datagram longer than the length field says (trailing junk the
		 * length does not cover), and shorter. */
		put_le32(encbuf, (uint32_t)n);
		decode_fails(encbuf, (size_t)n + 1, cc_msg_nfds(t), "datagram longer than its length");
		decode_fails(encbuf, (size_t)n - 1, cc_msg_nfds(t), "datagram shorter than its length");
	}
}
END_TEST

START_TEST(test_decode_version)
{
	static const uint16_t versions[] = { 0, CC_PROTO_VERSION + 1, 0x100 | CC_PROTO_VERSION, 0xffff };
	struct cc_msg m;
	sample(CC_MSG_HELLO, 0, &m);
	int n = encode_ok(&m, encbuf);
	for (size_t i = 0; i < ARRAY_SIZE(versions); i++) {
		encbuf[4] = (uint8_t)versions[i];
		encbuf[5] = (uint8_t)(versions[i] >> 8);
		ck_assert_int_eq(decode_fails(encbuf, (size_t)n, 0, "wrong version"), EPROTO);
	}
}
END_TEST

START_TEST(test_decode_bad_type)
{
	/* Type 0 and every value from CC_MSG_TYPE_MAX up, header-only and with a body. */
	uint8_t frame[CC_HDR_SIZE + 8];
	for (uint32_t t = 0; t <= 0xffff; t = t == 0 ? CC_MSG_TYPE_MAX : t + 1) {
		for (size_t nfds = 0; nfds <= 1; nfds++) {
			raw_hdr(&R, CC_PROTO_VERSION, (uint16_t)t, 7);
			raw_fix(&R);
			REQUIRE(decode_fails(R.b, R.len, nfds, "bad type") == EBADMSG, "type %u: not EBADMSG", t);
		}
		raw_hdr(&R, CC_PROTO_VERSION, (uint16_t)t, 7);
		raw_u32(&R, 1);
		raw_u32(&R, 0);
		raw_fix(&R);
		memcpy(frame, R.b, R.len);
		REQUIRE(decode_fails(frame, R.len, 0, "bad type with body") == EBADMSG, "type %u: not EBADMSG", t);
	}
}
END_TEST

START_TEST(test_decode_wrong_nfds)
{
	for (unsigned t = 1; t < CC_MSG_TYPE_MAX; t++) {
		struct cc_msg m;
		sample(t, 0, &m);
		int n = encode_ok(&m, encbuf);
		for (size_t nfds = 0; nfds <= CC_FDS_MAX + 2; nfds++) {
			if (nfds == cc_msg_nfds(t))
				continue;
			ck_assert_int_eq(decode_fails(encbuf, (size_t)n, nfds, "wrong number of fds"), EBADMSG);
		}
		ck_assert_int_eq(decode_fails(encbuf, (size_t)n, SIZE_MAX, "SIZE_MAX fds"), EBADMSG);
	}
}
END_TEST

/* Every strict prefix of every valid frame fails, with the length field
 * patched to match (so the field decoders are the ones that must notice), and
 * one byte appended fails too. */
START_TEST(test_decode_truncated_everywhere)
{
	static uint8_t tmp[CC_MSG_MAX + 1];
	for (unsigned t = 1; t < CC_MSG_TYPE_MAX; t++) {
		for (int v = 0; v < NVARIANTS; v++) {
			struct cc_msg m;
			sample(t, v, &m);
			int n = encode_ok(&m, encbuf);
			for (int k = CC_HDR_SIZE; k < n; k++) {
				memcpy(tmp, encbuf, (size_t)k);
				put_le32(tmp, (uint32_t)k);
				REQUIRE(decode_fails(tmp, (size_t)k, cc_msg_nfds(t), "truncated frame") == EBADMSG,
					"%s cut at %d: not EBADMSG", cc_msg_name(t), k);
			}
			for (int junk = 0; junk < 256; junk += 85) {
				memcpy(tmp, encbuf, (size_t)n);
				tmp[n] = (uint8_t)junk;
				put_le32(tmp, (uint32_t)n + 1);
				ck_assert_int_eq(decode_fails(tmp, (size_t)n + 1, cc_msg_nfds(t), "trailing byte"), EBADMSG);
			}
		}
	}
}
END_TEST

START_TEST(test_decode_truncated_ints)
{
	/* HELLO: u32 cut after 0..3 bytes. */
	for (int k = 0; k < 4; k++) {
		raw_hdr(&R, CC_PROTO_VERSION, CC_MSG_HELLO, 1);
		for (int i = 0; i < k; i++)
			raw_u8(&R, 1);
		raw_fix(&R);
		decode_fails(R.b, R.len, 0, "truncated u32");
	}
	/* TARGET_OK: u64 cut after 0..7 bytes. */
	for (int k = 0; k < 8; k++) {
		raw_hdr(&R, CC_PROTO_VERSION, CC_MSG_TARGET_OK, 1);
		raw_u32(&R, 42);
		for (int i = 0; i < k; i++)
			raw_u8(&R, 0xff);
		raw_fix(&R);
		decode_fails(R.b, R.len, 0, "truncated u64");
	}
	/* The same frame completed is fine. */
	raw_hdr(&R, CC_PROTO_VERSION, CC_MSG_TARGET_OK, 1);
	raw_u32(&R, 42);
	raw_u64(&R, UINT64_MAX);
	raw_str(&R, "/");
	raw_fix(&R);
	struct cc_msg m;
	decode_ok(R.b, R.len, 0, &m);
	ck_assert_uint_eq(m.u.target_ok.start_time, UINT64_MAX);
	ck_assert_str_eq(m.u.target_ok.cgroup, "/");
	cc_msg_clear(&m);
}
END_TEST

/* An ERROR frame whose message field is given as a raw length and bytes. */
static void raw_error(uint32_t slen, const void *bytes, size_t nbytes)
{
	raw_hdr(&R, CC_PROTO_VERSION, CC_MSG_ERROR, 9);
	raw_u32(&R, EPERM);
	raw_u32(&R, slen);
	raw_bytes(&R, bytes, nbytes);
	raw_fix(&R);
}

START_TEST(test_decode_bad_strings)
{
	static char bytes[CC_STR_MAX + 8];
	struct cc_msg m;
	memset(bytes, 'q', sizeof(bytes));

	/* Length past the end. */
	raw_error(10, bytes, 5);
	ck_assert_int_eq(decode_fails(R.b, R.len, 0, "string past end"), EBADMSG);
	raw_error(1, bytes, 0);
	decode_fails(R.b, R.len, 0, "string past end by one");
	raw_error(UINT32_MAX, bytes, 16);
	decode_fails(R.b, R.len, 0, "string length 2^32-1");
	raw_error(0x80000000u, bytes, 16);
	decode_fails(R.b, R.len, 0, "string length 2^31");
	/* Length field itself truncated. */
	for (int k = 0; k < 4; k++) {
		raw_hdr(&R, CC_PROTO_VERSION, CC_MSG_ERROR, 9);
		raw_u32(&R, EPERM);
		for (int i = 0; i < k; i++)
			raw_u8(&R, 0);
		raw_fix(&R);
		decode_fails(R.b, R.len, 0, "string length truncated");
	}

	/* Over the limit, with all the bytes present: the limit alone rejects. */
	raw_error(CC_STR_MAX + 1, bytes, CC_STR_MAX + 1);
	ck_assert_int_eq(decode_fails(R.b, R.len, 0, "string over CC_STR_MAX"), EBADMSG);
	raw_error(CC_STR_MAX, bytes, CC_STR_MAX);
	decode_ok(R.b, R.len, 0, &m);
	ck_assert_uint_eq(strlen(m.u.error.message), CC_STR_MAX);
	cc_msg_clear(&m);

	/* Embedded NUL, at the start, middle, and end. */
	static const char *const nul[] = { "\0abc", "ab\0cd", "abc\0", "\0", "a\0\0b" };
	static const size_t nul_len[] = { 4, 5, 4, 1, 4 };
	for (size_t i = 0; i < ARRAY_SIZE(nul); i++) {
		raw_error((uint32_t)nul_len[i], nul[i], nul_len[i]);
		ck_assert_int_eq(decode_fails(R.b, R.len, 0, "string with NUL"), EBADMSG);
	}
	/* In a list, and as a later string of TARGET (earlier ones allocated). */
	raw_hdr(&R, CC_PROTO_VERSION, CC_MSG_EXEC, 1);
	raw_u32(&R, 2);
	raw_str(&R, "ok");
	raw_u32(&R, 3);
	raw_bytes(&R, "a\0b", 3);
	raw_str(&R, "xterm");
	raw_fix(&R);
	decode_fails(R.b, R.len, 3, "list string with NUL");
	raw_hdr(&R, CC_PROTO_VERSION, CC_MSG_TARGET, 1);
	raw_u32(&R, CC_ACT_EXEC);
	raw_u32(&R, 1);
	raw_u64(&R, 2);
	raw_str(&R, "spec");
	raw_str(&R, "runtime");
	raw_str(&R, "id");
	raw_u32(&R, 2);
	raw_bytes(&R, "\0x", 2);
	raw_str(&R, "");
	raw_fix(&R);
	decode_fails(R.b, R.len, 0, "4th string with NUL");

	/* Empty strings are fine. */
	raw_error(0, bytes, 0);
	decode_ok(R.b, R.len, 0, &m);
	ck_assert_str_eq(m.u.error.message, "");
	cc_msg_clear(&m);
}
END_TEST

static void raw_exec_list(uint32_t count, uint32_t present)
{
	raw_hdr(&R, CC_PROTO_VERSION, CC_MSG_EXEC, 3);
	raw_u32(&R, count);
	for (uint32_t i = 0; i < present; i++)
		raw_str(&R, i % 3 ? "" : "s");
	raw_str(&R, "dumb");
	raw_u32(&R, 0); /* flags */
	raw_fix(&R);
}

START_TEST(test_decode_bad_lists)
{
	struct cc_msg m;
	/* Over the limit with all the strings present. */
	raw_exec_list(CC_STRV_MAX + 1, CC_STRV_MAX + 1);
	ck_assert_int_eq(decode_fails(R.b, R.len, 3, "list over CC_STRV_MAX"), EBADMSG);
	raw_exec_list(CC_STRV_MAX, CC_STRV_MAX);
	decode_ok(R.b, R.len, 3, &m);
	ck_assert_uint_eq(cc_strv_len(m.u.exec.argv), CC_STRV_MAX);
	ck_assert_str_eq(m.u.exec.term, "dumb");
	cc_msg_clear(&m);
	raw_exec_list(UINT32_MAX, 4);
	decode_fails(R.b, R.len, 3, "list count 2^32-1");
	raw_exec_list(0x40000000u, 4);
	decode_fails(R.b, R.len, 3, "list count 2^30");

	/* Count past the end: the strings are missing (the term is read as one). */
	raw_exec_list(3, 2);
	decode_fails(R.b, R.len, 3, "list count past end");
	raw_exec_list(CC_STRV_MAX, 0);
	decode_fails(R.b, R.len, 3, "list count past end, big");
	/* Count past the end with nothing after it. */
	raw_hdr(&R, CC_PROTO_VERSION, CC_MSG_EXEC, 3);
	raw_u32(&R, 1);
	raw_fix(&R);
	decode_fails(R.b, R.len, 3, "list count, no strings");
	/* The list's count truncated. */
	for (int k = 0; k < 4; k++) {
		raw_hdr(&R, CC_PROTO_VERSION, CC_MSG_EXEC, 3);
		for (int i = 0; i < k; i++)
			raw_u8(&R, 0);
		raw_fix(&R);
		decode_fails(R.b, R.len, 3, "list count truncated");
	}
	/* A string inside the list runs past the end. */
	raw_hdr(&R, CC_PROTO_VERSION, CC_MSG_EXEC, 3);
	raw_u32(&R, 2);
	raw_str(&R, "first");
	raw_u32(&R, 100);
	raw_bytes(&R, "short", 5);
	raw_fix(&R);
	decode_fails(R.b, R.len, 3, "list string past end");
	/* The second list of LAUNCH is bad after the first was allocated. */
	raw_hdr(&R, CC_PROTO_VERSION, CC_MSG_LAUNCH, 3);
	raw_u32(&R, 0);
	raw_u64(&R, 0);
	raw_u32(&R, 2);
	raw_str(&R, "a");
	raw_str(&R, "b");
	raw_u32(&R, CC_STRV_MAX + 1);
	raw_fix(&R);
	decode_fails(R.b, R.len, 4, "second list over limit");

	/* Count too small leaves trailing bytes. */
	raw_exec_list(1, 2);
	decode_fails(R.b, R.len, 3, "list count too small");
}
END_TEST

START_TEST(test_decode_trailing)
{
	for (unsigned t = 1; t < CC_MSG_TYPE_MAX; t++) {
		struct cc_msg m;
		sample(t, 0, &m);
		int n = encode_ok(&m, encbuf);
		for (int extra = 1; extra <= 9; extra += 4) {
			memset(encbuf + n, 0, (size_t)extra);
			put_le32(encbuf, (uint32_t)(n + extra));
			ck_assert_int_eq(decode_fails(encbuf, (size_t)(n + extra), cc_msg_nfds(t), "trailing bytes"), EBADMSG);
		}
	}
}
END_TEST

START_TEST(test_decode_too_big)
{
	/* A frame of more than CC_MSG_MAX bytes is refused even if it is
	 * otherwise well formed (here: an ERROR padded with trailing data and a
	 * LAUNCH whose strings add up). */
	static uint8_t big[CC_MSG_MAX + 64];
	struct cc_msg m;
	sample(CC_MSG_LAUNCH, 1, &m);
	m.u.launch.argv = max_frame_argv(0);
	int n = encode_ok(&m, big);
	ck_assert_int_eq(n, CC_MSG_MAX);
	cc_strv_free(m.u.launch.argv);
	/* Grow the first string by 1 byte by hand: +1 length, insert a byte. */
	size_t first_len_at = CC_HDR_SIZE + 4 + 8 + 4;
	ck_assert_uint_eq(big[first_len_at] | big[first_len_at + 1] << 8, 4082);
	memmove(big + first_len_at + 4 + 1, big + first_len_at + 4, (size_t)n - first_len_at - 4);
	big[first_len_at + 4] = 'a';
	put_le32(big + first_len_at, 4083);
	put_le32(big, CC_MSG_MAX + 1);
	ck_assert_int_eq(decode_fails(big, CC_MSG_MAX + 1, 4, "frame over CC_MSG_MAX"), EBADMSG);
	decode_fails(big, CC_MSG_MAX + 1, 0, "frame over CC_MSG_MAX, no fds");
	put_le32(big, CC_MSG_MAX + 64);
	decode_fails(big, CC_MSG_MAX + 64, 4, "frame over CC_MSG_MAX by 64");
	put_le32(big, UINT32_MAX);
	decode_fails(big, (size_t)UINT32_MAX, 4, "frame of 4 GiB (length only)");
	decode_fails(big, SIZE_MAX, 4, "frame of SIZE_MAX (length only)");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Real sockets                                                             */

struct fdset {
	int n;
	int fd[1024];
};

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static void fd_snapshot(struct fdset *s)
{
	DIR *d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	int self = dirfd(d);
	struct dirent *e;
	s->n = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		if (fd == self)
			continue;
		ck_assert_int_lt(s->n, (int)ARRAY_SIZE(s->fd));
		s->fd[s->n++] = fd;
	}
	closedir(d);
	qsort(s->fd, (size_t)s->n, sizeof(int), cmp_int);
}

static void assert_same_fds(const struct fdset *a, const struct fdset *b, const char *what)
{
	char desc[512] = "";
	size_t off = 0;
	for (int i = 0; i < b->n && off < sizeof(desc) - 16; i++)
		off += (size_t)snprintf(desc + off, sizeof(desc) - off, " %d", b->fd[i]);
	ck_assert_msg(a->n == b->n && memcmp(a->fd, b->fd, (size_t)a->n * sizeof(int)) == 0,
		      "%s: fd leak, %d open before, %d after (now:%s)", what, a->n, b->n, desc);
}

static void seqpacket(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

/* sendmsg with an arbitrary number of fds, bypassing the checked sender. */
static void send_raw(int sock, const void *buf, size_t len, const int *fds, size_t nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 250)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ck_assert_uint_le(nfds, 250);
	if (nfds) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	ck_assert_msg(n == (ssize_t)len, "sendmsg: %zd (%s)", n, strerror(errno));
}

static void assert_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);
	ck_assert_int_ge(fl, 0);
	ck_assert_msg(fl & FD_CLOEXEC, "received fd %d is not O_CLOEXEC", fd);
}

/* fd a and fd b are the two ends of one pipe: data goes from w to r. */
static void assert_pipe_works(int w, int r, const char *token)
{
	char buf[32] = "";
	size_t n = strlen(token);
	ck_assert_int_eq(write(w, token, n), (ssize_t)n);
	ck_assert_int_eq(read(r, buf, sizeof(buf)), (ssize_t)n);
	ck_assert_int_eq(memcmp(buf, token, n), 0);
}

START_TEST(test_sock_roundtrip_fds)
{
	int sv[2], p[2], q[2];
	struct fdset before, after;
	cc_error err = { 0 };
	struct cc_msg in, out;

	seqpacket(sv);
	ck_assert_int_eq(pipe(p), 0); /* deliberately without O_CLOEXEC */
	ck_assert_int_eq(pipe(q), 0);
	fd_snapshot(&before);

	/* EXEC: stdin, stdout, stderr */
	sample(CC_MSG_EXEC, 0, &in);
	in.fds[0] = p[0];
	in.fds[1] = p[1];
	in.fds[2] = q[1];
	in.nfds = 3;
	ck_assert_int_eq(cc_msg_send(sv[0], &in, &err), 0);
	memset(&out, 0x5a, sizeof(out));
	ck_assert_int_eq(cc_msg_recv(sv[1], &out, &err), 1);
	assert_msg_eq(&out, &in);
	ck_assert_uint_eq(out.nfds, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_cloexec(out.fds[i]);
		for (size_t j = 0; j < 3; j++)
			ck_assert_int_ne(out.fds[i], in.fds[j]); /* new descriptors */
	}
	assert_pipe_works(out.fds[1], p[0], "recv-w>orig-r");
	assert_pipe_works(p[1], out.fds[0], "orig-w>recv-r");
	assert_pipe_works(out.fds[2], q[0], "stderr");
	cc_msg_clear(&out);
	fd_snapshot(&after);
	assert_same_fds(&before, &after, "after clearing the EXEC");

	/* LAUNCH: pidfd (here a pipe end), stdin, stdout, stderr */
	sample(CC_MSG_LAUNCH, 0, &in);
	in.fds[0] = q[0];
	in.fds[1] = p[0];
	in.fds[2] = p[1];
	in.fds[3] = q[1];
	in.nfds = 4;
	ck_assert_int_eq(cc_msg_send(sv[1], &in, &err), 0); /* the other way */
	ck_assert_int_eq(cc_msg_recv(sv[0], &out, &err), 1);
	assert_msg_eq(&out, &in);
	ck_assert_uint_eq(out.nfds, 4);
	for (size_t i = 0; i < 4; i++)
		assert_cloexec(out.fds[i]);
	assert_pipe_works(out.fds[3], out.fds[0], "launch");
	cc_msg_clear(&out);

	/* Messages without fds, every type. */
	for (unsigned t = 1; t < CC_MSG_TYPE_MAX; t++) {
		if (cc_msg_nfds(t))
			continue;
		sample(t, 1, &in);
		ck_assert_int_eq(cc_msg_send(sv[0], &in, &err), 0);
		ck_assert_int_eq(cc_msg_recv(sv[1], &out, &err), 1);
		assert_msg_eq(&out, &in);
		ck_assert_uint_eq(out.nfds, 0);
		cc_msg_clear(&out);
	}

	fd_snapshot(&after);
	assert_same_fds(&before, &after, "after the round trips");
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_sock_max_frame)
{
	int sv[2], p[2];
	cc_error err = { 0 };
	struct cc_msg in, out;
	seqpacket(sv);
	ck_assert_int_eq(pipe(p), 0);
	sample(CC_MSG_LAUNCH, 1, &in);
	in.u.launch.argv = max_frame_argv(0);
	in.fds[0] = in.fds[1] = p[0];
	in.fds[2] = in.fds[3] = p[1];
	in.nfds = 4;
	ck_assert_int_eq(cc_msg_send(sv[0], &in, &err), 0);
	ck_assert_int_eq(cc_msg_recv(sv[1], &out, &err), 1);
	assert_msg_eq(&out, &in);
	cc_msg_clear(&out);
	cc_strv_free(in.u.launch.argv);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_sock_send_checks)
{
	int sv[2], p[2];
	cc_error err;
	struct cc_msg m;
	seqpacket(sv);
	ck_assert_int_eq(pipe(p), 0);

	/* The sender refuses a wrong number of fds for the type. */
	sample(CC_MSG_EXEC, 0, &m);
	m.fds[0] = m.fds[1] = p[0];
	m.nfds = 2;
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(cc_msg_send(sv[0], &m, &err), -EINVAL);
	ck_assert_str_ne(err.msg, "");
	sample(CC_MSG_HELLO, 0, &m);
	m.fds[0] = p[0];
	m.nfds = 1;
	ck_assert_int_lt(cc_msg_send(sv[0], &m, &err), 0);
	/* An unencodable message. */
	sample(CC_MSG_MOUNT, 0, &m);
	m.u.mount.image = NULL;
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(cc_msg_send(sv[0], &m, &err), -EINVAL);
	ck_assert_str_ne(err.msg, "");
	/* Nothing was sent. */
	char c;
	ck_assert_int_eq(recv(sv[1], &c, 1, MSG_DONTWAIT), -1);
	ck_assert_int_eq(errno, EAGAIN);

	/* A closed peer: EPIPE, without SIGPIPE. */
	close(sv[1]);
	sample(CC_MSG_HELLO, 0, &m);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(cc_msg_send(sv[0], &m, &err), -EPIPE);
	ck_assert_str_ne(err.msg, "");
	close(sv[0]);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_sock_eof)
{
	int sv[2];
	cc_error err = { 0 };
	struct cc_msg m;
	seqpacket(sv);
	close(sv[0]);
	memset(&m, 0x5a, sizeof(m));
	ck_assert_int_eq(cc_msg_recv(sv[1], &m, &err), 0);
	assert_zero(&m, sizeof(m), "message after EOF");
	ck_assert_int_eq(cc_msg_recv(sv[1], &m, &err), 0); /* and again */
	close(sv[1]);

	/* A receive error (not a socket) is an error, not EOF. */
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	memset(&err, 0, sizeof(err));
	ck_assert_int_lt(cc_msg_recv(p[0], &m, &err), 0);
	ck_assert_str_ne(err.msg, "");
	close(p[0]);
	close(p[1]);
}
END_TEST

struct bad_fds_case {
	unsigned type;
	size_t nfds;
};
static const struct bad_fds_case bad_fds_cases[] = {
	{ CC_MSG_HELLO, 1 },  /* fds on a type that takes none */
	{ CC_MSG_HELLO, 4 },
	{ CC_MSG_ERROR, 2 },
	{ CC_MSG_EXEC, 0 },   /* too few */
	{ CC_MSG_EXEC, 2 },
	{ CC_MSG_EXEC, 4 },   /* too many, within CC_FDS_MAX */
	{ CC_MSG_EXEC, 5 },   /* more than CC_FDS_MAX */
	{ CC_MSG_LAUNCH, 3 },
	{ CC_MSG_LAUNCH, 5 },
	{ CC_MSG_LAUNCH, 8 },   /* fills the receiver's control buffer */
	{ CC_MSG_LAUNCH, 9 },   /* control data truncated (MSG_CTRUNC) */
	{ CC_MSG_LAUNCH, 64 },
	{ CC_MSG_HELLO, 200 },
};

/* A raw sendmsg with the wrong fds: rejected, and none of them stays open. */
START_TEST(test_sock_bad_fds)
{
	const struct bad_fds_case *c = &bad_fds_cases[_i];
	int sv[2], p[2], fds[250];
	struct fdset before, after;
	cc_error err;
	struct cc_msg m;
	char what[64];

	snprintf(what, sizeof(what), "%s with %zu fds", cc_msg_name(c->type), c->nfds);
	seqpacket(sv);
	ck_assert_int_eq(pipe(p), 0);
	for (size_t i = 0; i < c->nfds; i++)
		fds[i] = p[i % 2];
	sample(c->type, 0, &m);
	int n = encode_ok(&m, encbuf);
	fd_snapshot(&before);
	send_raw(sv[0], encbuf, (size_t)n, fds, c->nfds);
	/* Followed by a good frame: the bad one must not be skipped silently. */
	sample(CC_MSG_HELLO, 0, &m);
	ck_assert_int_eq(cc_msg_send(sv[0], &m, &err), 0);

	memset(&err, 0, sizeof(err));
	memset(&m, 0x5a, sizeof(m));
	int r = cc_msg_recv(sv[1], &m, &err);
	ck_assert_msg(r < 0, "%s: accepted (r=%d)", what, r);
	ck_assert_msg(err.msg[0] != '\0', "%s: no message", what);
	ck_assert_int_eq(r, -err.code);
	ck_assert_uint_eq(m.nfds, 0);
	fd_snapshot(&after);
	assert_same_fds(&before, &after, what);

	/* The pipe still works (the originals were not closed by mistake). */
	assert_pipe_works(p[1], p[0], "still");
	ck_assert_int_eq(cc_msg_recv(sv[1], &m, &err), 1);
	ck_assert_uint_eq(m.type, CC_MSG_HELLO);
	cc_msg_clear(&m);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* Fds attached to a malformed frame, or to a zero-length datagram. */
START_TEST(test_sock_bad_frame_with_fds)
{
	int sv[2], p[2], fds[3];
	struct fdset before, after;
	cc_error err;
	struct cc_msg m;
	seqpacket(sv);
	ck_assert_int_eq(pipe(p), 0);
	fds[0] = p[0];
	fds[1] = p[1];
	fds[2] = p[0];
	fd_snapshot(&before);

	/* A right-sized EXEC with a byte flipped in its version. */
	sample(CC_MSG_EXEC, 0, &m);
	int n = encode_ok(&m, encbuf);
	encbuf[5] ^= 0x80;
	send_raw(sv[0], encbuf, (size_t)n, fds, 3);
	memset(&err, 0, sizeof(err));
	ck_assert_int_lt(cc_msg_recv(sv[1], &m, &err), 0);
	ck_assert_str_ne(err.msg, "");
	fd_snapshot(&after);
	assert_same_fds(&before, &after, "malformed EXEC with 3 fds");

	/* Truncated EXEC. */
	sample(CC_MSG_EXEC, 0, &m);
	n = encode_ok(&m, encbuf);
	send_raw(sv[0], encbuf, (size_t)n - 1, fds, 3);
	ck_assert_int_lt(cc_msg_recv(sv[1], &m, &err), 0);
	fd_snapshot(&after);
	assert_same_fds(&before, &after, "truncated EXEC with 3 fds");

	/* A zero-length datagram with fds: reported as EOF, fds closed. */
	send_raw(sv[0], encbuf, 0, fds, 3);
	ck_assert_int_le(cc_msg_recv(sv[1], &m, &err), 0);
	assert_zero(&m, sizeof(m), "message after an empty datagram");
	fd_snapshot(&after);
	assert_same_fds(&before, &after, "empty datagram with 3 fds");

	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_sock_oversized)
{
	int sv[2], p[2], fds[4];
	struct fdset before, after;
	cc_error err;
	struct cc_msg m;
	static uint8_t big[CC_MSG_MAX + 4096];
	int sz = 4 * CC_MSG_MAX;

	seqpacket(sv);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	ck_assert_int_eq(pipe(p), 0);
	/* A frame that says it is CC_MSG_MAX + 1 bytes, and is. */
	memset(big, 0, sizeof(big));
	raw_hdr(&R, CC_PROTO_VERSION, CC_MSG_ERROR, 1);
	memcpy(big, R.b, CC_HDR_SIZE);
	put_le32(big, CC_MSG_MAX + 1);
	fd_snapshot(&before);
	for (int withfds = 0; withfds <= 1; withfds++) {
		static const size_t sizes[] = { CC_MSG_MAX + 1, CC_MSG_MAX + 4096 };
		for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
			put_le32(big, (uint32_t)sizes[i]);
			fds[0] = fds[2] = p[0];
			fds[1] = fds[3] = p[1];
			send_raw(sv[0], big, sizes[i], fds, withfds ? 4 : 0);
			memset(&err, 0, sizeof(err));
			int r = cc_msg_recv(sv[1], &m, &err);
			ck_assert_msg(r < 0, "datagram of %zu bytes accepted (%d)", sizes[i], r);
			ck_assert_str_ne(err.msg, "");
			ck_assert_int_eq(err.code, EBADMSG);
			fd_snapshot(&after);
			assert_same_fds(&before, &after, "oversized datagram");
		}
	}
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_sock_credentials)
{
	int sv[2], p[2], one = 1;
	struct fdset before, after;
	cc_error err;
	struct cc_msg m;

	seqpacket(sv);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
	fd_snapshot(&before);

	sample(CC_MSG_HELLO, 0, &m);
	ck_assert_int_eq(cc_msg_send(sv[0], &m, &err), 0);
	memset(&err, 0, sizeof(err));
	int r = cc_msg_recv(sv[1], &m, &err);
	ck_assert_msg(r < 0, "SCM_CREDENTIALS accepted (%d)", r);
	ck_assert_str_ne(err.msg, "");
	ck_assert_int_eq(err.code, EBADMSG);

	/* With fds too: credentials and rights; the rights must not leak. */
	sample(CC_MSG_EXEC, 0, &m);
	m.fds[0] = p[0];
	m.fds[1] = p[1];
	m.fds[2] = p[1];
	m.nfds = 3;
	ck_assert_int_eq(cc_msg_send(sv[0], &m, &err), 0);
	memset(&err, 0, sizeof(err));
	ck_assert_int_lt(cc_msg_recv(sv[1], &m, &err), 0);
	ck_assert_str_ne(err.msg, "");
	sample(CC_MSG_EXEC, 0, &m);
	m.fds[0] = p[0];
	m.fds[1] = p[1];
	ck_assert_int_eq(cc_msg_send(sv[0], &m, &err) < 0, 1); /* nfds 0: refused locally */
	send_raw(sv[0], encbuf, (size_t)encode_ok(&m, encbuf), m.fds, 1);
	ck_assert_int_lt(cc_msg_recv(sv[1], &m, &err), 0);
	fd_snapshot(&after);
	assert_same_fds(&before, &after, "credentials with fds");

	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* A valid frame of exactly CC_MSG_MAX bytes followed by one more byte: only
 * the receiver's MSG_TRUNC check can tell that it was cut. */
START_TEST(test_sock_truncated_valid_frame)
{
	int sv[2], p[2], fds[4], sz = 4 * CC_MSG_MAX;
	struct fdset before, after;
	static uint8_t big[CC_MSG_MAX + 1];
	cc_error err;
	struct cc_msg m;

	seqpacket(sv);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	ck_assert_int_eq(pipe(p), 0);
	sample(CC_MSG_LAUNCH, 1, &m);
	m.u.launch.argv = max_frame_argv(0);
	ck_assert_int_eq(cc_msg_encode(&m, big, sizeof(big)), CC_MSG_MAX);
	cc_strv_free(m.u.launch.argv);
	big[CC_MSG_MAX] = 'X';
	fds[0] = fds[2] = p[0];
	fds[1] = fds[3] = p[1];
	fd_snapshot(&before);
	send_raw(sv[0], big, sizeof(big), fds, 4);
	memset(&err, 0, sizeof(err));
	int r = cc_msg_recv(sv[1], &m, &err);
	ck_assert_msg(r < 0, "a cut datagram was accepted as a frame (%d)", r);
	ck_assert_str_ne(err.msg, "");
	fd_snapshot(&after);
	assert_same_fds(&before, &after, "cut datagram with 4 fds");
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* cc_send_with_fds / cc_recv_with_fds on their own. */
START_TEST(test_fdpass_direct)
{
	int sv[2], p[2], fds[32], in[32];
	struct fdset before, after;
	uint8_t buf[256];
	size_t nfds;
	ssize_t n;

	seqpacket(sv);
	ck_assert_int_eq(pipe(p), 0);
	for (size_t i = 0; i < ARRAY_SIZE(in); i++)
		in[i] = p[i % 2];
	fd_snapshot(&before);

	/* Plain round trip, with and without fds. */
	ck_assert_int_eq(cc_send_with_fds(sv[0], "abc", 3, in, 2), 0);
	nfds = 99;
	n = cc_recv_with_fds(sv[1], buf, sizeof(buf), fds, 2, &nfds);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(memcmp(buf, "abc", 3), 0);
	ck_assert_uint_eq(nfds, 2);
	assert_cloexec(fds[0]);
	assert_cloexec(fds[1]);
	assert_pipe_works(fds[1], fds[0], "direct");
	close(fds[0]);
	close(fds[1]);
	ck_assert_int_eq(cc_send_with_fds(sv[0], "de", 2, NULL, 0), 0);
	n = cc_recv_with_fds(sv[1], buf, sizeof(buf), fds, 0, &nfds);
	ck_assert_int_eq(n, 2);
	ck_assert_uint_eq(nfds, 0);

	/* The sender refuses more than CC_FDS_MAX. */
	ck_assert_int_eq(cc_send_with_fds(sv[0], "x", 1, in, CC_FDS_MAX + 1), -EINVAL);

	/* More fds than the caller allows: -EBADMSG, nothing written past
	 * maxfds, nothing left open. */
	static const size_t counts[] = { 3, 5, 8, 9, 20 };
	for (size_t i = 0; i < ARRAY_SIZE(counts); i++) {
		send_raw(sv[0], "y", 1, in, counts[i]);
		for (size_t j = 0; j < ARRAY_SIZE(fds); j++)
			fds[j] = -77;
		nfds = 99;
		size_t max = counts[i] - 1; /* one fewer than sent; 8 fills the control buffer */
		n = cc_recv_with_fds(sv[1], buf, sizeof(buf), fds, max, &nfds);
		ck_assert_msg(n == -EBADMSG, "%zu fds with maxfds %zu: %zd", counts[i], max, n);
		ck_assert_uint_eq(nfds, 0);
		for (size_t j = 0; j < ARRAY_SIZE(fds); j++)
			ck_assert_msg(fds[j] == -77, "fds[%zu] written on failure", j);
		fd_snapshot(&after);
		assert_same_fds(&before, &after, "too many fds (direct)");
	}

	/* A datagram bigger than the buffer: -EMSGSIZE, its fds closed. */
	memset(buf, 'z', sizeof(buf));
	send_raw(sv[0], buf, 100, in, 2);
	n = cc_recv_with_fds(sv[1], buf, 50, fds, 4, &nfds);
	ck_assert_int_eq(n, -EMSGSIZE);
	ck_assert_uint_eq(nfds, 0);
	fd_snapshot(&after);
	assert_same_fds(&before, &after, "truncated datagram (direct)");

	/* EOF */
	close(sv[0]);
	n = cc_recv_with_fds(sv[1], buf, sizeof(buf), fds, 4, &nfds);
	ck_assert_int_eq(n, 0);
	ck_assert_uint_eq(nfds, 0);
	/* Errors are negative errnos. */
	ck_assert_int_eq(cc_recv_with_fds(-1, buf, sizeof(buf), fds, 4, &nfds), -EBADF);
	ck_assert_int_eq(cc_send_with_fds(-1, "x", 1, NULL, 0), -EBADF);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* cc_call against a forked peer                                            */

enum peer_mode {
	PEER_OK, PEER_WRONG_SEQ, PEER_WRONG_TYPE, PEER_ERROR, PEER_ERROR_CODE0,
	PEER_ERROR_HUGE_CODE, PEER_ERROR_LONG_MSG, PEER_CLOSE, PEER_FDS_ON_REPLY, PEER_GARBAGE,
};

static char long_msg[CC_STR_MAX + 1];

/* The child: receive one HELLO, answer as told; exit 0 if all went as planned. */
static void peer(int sock, enum peer_mode mode)
{
	struct cc_msg req, rep;
	cc_error err = { 0 };
	if (cc_msg_recv(sock, &req, &err) != 1 || req.type != CC_MSG_HELLO || req.u.hello.version != CC_PROTO_VERSION)
		_exit(10);
	memset(&rep, 0, sizeof(rep));
	rep.seq = req.seq;
	switch (mode) {
	case PEER_OK:
	case PEER_WRONG_SEQ:
	case PEER_FDS_ON_REPLY:
		rep.type = CC_MSG_HELLO_OK;
		rep.u.hello.version = 77;
		if (mode == PEER_WRONG_SEQ)
			rep.seq = req.seq + 1;
		if (mode == PEER_FDS_ON_REPLY) {
			int n = cc_msg_encode(&rep, encbuf, sizeof(encbuf));
			int fds[1] = { sock };
			union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr a; } ctl;
			struct iovec iov = { .iov_base = encbuf, .iov_len = (size_t)n };
			struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
			memset(&ctl, 0, sizeof(ctl));
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), fds, sizeof(int));
			_exit(sendmsg(sock, &mh, 0) == n ? 0 : 11);
		}
		break;
	case PEER_WRONG_TYPE:
		rep.type = CC_MSG_TARGET_OK;
		rep.u.target_ok.pid = 1;
		rep.u.target_ok.cgroup = "/";
		break;
	case PEER_ERROR: {
		cc_error e;
		cc_fail(&e, EACCES, "user nobody may not exec in web-1");
		_exit(cc_reply_error(sock, req.seq, &e, &err) == 0 ? 0 : 12);
	}
	case PEER_ERROR_CODE0:
	case PEER_ERROR_HUGE_CODE:
	case PEER_ERROR_LONG_MSG:
		rep.type = CC_MSG_ERROR;
		rep.u.error.code = mode == PEER_ERROR_CODE0 ? 0 : mode == PEER_ERROR_HUGE_CODE ? 0x80000001u : ENOENT;
		rep.u.error.message = mode == PEER_ERROR_LONG_MSG ? long_msg : "odd";
		break;
	case PEER_CLOSE:
		_exit(0);
	case PEER_GARBAGE:
		_exit(send(sock, "garbage!garbage!", 16, 0) == 16 ? 0 : 13);
	}
	_exit(cc_msg_send(sock, &rep, &err) == 0 ? 0 : 14);
}

static uint32_t last_seq; /* the number cc_call gave the last request */

static int call_peer(enum peer_mode mode, struct cc_msg *reply, cc_error *err)
{
	int sv[2];
	struct cc_msg req;
	seqpacket(sv);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[0]);
		peer(sv[1], mode);
		_exit(15);
	}
	close(sv[1]);
	memset(&req, 0, sizeof(req));
	req.type = CC_MSG_HELLO;
	req.u.hello.version = CC_PROTO_VERSION;
	memset(err, 0, sizeof(*err));
	memset(reply, 0x5a, sizeof(*reply));
	int r = cc_call(sv[0], &req, CC_MSG_HELLO_OK, reply, err);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "peer failed: status 0x%x", status);
	ck_assert_uint_ne(req.seq, 0); /* numbered */
	last_seq = req.seq;
	close(sv[0]);
	return r;
}

START_TEST(test_call_ok)
{
	struct cc_msg rep;
	cc_error err;
	ck_assert_int_eq(call_peer(PEER_OK, &rep, &err), 0);
	ck_assert_uint_eq(rep.type, CC_MSG_HELLO_OK);
	ck_assert_uint_eq(rep.u.hello.version, 77);
	ck_assert_uint_eq(rep.seq, last_seq);
	cc_msg_clear(&rep);
	/* Consecutive calls get distinct numbers. */
	uint32_t first = last_seq;
	ck_assert_int_eq(call_peer(PEER_OK, &rep, &err), 0);
	ck_assert_uint_ne(last_seq, first);
	ck_assert_uint_eq(rep.seq, last_seq);
	cc_msg_clear(&rep);
}
END_TEST

START_TEST(test_call_wrong_seq)
{
	struct cc_msg rep;
	cc_error err;
	int r = call_peer(PEER_WRONG_SEQ, &rep, &err);
	ck_assert_int_lt(r, 0);
	ck_assert_int_eq(r, -err.code);
	ck_assert_int_eq(err.code, EPROTO);
	ck_assert_str_ne(err.msg, "");
	assert_zero(&rep, sizeof(rep), "reply after wrong seq");
}
END_TEST

START_TEST(test_call_wrong_type)
{
	struct cc_msg rep;
	cc_error err;
	int r = call_peer(PEER_WRONG_TYPE, &rep, &err);
	ck_assert_int_eq(r, -EPROTO);
	ck_assert_int_eq(err.code, EPROTO);
	ck_assert_ptr_nonnull(strstr(err.msg, "TARGET_OK"));
	assert_zero(&rep, sizeof(rep), "reply after wrong type");
}
END_TEST

START_TEST(test_call_error_reply)
{
	struct cc_msg rep;
	cc_error err;
	ck_assert_int_eq(call_peer(PEER_ERROR, &rep, &err), -EACCES);
	ck_assert_int_eq(err.code, EACCES);
	ck_assert_str_eq(err.msg, "user nobody may not exec in web-1");
	assert_zero(&rep, sizeof(rep), "reply after ERROR");

	/* Codes outside errno's range become EIO. */
	ck_assert_int_eq(call_peer(PEER_ERROR_CODE0, &rep, &err), -EIO);
	ck_assert_int_eq(err.code, EIO);
	ck_assert_str_eq(err.msg, "odd");
	ck_assert_int_eq(call_peer(PEER_ERROR_HUGE_CODE, &rep, &err), -EIO);
	ck_assert_str_eq(err.msg, "odd");

	/* A message longer than cc_error holds is cut, still terminated. */
	memset(long_msg, 'm', CC_STR_MAX);
	long_msg[CC_STR_MAX] = '\0';
	ck_assert_int_eq(call_peer(PEER_ERROR_LONG_MSG, &rep, &err), -ENOENT);
	ck_assert_uint_eq(strlen(err.msg), sizeof(err.msg) - 1);
}
END_TEST

START_TEST(test_call_peer_misbehaves)
{
	struct cc_msg rep;
	cc_error err;
	int r = call_peer(PEER_CLOSE, &rep, &err);
	ck_assert_int_lt(r, 0);
	ck_assert_int_eq(r, -err.code);
	ck_assert_str_ne(err.msg, "");

	r = call_peer(PEER_FDS_ON_REPLY, &rep, &err);
	ck_assert_int_lt(r, 0);
	ck_assert_str_ne(err.msg, "");

	r = call_peer(PEER_GARBAGE, &rep, &err);
	ck_assert_int_lt(r, 0);
	ck_assert_str_ne(err.msg, "");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Deterministic mutation fuzzing                                           */

static uint64_t rng = 0x2545f4914f6cdd1dULL;
static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}
static size_t rnd(size_t n)
{
	return n ? (size_t)(xorshift() % n) : 0;
}

#define FUZZ_ITERS 200000
#define FUZZ_CAP 12288

START_TEST(test_fuzz)
{
	static uint8_t seeds[CC_MSG_TYPE_MAX * NVARIANTS][1024];
	static size_t seed_len[CC_MSG_TYPE_MAX * NVARIANTS];
	static uint8_t work[FUZZ_CAP], re[CC_MSG_MAX];
	static const uint32_t interesting[] = { 0, 1, 2, 3, 4, 7, 8, 12, CC_STR_MAX - 1, CC_STR_MAX, CC_STR_MAX + 1,
		CC_STRV_MAX, CC_STRV_MAX + 1, CC_MSG_MAX, 0x7fffffff, 0x80000000u, 0xfffffffe, UINT32_MAX };
	size_t nseeds = 0, accepted = 0, rejected = 0, mutated_accepted = 0;

	for (unsigned t = 1; t < CC_MSG_TYPE_MAX; t++)
		for (int v = 0; v < NVARIANTS; v++) {
			struct cc_msg m;
			sample(t, v, &m);
			int n = cc_msg_encode(&m, seeds[nseeds], sizeof(seeds[nseeds]));
			ck_assert_int_gt(n, 0);
			seed_len[nseeds++] = (size_t)n;
		}

	for (long it = 0; it < FUZZ_ITERS; it++) {
		size_t s = rnd(nseeds), len = seed_len[s];
		memcpy(work, seeds[s], len);
		size_t nmut = 1 + rnd(4);
		for (size_t k = 0; k < nmut; k++) {
			switch (rnd(9)) {
			case 0: /* bit flip */
				if (len)
					work[rnd(len)] ^= (uint8_t)(1u << rnd(8));
				break;
			case 1: /* random byte */
				if (len)
					work[rnd(len)] = (uint8_t)xorshift();
				break;
			case 2: /* truncate */
				len = rnd(len + 1);
				break;
			case 3: { /* append random bytes */
				size_t add = 1 + rnd(16);
				if (len + add <= FUZZ_CAP)
					for (size_t i = 0; i < add; i++)
						work[len++] = (uint8_t)xorshift();
				break;
			}
			case 4: /* patch the length field */
				if (len >= 4)
					put_le32(work, rnd(4) ? (uint32_t)len : (uint32_t)(len + rnd(9) - 4));
				break;
			case 5: /* interesting u32 somewhere in the body */
				if (len >= CC_HDR_SIZE + 4)
					put_le32(work + CC_HDR_SIZE + rnd(len - CC_HDR_SIZE - 3),
						 interesting[rnd(ARRAY_SIZE(interesting))]);
				break;
			case 6: /* another type */
				if (len >= 8) {
					uint16_t t = (uint16_t)rnd(CC_MSG_TYPE_MAX + 2);
					work[6] = (uint8_t)t;
					work[7] = (uint8_t)(t >> 8);
				}
				break;
			case 7: { /* delete a run */
				if (len > CC_HDR_SIZE) {
					size_t at = CC_HDR_SIZE + rnd(len - CC_HDR_SIZE), cut = 1 + rnd(len - at);
					memmove(work + at, work + at + cut, len - at - cut);
					len -= cut;
				}
				break;
			}
			case 8: { /* duplicate a run (splice) */
				if (len > CC_HDR_SIZE) {
					size_t at = CC_HDR_SIZE + rnd(len - CC_HDR_SIZE), run = 1 + rnd(len - at);
					if (len + run <= FUZZ_CAP) {
						memmove(work + at + run, work + at, len - at);
						len += run;
					}
				}
				break;
			}
			}
		}
		/* Usually keep the length honest so the body decoder is reached. */
		if (len >= 4 && rnd(4))
			put_le32(work, (uint32_t)len);
		unsigned type = len >= 8 ? get_le16(work + 6) : 0;
		size_t nfds = rnd(8) ? cc_msg_nfds(type) : rnd(CC_FDS_MAX + 2);

		/* An exactly sized heap copy, so that any overread is caught by
		 * valgrind / ASan. */
		uint8_t *frame = malloc(len ? len : 1);
		REQUIRE(frame, "out of memory");
		memcpy(frame, work, len);
		struct cc_msg m;
		cc_error err;
		memset(&m, 0xa5, sizeof(m));
		err.code = 0;
		err.msg[0] = '\0';
		int r = cc_msg_decode(frame, len, nfds, &m, &err);
		if (r == 0) {
			accepted++;
			if (len != seed_len[s] || memcmp(work, seeds[s], len) != 0)
				mutated_accepted++;
			REQUIRE(m.type == type, "iteration %ld: type %u decoded as %u", it, type, m.type);
			REQUIRE(nfds == cc_msg_nfds(type), "iteration %ld: %s accepted with %zu fds", it, cc_msg_name(type), nfds);
			REQUIRE(m.nfds == 0, "iteration %ld: nfds %zu", it, m.nfds);
			int n = cc_msg_encode(&m, re, sizeof(re));
			REQUIRE(n == (int)len, "iteration %ld: re-encoded %d bytes, decoded %zu", it, n, len);
			REQUIRE(memcmp(re, frame, len) == 0, "iteration %ld: re-encoding of %s differs", it,
				cc_msg_name(type));
			cc_msg_clear(&m);
		} else {
			rejected++;
			REQUIRE(r < 0 && r == -err.code, "iteration %ld: r=%d code=%d", it, r, err.code);
			REQUIRE(err.msg[0] != '\0', "iteration %ld: no message", it);
			REQUIRE(m.type == 0 && m.nfds == 0, "iteration %ld: message not reset", it);
			assert_zero(&m.u, sizeof(m.u), "rejected fuzz frame");
		}
		free(frame);
	}
	if (getenv("CC_FUZZ_VERBOSE"))
		fprintf(stderr, "fuzz: %d iterations, %zu accepted (%zu mutated), %zu rejected\n",
			FUZZ_ITERS, accepted, mutated_accepted, rejected);
	/* The fuzzer must exercise both outcomes, and accept some mutants (a
	 * flipped bit in a string or integer is still a valid frame). */
	ck_assert_uint_gt(accepted, FUZZ_ITERS / 50);
	ck_assert_uint_gt(mutated_accepted, FUZZ_ITERS / 100);
	ck_assert_uint_gt(rejected, FUZZ_ITERS / 2);
}
END_TEST

/* ------------------------------------------------------------------------ */

static Suite *proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc;

	tc = tcase_create("roundtrip");
	tcase_add_loop_test(tc, test_roundtrip, CC_MSG_NONE + 1, CC_MSG_TYPE_MAX);
	tcase_add_test(tc, test_wire_layout);
	tcase_add_test(tc, test_names_and_nfds);
	tcase_add_test(tc, test_u64_extremes);
	tcase_add_test(tc, test_string_limits_roundtrip);
	tcase_add_test(tc, test_max_frame);
	tcase_add_test(tc, test_msg_clear);
	suite_add_tcase(s, tc);

	tc = tcase_create("encode");
	tcase_add_test(tc, test_encode_null_string);
	tcase_add_test(tc, test_encode_too_long);
	tcase_add_test(tc, test_encode_bad_type);
	tcase_add_test(tc, test_encode_small_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("decode");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_decode_short);
	tcase_add_test(tc, test_decode_length_mismatch);
	tcase_add_test(tc, test_decode_version);
	tcase_add_test(tc, test_decode_bad_type);
	tcase_add_test(tc, test_decode_wrong_nfds);
	tcase_add_test(tc, test_decode_truncated_everywhere);
	tcase_add_test(tc, test_decode_truncated_ints);
	tcase_add_test(tc, test_decode_bad_strings);
	tcase_add_test(tc, test_decode_bad_lists);
	tcase_add_test(tc, test_decode_trailing);
	tcase_add_test(tc, test_decode_too_big);
	suite_add_tcase(s, tc);

	tc = tcase_create("socket");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_sock_roundtrip_fds);
	tcase_add_test(tc, test_sock_max_frame);
	tcase_add_test(tc, test_sock_send_checks);
	tcase_add_test(tc, test_sock_eof);
	tcase_add_loop_test(tc, test_sock_bad_fds, 0, (int)ARRAY_SIZE(bad_fds_cases));
	tcase_add_test(tc, test_sock_bad_frame_with_fds);
	tcase_add_test(tc, test_sock_oversized);
	tcase_add_test(tc, test_sock_credentials);
	tcase_add_test(tc, test_sock_truncated_valid_frame);
	tcase_add_test(tc, test_fdpass_direct);
	suite_add_tcase(s, tc);

	tc = tcase_create("call");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_call_ok);
	tcase_add_test(tc, test_call_wrong_seq);
	tcase_add_test(tc, test_call_wrong_type);
	tcase_add_test(tc, test_call_error_reply);
	tcase_add_test(tc, test_call_peer_misbehaves);
	suite_add_tcase(s, tc);

	tc = tcase_create("regressions");
	tcase_add_test(tc, test_wire_layout_target);
	suite_add_tcase(s, tc);

	tc = tcase_create("fuzz");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_fuzz);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	/* A peer that goes away must give EPIPE, not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	SRunner *sr = srunner_create(proto_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
