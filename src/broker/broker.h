/* Types shared by the broker's parts. Each .c file is one concern:
 *   main.c      start-up: socket, capabilities, caller, launcher, audit
 *   session.c   the dispatch table and the request handlers
 *   target.c    pinning the target process (pidfd + start time); what a
 *               container is (not the host's namespaces, not the caller's)
 *   image.c     checking the image file and its filesystem type
 *   loop.c      private device nodes and the loop device
 *   mount.c     mounting into / unmounting from the container
 *   idmap.c     writing /dev/crashcart without CAP_DAC_OVERRIDE (idmapped clone)
 *   launcher.c  the process that starts the tool (kept off the strict line)
 *               and the session reaper that ends its processes with it
 *   relay.c     the tool's pty or pipes, and the copy to the operator's stdio
 *   record.c    the session recording (asciicast v2) and its digest
 *   exectrail.c every exec of a recorded session, from its seccomp listener
 *   trace.c     the container's mounts and /dev before and after: no trace left
 *   audit.c     the audit sink */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "policy.h"
#include "util.h"

#define CC_MOUNT_DIR "crashcart"   /* under the container's /dev */

struct cc_caller {
	uid_t uid;
	gid_t gid;
	gid_t groups[256];
	int ngroups;
	char user[64];
	char loginuid[16];  /* /proc/self/loginuid: who logged in, even after su */
	char sessionid[16]; /* /proc/self/sessionid: the kernel's audit session */
	char tty[64];       /* the terminal on stdin, if any */
};

/* A target pinned by a pidfd: everything below refers to that process. */
struct cc_pin {
	pid_t pid;
	int pidfd;
	int procfd;            /* /proc/PID, valid while the process lives */
	uint64_t start_time;
	uint64_t mntns;        /* inode of its mount namespace */
	int nsflags;           /* CLONE_NEW* to enter for the tool (never CLONE_NEWUSER) */
	bool own_pidns;        /* its PID namespace is not the broker's */
	bool own_userns;       /* its user namespace is not the broker's (never entered) */
	struct { const char *name; uint64_t ino; } ns[8]; /* its namespace inodes */
	int nns;
	char cgroup[2048];     /* /proc/PID/cgroup, read by the broker */
};

/* profile.c: the tool's identity and capabilities under a policy profile */
struct cc_profile_plan {
	enum cc_profile profile;
	uint64_t tool_caps;    /* the tool's capabilities */
	char creds[1024];      /* "" (the operator's) or "RUID EUID SUID RGID EGID SGID [GROUP...]" */
	uint32_t launch_flags; /* CC_LAUNCH_* the profile adds */
};
/* What the tool of `prof` gets for target p; refuses (EPERM)
 * a profile the broker was not installed for or the target cannot have. */
int cc_profile_plan(enum cc_profile prof, const struct cc_pin *p, struct cc_profile_plan *plan, cc_error *err);
/* EPERM for a profile other than restricted when p is in a user namespace
 * of its own (rule: the rule's name, for the message); 0 otherwise. */
int cc_profile_fits_target(enum cc_profile prof, const struct cc_pin *p, const char *rule, cc_error *err);
const char *cc_profile_tool_caps(const struct cc_profile_plan *plan, char *buf, size_t len);
bool cc_pin_own_netns(const struct cc_pin *p);
/* In the launcher: take plan->creds (-errno); check that the network
 * namespace it is in has no link to another (netadmin). */
int cc_profile_become(const char *creds);
int cc_profile_net_alone(cc_error *err);
/* From a process of the container's PID namespace: the first task of
 * procfd (a procfs of that namespace) in another network namespace than
 * the caller's (`net`: netadmin) or in the mount namespace `hostmnt` (the
 * host's: its /proc/PID/root is the host's root), in *tid and *what; 0 and
 * *tid = 0 when there is none; -errno. */
/* mknod (ptrace): a task that can make device nodes is refused too, and
 * *what is then CC_PROFILE_MKNOD_WHAT. */
int cc_profile_foreign_task(int procfd, bool net, const struct stat *hostmnt, bool mknod, pid_t *tid,
			    const char **what);
#define CC_PROFILE_MKNOD_WHAT "mknod"
/* ptrace, netadmin, from a process of the container's namespaces: a mount
 * there that reaches past them (a procfs of another PID namespace; with
 * `net`, an nsfs file of another network namespace), said in `where`
 * ("" when there is none); -errno. */
int cc_profile_foreign_mount(int procfd, bool net, char *where, size_t len);

/* target.c */
/* Refuses anything that is not a container: a process in the host's mount
 * or PID namespace, or in a user namespace `caller` owns. */
int cc_target_pin(struct cc_pin *p, pid_t pid, uint64_t claimed_start, uint64_t host_mntns, uid_t caller,
		  cc_error *err);
void cc_target_release(struct cc_pin *p);
int cc_mntns_of_self(uint64_t *ino, cc_error *err);
/* The mounts of the broker's own (the host's) mount namespace. */
struct cc_host_mounts {
	struct { uint64_t id, dev; } *m;
	size_t n;
};
int cc_host_mounts_read(struct cc_host_mounts *hm, cc_error *err);
bool cc_host_mounts_dev(const struct cc_host_mounts *hm, uint64_t dev); /* a superblock the host mounts? */
void cc_host_mounts_free(struct cc_host_mounts *hm);

/* idmap.c: the user namespace (0 = the caller) made once before the filter,
 * and the two writes into the container's /dev that need it. */
int cc_idmap_init(uid_t uid, gid_t gid, cc_error *err);
/* Reaps the short-lived child cc_idmap_init made (it exits on its own, so
 * start-up does not wait for it); block: wait until it has. */
