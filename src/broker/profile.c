/* Tool profiles: with which identity and capabilities the tool runs.
 *
 *   restricted  the operator's uid, gid and groups; no capability (default)
 *   ptrace      the target process's own uids, gids and groups (read from
 *               /proc/PID/status of the pinned process) and CAP_SYS_PTRACE:
 *               gdb opens /proc/PID/mem, a 0600 file of the target's euid,
 *               which CAP_SYS_PTRACE alone does not pass (DESIGN.md), and
 *               the target's identity is one its container already has.
 *               CAP_SYS_PTRACE stays for what the same ids do not give: a
 *               target whose permitted set is not a subset of the tool's
 *               (container root: the kernel's cap_ptrace_access_check) or
 *               that is not dumpable. The launcher needs CAP_SETUID and
 *               CAP_SETGID to take that identity.
 *   netadmin    the operator's ids, CAP_NET_ADMIN and CAP_NET_RAW in a
 *               container with its own network namespace; refused when that
 *               namespace is linked to another (a veth peer's, any nsid):
 *               CAP_NET_ADMIN of the initial user namespace reaches every
 *               namespace that has an nsid there (rtnetlink's
 *               IFLA_TARGET_NETNSID), the host's included.
 *
 * Each profile but restricted needs capabilities beyond the broker's base
 * set; the install-time opt-in (-Dprofiles=) gives the broker's file those,
 * and the broker keeps them in its launcher only (caps.h). A broker without
 * them refuses the profile and says how to enable it. Not for a container
 * in a user namespace of its own (SECURITY.md: the tool stays in the initial user namespace).
 *
 * The tool never gains a capability on exec: no_new_privs (the kernel's
 * cap_bprm_creds_from_file then caps what an exec gives, uid 0 included, at
 * the permitted set the tool already has), and its seccomp filter keeps
 * setns, unshare of namespaces and every mount call away. */
#include "broker.h"

#include <grp.h>
#include <libmnl/libmnl.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>

#include "caps.h"
#include "proto.h"

#define MAX_GROUPS 64

struct profile {
	const char *name;
	uint64_t tool;      /* the tool's capabilities */
	uint64_t launcher;  /* what the launcher needs beyond the base set */
	const char *enable; /* the -Dprofiles= word */
};

static const struct profile profiles[] = {
	[CC_PROFILE_RESTRICTED] = { "restricted", 0, 0, NULL },
	[CC_PROFILE_PTRACE] = { "ptrace", CC_CAP(CAP_SYS_PTRACE), CC_CAP(CAP_SETUID) | CC_CAP(CAP_SETGID), "ptrace" },
	[CC_PROFILE_NETADMIN] = { "netadmin", CC_CAP(CAP_NET_ADMIN) | CC_CAP(CAP_NET_RAW),
				  CC_CAP(CAP_NET_ADMIN) | CC_CAP(CAP_NET_RAW), "netadmin" },
};

bool cc_pin_own_netns(const struct cc_pin *p)
{
	struct stat self;
	if (stat("/proc/self/ns/net", &self) < 0)
		return false;
	for (int i = 0; i < p->nns; i++)
		if (strcmp(p->ns[i].name, "net") == 0)
			return p->ns[i].ino != self.st_ino;
	return false;
}

static void cap_list(uint64_t mask, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int c = 0; c < 64 && o < len; c++)
		if (mask & CC_CAP(c))
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "", cc_cap_name(c));
}

/* "Uid:\tR\tE\tS\tFS": the first three numbers after the key. */
static int status_ids(const char *status, const char *key, unsigned long ids[3])
{
	const char *l = strstr(status, key);
	if (!l || (l != status && l[-1] != '\n'))
		return -1;
	return sscanf(l + strlen(key), "%lu %lu %lu", &ids[0], &ids[1], &ids[2]) == 3 ? 0 : -1;
}

/* The target's credentials as "RUID EUID SUID RGID EGID SGID [GROUP...]". */
static int target_creds(const struct cc_pin *p, char *out, size_t len, cc_error *err)
{
	char status[8192];
	unsigned long u[3], g[3];
	int r = cc_read_file_at(p->procfd, "status", status, sizeof(status));
	if (r < 0)
		return cc_failx(err, -r, "cannot read the identity of PID %d", p->pid);
	if (status_ids(status, "Uid:", u) < 0 || status_ids(status, "Gid:", g) < 0)
		return cc_fail(err, EINVAL, "cannot read the identity of PID %d: no Uid/Gid lines", p->pid);
	size_t o = (size_t)snprintf(out, len, "%lu %lu %lu %lu %lu %lu", u[0], u[1], u[2], g[0], g[1], g[2]);
	const char *gl = strstr(status, "\nGroups:");
	if (gl) {
		gl += strlen("\nGroups:");
		int n = 0;
		for (;;) {
			char *end;
			while (*gl == ' ' || *gl == '\t')
				gl++;
			if (*gl < '0' || *gl > '9')
				break;
			unsigned long v = strtoul(gl, &end, 10);
			if (++n > MAX_GROUPS)
				return cc_fail(err, E2BIG, "PID %d has more than %d supplementary groups: the ptrace "
					       "profile does not take them", p->pid, MAX_GROUPS);
			o += (size_t)snprintf(out + o, len - o, " %lu", v);
			gl = end;
		}
	}
	if (o >= len)
		return cc_fail(err, E2BIG, "the identity of PID %d is too long", p->pid);
	return 0;
}

