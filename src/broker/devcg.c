/* The devices the tool may open: the crashcart devices cgroup.
 *
 * setns() enters the container's namespaces, not its cgroups, and the
 * broker cannot join those (their cgroup.procs are root's: euid 0 or
 * CAP_DAC_OVERRIDE, which the broker does not hold). Left in the operator's
 * cgroup, the tool could open any device node the container makes:
 * container root holds CAP_MKNOD and CAP_CHOWN (Docker's default set), makes
 * a node of the host's disk, owned by the operator's uid, and drives the
 * tool to it (ptrace as that uid, or a program of its own that the operator
 * runs by path). The container's device rules are its cgroup's and do not
 * apply to the tool.
 *
 * So every process of every session lives in a cgroup v1 devices cgroup that
 * root set up (crashcart-devices-cgroup(8), at boot and at install):
 * crashcart/GROUP in the devices hierarchy, whose rules allow the
 * pseudo-devices a shell needs (CRASHCART_DEVCG_RULES: null, zero, full,
 * random, urandom, tty, ptmx, the pty slaves) and nothing else: no block
 * device, no mknod. Only its cgroup.procs is the operators group's to write.
 * The broker moves the launcher there at start-up, before the launcher has
 * received anything (its reaper and tool are forked into it), and checks
 * that the move took; a session is refused when any of this fails.
 *
 * Why this holds against the container and the operator alike:
 * - devices.allow takes CAP_SYS_ADMIN *and* a write to a root-owned 0644
 *   file: a subverted broker, without CAP_DAC_OVERRIDE, cannot widen the
 *   rules (checked here: root-owned, not group- or world-writable);
 * - a v1 child cgroup can never allow what its parent denies;
 * - a process leaves a v1 cgroup only by a write into another cgroup's
 *   cgroup.procs or tasks: all root's, and in the host's cgroup mounts,
 *   which the tool (in the container's mount namespace) does not see.
 *
 * The hierarchy is reached by a detached mount of it (fsopen("cgroup") with
 * "devices" attaches to the existing hierarchy), never by a path in the
 * caller's mount namespace. /proc/cgroups says first whether a devices
 * hierarchy exists, so that the broker never creates one. On cgroup2 hosts
 * the v1 devices controller still applies: the kernel checks the device
 * BPF programs of the v2 cgroup and then the v1 rules (the set-up mounts a
 * devices hierarchy there). */
#include "broker.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "caps.h"
#include "config.h"

#define SETUP_HINT "as root: crashcart-devices-cgroup " CRASHCART_OPS_GROUP \
	" (the package's crashcart-devices-cgroup.service runs it at boot)"

/* Is the devices controller bound to a v1 hierarchy? /proc/cgroups:
 * "#subsys_name hierarchy num_cgroups enabled". */
static int devices_hierarchy(cc_error *err)
{
	char buf[2048], *line, *save = NULL;
	int r = cc_read_file_at(AT_FDCWD, "/proc/cgroups", buf, sizeof(buf));
	if (r < 0)
		return cc_failx(err, -r, "cannot read /proc/cgroups");
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned hier, num, enabled;
		char name[32];
		if (sscanf(line, "%31s %u %u %u", name, &hier, &num, &enabled) == 4 && strcmp(name, "devices") == 0)
			return hier != 0 && enabled ? 0
			       : cc_fail(err, EOPNOTSUPP, "no cgroup v1 devices hierarchy on this host, so the tool's "
					 "device access cannot be confined: the crashcart devices cgroup is not set up (%s)",
					 SETUP_HINT);
	}
	return cc_fail(err, EOPNOTSUPP, "this kernel has no devices cgroup controller (CONFIG_CGROUP_DEVICE), "
		       "so the tool's device access cannot be confined");
}

/* A detached mount of the devices hierarchy's root. */
static int mount_hierarchy(cc_error *err)
{
	int fs, mnt = -1, r;

	WITH_CAPS(CC_CAP(CAP_SYS_ADMIN), fs = (int)syscall(SYS_fsopen, "cgroup", FSOPEN_CLOEXEC));
	if (fs < 0)
		return cc_failx(err, errno, "cannot open the devices cgroup hierarchy (fsopen cgroup)");
	r = (int)syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "devices", NULL, 0);
	if (r == 0)
		WITH_CAPS(CC_CAP(CAP_SYS_ADMIN), r = (int)syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
	if (r == 0)
		WITH_CAPS(CC_CAP(CAP_SYS_ADMIN),
			  mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
					     MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
	int e = errno;
	(void)close(fs);
	if (mnt < 0)
		return cc_failx(err, e, "cannot mount the devices cgroup hierarchy");
	return mnt;
}

/* Root's, and not writable by anyone else: the rules are root's alone. */
static int rules_file_is_roots(int dirfd, const char *name, const char *where, cc_error *err)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return cc_failx(err, errno, "cannot stat %s/%s", where, name);
	if (st.st_uid != 0 || (st.st_mode & 022))
		return cc_fail(err, EPERM, "%s/%s is not root's alone (uid %u, mode %04o): the devices cgroup's rules "
			       "must be root's to change (%s)", where, name, (unsigned)st.st_uid,
			       (unsigned)(st.st_mode & 07777), SETUP_HINT);
	return 0;
}

