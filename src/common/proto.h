/* The wire protocol between crashcart (worker), crashcart-broker and the
 * broker's launcher. This header and proto.c own the codec; both sides use
 * it, and nothing else reads or writes frames.
 *
 * Transport: SOCK_SEQPACKET, one frame per datagram, fds by SCM_RIGHTS.
 * Frame:  u32 length (whole frame) | u16 version | u16 type | u32 seq | body
 * Body:   the fields of that type, in the order of its spec in proto.c:
 *         u32, u64, str (u32 length + bytes, no NUL), strv (u32 count + strs)
 * Decoding is strict: the length must match the datagram, the version must be
 * ours, the type must be known, every field must fit, strings must not hold a
 * NUL, no bytes may trail, and a frame must carry exactly its spec's number of
 * fds. Anything else is fatal to the connection: the peer is not trusted. */
#pragma once
#include <stdint.h>
#include <stddef.h>

#include "util.h"

#define CC_PROTO_VERSION 4
#define CC_HDR_SIZE 12
#define CC_MSG_MAX 65536   /* hard maximum frame size */
#define CC_STR_MAX 4096    /* longest string field (PATH_MAX) */
#define CC_STRV_MAX 256    /* most strings in a list (argv) */
#define CC_FDS_MAX 4

enum cc_msg_type {
	CC_MSG_NONE = 0,
	CC_MSG_ERROR,       /* reply to anything: the request failed */
	CC_MSG_HELLO,       /* worker -> broker, version handshake */
	CC_MSG_HELLO_OK,
	CC_MSG_TARGET,      /* which process: pins it (once per session) */
	CC_MSG_TARGET_OK,
	CC_MSG_MOUNT,       /* mount the image into the target */
	CC_MSG_MOUNT_OK,
	CC_MSG_UNMOUNT,     /* unmount it */
	CC_MSG_UNMOUNT_OK,
	CC_MSG_EXEC,        /* run a tool in the target, fds: the operator's stdin, stdout, stderr (the broker relays them) */
	CC_MSG_EXEC_DONE,
	CC_MSG_LAUNCH,      /* broker -> launcher, fds: pidfd, and the tool's stdin, stdout, stderr (a pty slave or pipes the broker made) */
	CC_MSG_LAUNCH_DONE,
	CC_MSG_EXEC_VIA,      /* -e: the worker will run the runtime's own exec (argv, for the record) */
	CC_MSG_EXEC_VIA_OK,
	CC_MSG_EXEC_VIA_END,  /* how the runtime's exec ended (the worker's report) */
	CC_MSG_EXEC_VIA_END_OK,
	CC_MSG_LAUNCH_END,    /* broker -> launcher: the session is over (hang-up): end its processes now */
	CC_MSG_LAUNCH_TRAIL,  /* launcher -> broker, fd: the exec trail's seccomp listener (before the tool starts) */
	CC_MSG_TYPE_MAX
};

/* Actions, as the audit trail and the broker's permission rows name them. */
enum cc_action {
	CC_ACT_MOUNT = 1,   /* crashcart -m */
	CC_ACT_UNMOUNT,     /* crashcart -u */
	CC_ACT_EXEC,        /* crashcart ID [CMD] */
	CC_ACT_EXEC_VIA,    /* crashcart -e ID [CMD]: through the runtime's exec */
};

#define CC_MOUNT_PERSISTENT 0x1u /* -m: stays mounted after the session */
#define CC_UNMOUNT_FORCE 0x1u    /* UNMOUNT (-u --force): detach even while another session uses it */
#define CC_EXEC_PTY 0x1u         /* EXEC: give the tool a pseudo-terminal of its own */
#define CC_LAUNCH_CTTY 0x1u      /* LAUNCH: the tool's stdin is a pty slave: make it its controlling tty */
#define CC_LAUNCH_TRAIL 0x2u     /* LAUNCH: the session is recorded: hand its execs to the broker (LAUNCH_TRAIL) */
#define CC_LAUNCH_NET_ALONE 0x4u /* LAUNCH: refuse unless the network namespace has no link to another (netadmin) */
#define CC_LAUNCH_OWN_PROC 0x8u  /* LAUNCH: refuse if a procfs of another PID namespace is mounted there (ptrace, netadmin) */
#define CC_LAUNCH_PERF 0x10u     /* LAUNCH: the tool's filter allows perf_event_open (CC_FILTER_TOOL_PTRACE: ptrace) */