int cc_profile_plan(enum cc_profile prof, const struct cc_pin *p, struct cc_profile_plan *plan, cc_error *err)
{
	memset(plan, 0, sizeof(*plan));
	plan->profile = prof;
	if ((size_t)prof >= ARRAY_SIZE(profiles) || !profiles[prof].name)
		return cc_fail(err, EINVAL, "unknown profile %d", (int)prof);
	const struct profile *d = &profiles[prof];
	if (prof == CC_PROFILE_RESTRICTED)
		return 0;
	if (p->own_userns) /* session.c refuses it earlier; kept as the last word */
		return cc_fail(err, EOPNOTSUPP, "profile %s is not supported for a container in its own user "
			       "namespace (PID %d): use profile = restricted", d->name, p->pid);
	uint64_t missing = d->launcher & ~cc_caps_available();
	if (missing) {
		char caps[200];
		cap_list(missing, caps, sizeof(caps));
		return cc_fail(err, EPERM, "profile %s needs %s, which crashcart-broker was not installed with: "
			       "enable it with `meson setup -Dprofiles=%s` and install again (SECURITY.md, Profiles)",
			       d->name, caps, d->enable);
	}
	plan->tool_caps = d->tool;
	if (prof == CC_PROFILE_PTRACE)
		return target_creds(p, plan->creds, sizeof(plan->creds), err);
	if (prof == CC_PROFILE_NETADMIN)
		plan->launch_flags |= CC_LAUNCH_NET_ALONE;
	return 0;
}

const char *cc_profile_tool_caps(const struct cc_profile_plan *plan, char *buf, size_t len)
{
	cap_list(plan->tool_caps, buf, len);
	return buf;
}

/* ---- in the launcher ---- */

int cc_profile_become(const char *creds)
{
	unsigned long v[6 + MAX_GROUPS];
	gid_t groups[MAX_GROUPS];
	int n = 0, used;
	const char *s = creds;

	while (n < (int)ARRAY_SIZE(v) && sscanf(s, "%lu%n", &v[n], &used) == 1) {
		n++;
		s += used;
	}
	if (n < 6 || *s)
		return -EINVAL;
	for (int i = 6; i < n; i++)
		groups[i - 6] = (gid_t)v[i];
	/* From a uid 0 operator to a non-zero uid the kernel would empty the
	 * permitted set; what is kept is chosen right after, by the caller. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return -errno;
	int r;
	WITH_CAPS(CC_CAP(CAP_SETGID), {
		r = setgroups((size_t)(n - 6), groups);
		if (r == 0)
			r = setresgid((gid_t)v[3], (gid_t)v[4], (gid_t)v[5]);
	});
	if (r < 0)
		return -errno;
	WITH_CAPS(CC_CAP(CAP_SETUID), r = setresuid((uid_t)v[0], (uid_t)v[1], (uid_t)v[2]));
	if (r < 0)
		return -errno;
	(void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	/* the new ids made the process non-dumpable; the caller decides */
	return 0;
}

struct linked {
	int nsid;       /* the first nsid seen, -1: none */
	bool peer;      /* a link whose other end is in another namespace */
};

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct linked *l = data;
	struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg))
		if (mnl_attr_get_type(a) == IFLA_LINK_NETNSID) {
			l->peer = true;
			if (l->nsid < 0 && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				l->nsid = (int)mnl_attr_get_u32(a);
		}
	return MNL_CB_OK;
}

static int nsid_cb(const struct nlmsghdr *nlh, void *data)
{
	struct linked *l = data;
	struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(struct rtgenmsg))
		if (mnl_attr_get_type(a) == NETNSA_NSID && mnl_attr_validate(a, MNL_TYPE_U32) == 0) {
			int id = (int)mnl_attr_get_u32(a);
			if (id >= 0 && l->nsid < 0)
				l->nsid = id;
		}
	return MNL_CB_OK;
}

static int dump(struct mnl_socket *nl, uint16_t type, size_t hdrlen, mnl_cb_t cb, struct linked *l)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	unsigned seq = (unsigned)time(NULL) ^ type;
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	struct rtgenmsg *g = mnl_nlmsg_put_extra_header(nlh, hdrlen);
	g->rtgen_family = AF_UNSPEC;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	unsigned portid = mnl_socket_get_portid(nl);
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		int r = mnl_cb_run(buf, (size_t)n, seq, portid, cb, l);
		if (r < 0)
			return -errno;
		if (r == MNL_CB_STOP)
			return 0;
	}
}

int cc_profile_net_alone(cc_error *err)
{
	struct linked l = { .nsid = -1 };
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return cc_failx(err, errno, "profile netadmin: cannot open a netlink socket in the container");
	int r = mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ? -errno : 0;
	/* The link dump first: it gives every peer namespace an nsid here
	 * (the kernel allocates one to report IFLA_LINK_NETNSID), so the nsid
	 * dump after it sees them all. */
	if (r == 0)
		r = dump(nl, RTM_GETLINK, sizeof(struct ifinfomsg), link_cb, &l);
	if (r == 0)
		r = dump(nl, RTM_GETNSID, sizeof(struct rtgenmsg), nsid_cb, &l);
	mnl_socket_close(nl);
	if (r < 0)
		return cc_failx(err, -r, "profile netadmin: cannot list the links of the container's network namespace");
	if (l.peer || l.nsid >= 0)
		return cc_fail(err, EXDEV, "profile netadmin refused: the container's network namespace is linked "
			       "to another one (nsid %d%s), which CAP_NET_ADMIN there would reach", l.nsid,
			       l.peer ? ", the other end of a veth or similar link" : "");
	return 0;
}