void cc_idmap_reap(bool block);
int cc_idmap_mkdirat(int dirfd, const char *name, mode_t mode, const char *what, cc_error *err);
int cc_idmap_rmdirat(int dirfd, const char *name, const char *what, cc_error *err);

/* image.c */
struct cc_image {
	int fd;
	uint64_t dev, ino;
	char fstype[16];
};
int cc_image_open(const char *path, struct cc_image *img, cc_error *err);
/* sha256 of the image's bytes (cached in a trusted.* xattr keyed by size
 * and mtime, so that a large image is not read on every session). */
int cc_image_sha256(const struct cc_image *img, char out[65], cc_error *err);
void cc_image_close(struct cc_image *img);

/* loop.c */
struct cc_loop {
	int fd;               /* held open until mounted: keeps autoclear at bay */
	unsigned minor;
	bool reused;
	char source[128];     /* what fsconfig gets as source */
};
int cc_devdir_open(cc_error *err);   /* private tmpfs for our device nodes */
int cc_loop_attach(int devdir, const struct cc_image *img, const char *image_path, struct cc_loop *lo, cc_error *err);
/* Is block device `dev` a loop device backed by img? */
int cc_loop_backs(int devdir, uint64_t dev, const struct cc_image *img);
void cc_loop_release(struct cc_loop *lo);

/* mount.c */
struct cc_mount_state {
	bool was_mounted;   /* it was there before this request */
	bool persistent;
	uint64_t dev;       /* st_dev of the mounted filesystem */
	int pinfd;          /* O_PATH fd of the mount root: keeps it busy for us */
	char tidied[160];   /* what an earlier session left and this mount tidied, or "" */
};
/* Before anything is recorded or attached: is the container's /dev its own
 * tmpfs (checked again, on the fd used, when mounting)? Returns that /dev,
 * opened (O_RDONLY|O_DIRECTORY) through the container's root without
 * following symlinks, for the caller to close. */
int cc_mount_dev_open(const struct cc_pin *p, cc_error *err);
int cc_mount_into(const struct cc_pin *p, int host_mntns_fd, int devdir, const struct cc_image *img,
		  struct cc_loop *lo, bool persistent, struct cc_mount_state *st, cc_error *err);
/* A mount of a session that no session holds any more (its broker was
 * killed) is removed by the next mount into that container, and a
 * directory crashcart made and left is reused and removed with it; -u
 * removes a directory left without its mount. st->tidied / tidied say
 * what was tidied ("" nothing), for the record and the worker.
 * explicit: -u, not lazy: EBUSY (another session, or a process in the
 * container, uses the mount) is an error, unless force (-u --force) detaches
 * it lazily; otherwise session end (only a non-persistent mount, and only if
 * nobody uses it). *unmounted says whether it happened. */
int cc_unmount_from(const struct cc_pin *p, int host_mntns_fd, bool explicit_request, bool force,
		    bool *unmounted, char *tidied, size_t tidied_len, cc_error *err);
/* For the default shell: does the image hold `rel` (e.g. "bin/bash")? */
bool cc_image_has(int pinfd, const char *rel);

/* devcg.c: the crashcart devices cgroup (crashcart/GROUP in the v1 devices
 * hierarchy) that every session's processes live in. */
struct cc_devcg {
	int dirfd;   /* the cgroup's directory */
	int procsfd; /* its cgroup.procs, open for writing */
};
/* Opens and checks it (root's rules, within CRASHCART_DEVCG_RULES); needs
 * CAP_SYS_ADMIN in the permitted set (a detached mount of the hierarchy). */
int cc_devcg_open(struct cc_devcg *d, cc_error *err);
/* Moves pid in and checks that it is there. */
int cc_devcg_join(const struct cc_devcg *d, pid_t pid, cc_error *err);
void cc_devcg_close(struct cc_devcg *d);

/* launcher.c */
int cc_launcher_start(pid_t *pid, int *sock, cc_error *err);
/* The broker's argv[0], renamed "crashcart-reaper" in the session's reaper. */
void cc_launcher_set_title(char *argv0);

/* audit.c */
struct cc_json;
struct cc_audit_summary {
	const char *event, *phase, *result; /* for the sinks' own fields */
	const char *recording_sha256;       /* an exec end record's recording digest, or NULL */
	/* Written now, fsynced with the next record that is not deferred (or
	 * by cc_audit_sync): for records whose operation cannot outlive a
	 * crash of the host by itself (session.c says which). */
	bool defer_sync;
};
/* Opens the sinks (CC_SINK_* from the policy) before the seccomp filter. */
int cc_audit_open(unsigned sinks, bool require_all, cc_error *err);
const char *cc_audit_session(void);
/* Offers one record to every sink; fail closed: a negative return means
 * the record is not on record as the policy requires, and the operation
 * must not happen. */
int cc_audit_write(struct cc_json *j, const struct cc_audit_summary *s, cc_error *err);
/* fsyncs the file sink if a deferred record is not on the disk yet. */
int cc_audit_sync(cc_error *err);
/* fd (a session recording) is on the audit log's journaled ext4, and the
 * file is the only sink: the log's next fsync makes the recording durable
 * before the end record, once its data is written (audit.c says why). */
bool cc_audit_commits_with(int fd);

/* trace.c */
struct cc_json;
struct cc_trace {
	bool taken;
	char sha256[65];
	char *text;          /* one line per mount (ids left out) and /dev entry */
};
/* The container's mount table and /dev now (devfd: from cc_mount_dev_open);
 * best effort: t->taken says whether it could be read. */
void cc_trace_take(const struct cc_pin *p, int devfd, struct cc_trace *t);
/* "trace": {before, after, identical, and the lines that differ} */
void cc_trace_json(struct cc_json *j, const struct cc_trace *before, const struct cc_trace *after);
void cc_trace_free(struct cc_trace *t);
