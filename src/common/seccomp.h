/* seccomp filters of the three processes, built from the lists in policy/.
 *   WORKER  loaded by crashcart after it has spawned the broker and set
 *           no_new_privs, before it reads any container-controlled data
 *   BROKER  loaded by crashcart-broker after start-up (capabilities checked,
 *           launcher forked, audit log open), before it serves requests;
 *           default action: kill the process
 *   TOOL    loaded in the tool's process after no_new_privs, just before
 *           execve: what a debugging session never needs is refused
 *   TOOL_PTRACE  the same without the perf_event_open rule, for the
 *           ptrace profile's tool (policy/seccomp-tool.list, %variant) */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum cc_filter {
	CC_FILTER_WORKER,
	CC_FILTER_BROKER,
	CC_FILTER_TOOL,
	CC_FILTER_TOOL_PTRACE, /* the tool's under profile = ptrace: perf_event_open allowed */
	CC_FILTER_TRAIL, /* the exec trail: cc_seccomp_exec_trail() only */
};
struct sock_filter;

/* seccomp.c: loads the BPF compiled in at build time with seccomp(2). */
int cc_seccomp_load(enum cc_filter which, cc_error *err);
/* The exec trail (session recording): a filter that allows everything but
 * hands every execve/execveat, in every ABI, to a supervisor
 * (SECCOMP_RET_USER_NOTIF); *listener gets the supervisor's fd. Loaded in
 * the launcher before it forks the session: the tool and everything it
 * starts inherit it. Without a supervisor (its fd closed) exec fails with
 * ENOSYS: fail closed. */
int cc_seccomp_exec_trail(int *listener, cc_error *err);
/* The name of syscall nr in the ABI arch (AUDIT_ARCH_*) into buf, for the
 * exec trail's calls (execve, execveat; "?" for anything else). */
void cc_seccomp_syscall_name(uint32_t arch, int nr, char *buf, size_t len);
/* The program compiled in (0, or -EINVAL for no such filter). */
int cc_seccomp_program(enum cc_filter which, const struct sock_filter **prog, size_t *len);

/* seccomp_build.c (libccseccomp: crashcart-filters and the unit tests, not
 * the installed programs): the filters built from the lists by libseccomp. */
/* The BPF libseccomp makes of the lists now, malloc'd into *prog. */
int cc_seccomp_build_bpf(enum cc_filter which, struct sock_filter **prog, size_t *len, cc_error *err);
/* seccomp-bpf.h: every program, for seccomp.c, written to fd (closed). */
int cc_seccomp_write_c_header(int fd, cc_error *err);
/* Writes the filter in libseccomp's readable PFC form to fd. */
int cc_seccomp_export_pfc(enum cc_filter which, int fd, cc_error *err);
/* "worker", "broker", "tool", "tool_ptrace" (NULL for anything else). */
const char *cc_seccomp_name(enum cc_filter which);
/* How many distinct syscalls the filter's list names (-1: no such filter). */
int cc_seccomp_count(enum cc_filter which);
