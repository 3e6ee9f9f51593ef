/* A stand-in for a hostile or unlucky worker, for the integration suite:
 * it speaks the broker's protocol directly (the worker is under the user's
 * control, so anything it can send, a user can send).
 *
 *   broker-client BROKER dead            a target that exits between resolve and act
 *   broker-client BROKER stale PID       PID with a start time that is not its own
 *   broker-client BROKER out-of-order    MOUNT before TARGET: a protocol violation
 *   broker-client BROKER garbage         a frame that does not decode
 *   broker-client BROKER false-claim PID a docker id the PID's cgroup does not name
 *   broker-client BROKER launch PID      the launcher's own LAUNCH, with the ptrace
 *                                        profile's creds for uid 0 and every
 *                                        capability kept, sent to the broker
 *
 * Prints the broker's answer and exits 0 when the broker refused as it must. */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "proto.h"

static pid_t broker_pid;

static int spawn(const char *path)
{
	char *const argv[] = { (char *)"crashcart-broker", NULL };
	char *const envp[] = { NULL };
	posix_spawn_file_actions_t fa;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
	posix_spawn_file_actions_addclosefrom_np(&fa, 4);
	if (posix_spawn(&broker_pid, path, &fa, NULL, argv, envp) != 0)
		return -1;
	close(sv[1]);
	return sv[0];
}

static int broker_status(int sock)
{
	int st = 0;
	close(sock);
	waitpid(broker_pid, &st, 0);
	return st;
}

static int hello(int sock, cc_error *err)
{
	struct cc_msg req = { .type = CC_MSG_HELLO }, rep;
	req.u.hello.version = CC_PROTO_VERSION;
	int r = cc_call(sock, &req, CC_MSG_HELLO_OK, &rep, err);
	if (r == 0)
		cc_msg_clear(&rep);
	return r;
}

static int target_claim(int sock, pid_t pid, uint64_t start, const char *runtime, const char *id, cc_error *err)
{
	struct cc_msg req = { .type = CC_MSG_TARGET }, rep;
	char spec[32];
	snprintf(spec, sizeof(spec), "%d", pid);
	req.u.target = (struct cc_target){ .action = CC_ACT_MOUNT, .pid = (uint32_t)pid, .start_time = start,
					   .spec = spec, .runtime = (char *)runtime, .id = (char *)(id ? id : spec),
					   .name = "", .resolve_error = "" };
	int r = cc_call(sock, &req, CC_MSG_TARGET_OK, &rep, err);
	if (r == 0)
		cc_msg_clear(&rep);
	return r;
}

static int target(int sock, pid_t pid, uint64_t start, cc_error *err)
{
	return target_claim(sock, pid, start, "pid", NULL, err);
}

static uint64_t start_time_of(pid_t pid)
{
	char path[64], text[1024];
	uint64_t t = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (cc_read_file_at(-100, path, text, sizeof(text)) < 0 || cc_parse_stat_start_time(text, &t) < 0)
		return 0;
	return t;
}

static int expect_refusal(int r, const cc_error *err, const char *needle)
{
	if (r >= 0) {
		printf("broker accepted what it must refuse\n");
		return 1;
	}
	printf("%s\n", err->msg);
	return strstr(err->msg, needle) ? 0 : 1;
}

int main(int argc, char **argv)
{
	cc_error err = { 0 };
	int sock, r;

	if (argc < 3)
		return 2;
	sock = spawn(argv[1]);
	if (sock < 0) {
		perror("spawn");
		return 2;
	}
	if (strcmp(argv[2], "dead") == 0) {
		/* Resolve a process, then let it die before the broker acts. */
		pid_t child = fork();
		if (child == 0) {
			pause();
			_exit(0);
		}
		uint64_t start = start_time_of(child);
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		if (hello(sock, &err) < 0)
			return expect_refusal(0, &err, "");
		r = target(sock, child, start, &err);
		return expect_refusal(r, &err, "no process with PID");
	}
	if (strcmp(argv[2], "stale") == 0 && argc == 4) {
		pid_t pid = atoi(argv[3]);
		if (hello(sock, &err) < 0)
			return expect_refusal(0, &err, "");
		r = target(sock, pid, start_time_of(pid) + 1, &err);
		return expect_refusal(r, &err, "the PID was reused");
	}
	if (strcmp(argv[2], "false-claim") == 0 && argc == 4) {
		pid_t pid = atoi(argv[3]);
		if (hello(sock, &err) < 0)
			return expect_refusal(0, &err, "");
		r = target_claim(sock, pid, start_time_of(pid), "docker",
				 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", &err);
		return expect_refusal(r, &err, "the resolver's claim does not hold");
	}
	if (strcmp(argv[2], "out-of-order") == 0) {
		struct cc_msg req = { .type = CC_MSG_MOUNT }, rep;
		req.u.mount.image = "/nonexistent";
		if (hello(sock, &err) < 0)
			return expect_refusal(0, &err, "");
		r = cc_call(sock, &req, CC_MSG_MOUNT_OK, &rep, &err);
		int st = broker_status(sock);
		printf("%s; broker exit %d\n", r < 0 ? err.msg : "accepted", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return r < 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1 ? 0 : 1;
	}
	if (strcmp(argv[2], "launch") == 0 && argc == 4) {
		/* What the broker sends its launcher, sent to the broker by the
		 * worker: the ids and capabilities are the broker's to choose. */
		char *targv[] = { (char *)"/dev/crashcart/bin/sh", NULL }, *tenv[] = { NULL };
		struct cc_msg req = { .type = CC_MSG_LAUNCH, .seq = 2 };
		req.u.launch = (struct cc_launch){ .nsflags = 0, .keep_caps = ~0ULL, .argv = targv, .envp = tenv,
						   .flags = 0, .creds = (char *)"0 0 0 0 0 0 0" };
		req.fds[0] = (int)syscall(SYS_pidfd_open, atoi(argv[3]), 0);
		for (int i = 1; i < 4; i++)
			req.fds[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
		req.nfds = 4;
		if (hello(sock, &err) < 0)
			return expect_refusal(0, &err, "");
		r = cc_msg_send(sock, &req, &err);
		char c;
		ssize_t n = r < 0 ? -1 : recv(sock, &c, 1, 0);
		int st = broker_status(sock);
		printf("sent: %s; broker answered %zd bytes; exit %d\n", r < 0 ? err.msg : "yes", n,
		       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return r == 0 && n == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1 ? 0 : 1;
	}
	if (strcmp(argv[2], "garbage") == 0) {
		static const char junk[] = "\x10\x00\x00\x00\x01\x00\x63\x00\x01\x00\x00\x00\xff\xff\xff\xff";
		(void)send(sock, junk, sizeof(junk) - 1, 0);
		char c;
		ssize_t n = recv(sock, &c, 1, 0);
		int st = broker_status(sock);
		printf("broker answered %zd bytes; exit %d\n", n, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return n == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1 ? 0 : 1;
	}
	return 2;
}