/* How a tool ended (EXEC_DONE / LAUNCH_DONE). */
enum cc_exit_kind {
	CC_EXIT_EXITED = 1,     /* value: exit status */
	CC_EXIT_SIGNALED,       /* value: signal number */
	CC_EXIT_EXEC_FAILED,    /* value: errno of execve (ENOENT -> 127, ...) */
	CC_EXIT_LOST,           /* the session's reaper was killed before it could report (value: 0) */
};

struct cc_error_msg { uint32_t code; char *message; };
struct cc_hello { uint32_t version; };
struct cc_target {
	uint32_t action;
	uint32_t pid;          /* 0: the worker could not resolve the id */
	uint64_t start_time;   /* the worker's reading of /proc/PID/stat, 0: unknown */
	char *spec;            /* what the user typed */
	char *runtime, *id, *name; /* the worker's claim; "" when unknown */
	char *resolve_error;   /* why resolution failed, when pid == 0 */
};
struct cc_target_ok { uint32_t pid; uint64_t start_time; char *cgroup; };
struct cc_mount { char *image; uint32_t flags; };
/* tidied: what a session that ended abnormally had left there and this
 * request removed ("" nothing), for the worker to say */
struct cc_mount_ok { uint32_t was_mounted; char *source; char *fstype; char *tidied; };
struct cc_unmount { uint32_t flags; };
struct cc_unmount_ok { uint32_t was_mounted; char *tidied; };
struct cc_exec { char **argv; char *term; uint32_t flags; };
/* ended (LAUNCH_DONE only): processes of the session still running when it
 * ended, which the launcher's reaper killed. */
struct cc_exit { uint32_t kind; uint32_t value; uint32_t ended; };
/* creds: "" (the operator's ids) or "RUID EUID SUID RGID EGID SGID [GROUP...]" (profile ptrace) */
struct cc_launch { uint32_t nsflags; uint64_t keep_caps; char **argv; char **envp; uint32_t flags; char *creds; };
struct cc_exec_via { char **argv; };

struct cc_msg {
	uint16_t type;
	uint32_t seq;
	union {
		struct cc_error_msg error;
		struct cc_hello hello;
		struct cc_target target;
		struct cc_target_ok target_ok;
		struct cc_mount mount;
		struct cc_mount_ok mount_ok;
		struct cc_unmount unmount;
		struct cc_unmount_ok unmount_ok;
		struct cc_exec exec;
		struct cc_exit exit;       /* EXEC_DONE, LAUNCH_DONE */
		struct cc_launch launch;
		struct cc_exec_via exec_via;
	} u;
	int fds[CC_FDS_MAX];
	size_t nfds;
};

const char *cc_msg_name(unsigned type);
/* Number of fds a frame of this type must carry. */
size_t cc_msg_nfds(unsigned type);

/* Encode into buf (at most CC_MSG_MAX bytes); returns the length or -EMSGSIZE
 * / -EINVAL (a string field holding no value). */
int cc_msg_encode(const struct cc_msg *m, uint8_t *buf, size_t cap);
/* Decode one frame; on success m owns allocated strings (cc_msg_clear).
 * nfds is the number of fds that came with the frame; it must match. */
int cc_msg_decode(const uint8_t *buf, size_t len, size_t nfds, struct cc_msg *m, cc_error *err);
/* Free strings and close fds held by m, and zero it. */
void cc_msg_clear(struct cc_msg *m);

/* Send/receive one frame with its fds. recv returns 1 for a frame, 0 on
 * orderly EOF, negative on error (the connection is then unusable). */
int cc_msg_send(int sock, const struct cc_msg *m, cc_error *err);
int cc_msg_recv(int sock, struct cc_msg *m, cc_error *err);

/* Request/reply: numbers the request, sends it, and expects a reply with the
 * same seq and type `expect`, or ERROR (turned into a negative return with
 * the broker's message in err). Any other reply is a protocol violation. */
int cc_call(int sock, struct cc_msg *req, uint16_t expect, struct cc_msg *reply, cc_error *err);

/* An ERROR reply into err (its code bounded to an errno); clears reply.
 * Returns the negative code. */
int cc_msg_take_error(struct cc_msg *reply, cc_error *err);

/* Reply helpers for the serving side. */
int cc_reply_error(int sock, uint32_t seq, const cc_error *e, cc_error *err);