/* Is "T MAJ:MIN ACC" (a devices.list line) within CRASHCART_DEVCG_RULES:
 * the same type and numbers as one rule, and no access the rule lacks? */
static bool rule_allowed(const char *line)
{
	char type, acc[8], num[32];
	if (sscanf(line, "%c %31s %7s", &type, num, acc) != 3)
		return false;
	const char *rules = CRASHCART_DEVCG_RULES;
	while (*rules) {
		size_t n = strcspn(rules, ";");
		char rtype, racc[8], rnum[32], rule[64];
		if (n < sizeof(rule)) {
			memcpy(rule, rules, n);
			rule[n] = '\0';
			if (sscanf(rule, "%c %31s %7s", &rtype, rnum, racc) == 3 && rtype == type &&
			    strcmp(rnum, num) == 0 && strspn(acc, racc) == strlen(acc))
				return true;
		}
		rules += n + (rules[n] == ';');
	}
	return false;
}

static int check_rules(int cgfd, const char *where, cc_error *err)
{
	char buf[4096], *line, *save = NULL;
	int r = cc_read_file_at(cgfd, "devices.list", buf, sizeof(buf));
	if (r == -EFBIG)
		return cc_fail(err, EPERM, "%s/devices.list is longer than any rules crashcart sets (%s)", where,
			       SETUP_HINT);
	if (r < 0)
		return cc_failx(err, -r, "cannot read %s/devices.list", where);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!rule_allowed(line))
			return cc_fail(err, EPERM, "%s allows '%s', more than the tool may open (%s)", where, line,
				       SETUP_HINT);
	return 0;
}

int cc_devcg_open(struct cc_devcg *d, cc_error *err)
{
	static const char where[] = "the crashcart devices cgroup crashcart/" CRASHCART_OPS_GROUP;
	int r;

	d->dirfd = d->procsfd = -1;
	r = devices_hierarchy(err);
	if (r < 0)
		return r;
	int mnt = mount_hierarchy(err);
	if (mnt < 0)
		return mnt;
	d->dirfd = openat(mnt, "crashcart/" CRASHCART_OPS_GROUP, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int e = errno;
	(void)close(mnt); /* the fd below keeps what it needs of the mount */
	if (d->dirfd < 0) {
		if (e == ENOENT)
			return cc_fail(err, ENOENT, "%s does not exist: it is not set up (%s)", where, SETUP_HINT);
		return cc_failx(err, e, "cannot open %s", where);
	}
	if ((r = rules_file_is_roots(d->dirfd, "devices.allow", where, err)) < 0 ||
	    (r = rules_file_is_roots(d->dirfd, "devices.deny", where, err)) < 0 ||
	    (r = check_rules(d->dirfd, where, err)) < 0)
		goto fail;
	d->procsfd = openat(d->dirfd, "cgroup.procs", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (d->procsfd < 0) {
		r = cc_failx(err, errno, "cannot open %s/cgroup.procs for writing (it must be writable by the group "
			     "'%s': %s)", where, CRASHCART_OPS_GROUP, SETUP_HINT);
		goto fail;
	}
	return 0;
fail:
	cc_devcg_close(d);
	return r;
}

/* Moves pid (the launcher: same uid, so v1 allows it) in, and reads the
 * cgroup's member list back: the move must have happened. */
int cc_devcg_join(const struct cc_devcg *d, pid_t pid, cc_error *err)
{
	char buf[32], list[65536];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	if (write(d->procsfd, buf, (size_t)n) != n)
		return cc_failx(err, errno, "cannot move the session into the crashcart devices cgroup");
	int r = cc_read_file_at(d->dirfd, "cgroup.procs", list, sizeof(list));
	if (r < 0)
		return cc_failx(err, -r, "cannot read the crashcart devices cgroup's processes");
	for (char *p = list; *p;) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		if (v == pid)
			return 0;
		p = end + (*end == '\n');
	}
	return cc_fail(err, EPERM, "the session is not in the crashcart devices cgroup after the move");
}

void cc_devcg_close(struct cc_devcg *d)
{
	if (d->procsfd >= 0)
		(void)close(d->procsfd);
	if (d->dirfd >= 0)
		(void)close(d->dirfd);
	d->dirfd = d->procsfd = -1;
}
