#pragma once
#include <limits.h>
#include <time.h>

#include "broker.h"
#include "record.h"
#include "policy.h"
#include "proto.h"

struct session {
	int sock;                /* to the worker */
	bool startup_failed;     /* every request is then refused with: */
	cc_error startup;
	struct cc_caller caller;
	uint64_t host_mntns;     /* the namespace no target may share */
	int host_mntns_fd;
	int devdir;              /* private tmpfs for device nodes */
	int launcher_sock;
	pid_t launcher_pid;
	bool devcg_ok;           /* the launcher is in the crashcart devices cgroup */
	cc_error devcg_err;      /* else why not: every exec is refused with it */
	uint64_t audit_seq;
	struct cc_policy policy;
	bool policy_loaded;
	unsigned seen;           /* rows already used (ONCE) */

	bool hello;
	uint32_t action;
	char *spec, *claim_runtime, *claim_id, *claim_name;
	uint32_t claimed_pid;
	bool have_target;
	bool claim_verified;     /* the claimed id is in the cgroup path we read */
	struct cc_pin pin;
	const struct cc_rule *rule; /* the policy rule that allowed the mount */

	char image_path[PATH_MAX];
	struct cc_image img;
	char image_sha256[65];
	struct timespec began;   /* of the operation being recorded */
	bool mounted;
	bool ended;
	bool exec_via_started;
	struct cc_mount_state ms;
	struct cc_rec rec;       /* the session's recording (exec), fd -1: none */
	struct cc_trace trace_before; /* the container before this session's first mount */
	char source[128];
};

void cc_session_init(struct session *s, int sock);
int cc_session_step(struct session *s);
void cc_session_end(struct session *s);
