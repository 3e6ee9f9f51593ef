/* netreach: what the netadmin profile's tool does to reach another network
 * namespace through a process of the container's PID namespace that lives
 * in that other namespace (a sidecar started with `--pid=container:X
 * --net=host`, say). rtnetlink names a namespace by a PID of the caller's
 * PID namespace (NETNSA_PID, IFLA_NET_NS_PID) and checks CAP_NET_ADMIN in
 * the user namespace owning it: the initial one, for the host's. Two tries:
 *   1. RTM_NEWNSID, NETNSA_PID=PID: an nsid for that namespace here (then
 *      IFLA_TARGET_NETNSID reaches it);
 *   2. RTM_NEWLINK of a veth pair named NAME/NAMEp, IFLA_NET_NS_PID=PID:
 *      created right in that namespace.
 * NSFILE instead of PID (a path: an nsfs file of a network namespace, a
 * bind mount of one) names it by fd (NETNSA_FD, IFLA_NET_NS_FD) instead.
 * Prints what the kernel answered to each. Static, raw netlink: the
 * container has no libc. usage: netreach PID|NSFILE NAME */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct req {
	struct nlmsghdr h;
	char buf[1024];
};

static struct rtattr *put(struct req *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)&r->h + NLMSG_ALIGN(r->h.nlmsg_len));
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void end(struct req *r, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)((char *)&r->h + r->h.nlmsg_len - (char *)nest);
}

/* send, read the ack: 0 or -errno */
static int talk(int fd, struct req *r)
{
	char buf[8192];
	r->h.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (send(fd, r, r->h.nlmsg_len, 0) < 0)
		return -errno;
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	if (h->nlmsg_type == NLMSG_ERROR)
		return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
	return 0;
}

static const char *say(int r)
{
	return r ? strerror(-r) : "done";
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: netreach PID|NSFILE NAME\n");
		return 2;
	}
	unsigned pid = (unsigned)atoi(argv[1]);
	unsigned short by_pid = NETNSA_PID, link_by_pid = IFLA_NET_NS_PID;
	if (argv[1][0] == '/') {
		int nsfd = open(argv[1], O_RDONLY | O_CLOEXEC);
		if (nsfd < 0) {
			printf("netreach: open %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
		pid = (unsigned)nsfd; /* the same u32 attribute, by fd */
		by_pid = NETNSA_FD;
		link_by_pid = IFLA_NET_NS_FD;
	}
	const char *name = argv[2];
	char peer[IFNAMSIZ];
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		printf("netreach: socket: %s\n", strerror(errno));
		return 1;
	}
	struct req r;

	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtgenmsg));
	r.h.nlmsg_type = RTM_NEWNSID;
	r.h.nlmsg_seq = 1;
	int id = -1;
	put(&r, NETNSA_NSID, &id, sizeof(id)); /* -1: the kernel picks one */
	put(&r, by_pid, &pid, sizeof(pid));
	printf("netreach: nsid for the namespace of %s: %s\n", argv[1], say(talk(fd, &r)));

	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r.h.nlmsg_type = RTM_NEWLINK;
	r.h.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	r.h.nlmsg_seq = 2;
	put(&r, IFLA_IFNAME, name, strlen(name) + 1);
	put(&r, link_by_pid, &pid, sizeof(pid));
	struct rtattr *li = put(&r, IFLA_LINKINFO, NULL, 0);
	put(&r, IFLA_INFO_KIND, "veth", 5);
	struct rtattr *data = put(&r, IFLA_INFO_DATA, NULL, 0);
	struct rtattr *pe = put(&r, VETH_INFO_PEER, NULL, 0);
	r.h.nlmsg_len += NLMSG_ALIGN(sizeof(struct ifinfomsg)); /* the peer's (zeroed) ifinfomsg */
	snprintf(peer, sizeof(peer), "%.13sp", name);
	put(&r, IFLA_IFNAME, peer, strlen(peer) + 1);
	end(&r, pe);
	end(&r, data);
	end(&r, li);
	printf("netreach: veth %s in the namespace of %s: %s\n", name, argv[1], say(talk(fd, &r)));
	close(fd);
	return 0;
}
