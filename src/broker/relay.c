/* The session's terminal relay: the only path between the operator's stdio
 * and the tool.
 *
 * The tool never holds the operator's terminal, nor any other fd of the
 * operator's: a tool holding the host terminal can push input into it
 * (TIOCSTI) for the operator's shell to run after crashcart returns, and
 * anything the container can make the tool do (container root may become the
 * operator's uid and ptrace it, or reopen /proc/TOOL/fd/N) it could do to
 * that terminal or file. So the broker makes the tool's stdio itself: a
 * pseudo-terminal from the host's devpts when the operator is at a terminal
 * (the tool gets its slave as controlling tty in a session of its own, like
 * `docker exec -it`, sudo's use_pty), else pipes (byte-exact), and copies
 * between those and the operator's fds. Each of the tool's stdout and stderr
 * is the pty slave only where the operator's own is a terminal, so that
 * `crashcart ID cat blob > file` stays byte-exact at a terminal too.
 *
 * The copy runs here, in the broker, a process the operator cannot ptrace
 * (file capabilities make it non-dumpable) and the container cannot see:
 * every byte in either direction passes through relay_bytes(), the one place
 * where a session recording can take them.
 *
 * Nothing the container does can stall the broker here: our own ends are
 * non-blocking, each direction has one bounded buffer (a full one stops
 * reading its source), and the operator's fds (shared with the operator's
 * shell, so never made non-blocking) are written only after poll says so,
 * at most PIPE_BUF bytes at a time. */
#include "relay.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>

#include "exectrail.h"
#include "proto.h"

/* After the tool's end, what it wrote is still drained, for at most this
 * long: a container process that reopened the tool's pty or pipe must not
 * keep the session open. */
#define DRAIN_MS 2000

struct chan {
	int src, dst;
	bool eof;
	size_t len, off;
	char buf[PIPE_BUF];
};

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

static bool is_tty(int fd)
{
	struct termios t;
	return ioctl(fd, TCGETS, &t) == 0;
}

/* A pseudo-terminal of the host's devpts, not the container's: the
 * container's /dev/ptmx is whatever the container put there. The slave is
 * reached from the master (TIOCGPTPEER), never by a path. */
static int open_pty(struct cc_relay *r, int *slave, cc_error *err)
{
	int unlock = 0;
	r->master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (r->master < 0)
		return cc_failx(err, errno, "cannot open /dev/ptmx for the tool's terminal");
	if (ioctl(r->master, TIOCSPTLCK, &unlock) < 0)
		return cc_failx(err, errno, "cannot unlock the tool's terminal");
	*slave = ioctl(r->master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0)
		return cc_failx(err, errno, "cannot open the tool's terminal (TIOCGPTPEER)");
	cc_relay_resize(r);
	return 0;
}

/* The operator's fds get the tool's output written by the broker: a
 * message socket whose reader takes per-message credentials
 * (SCM_CREDENTIALS: journald's native socket, /dev/log) would see them as
 * the broker's, and the tool's text as a record from the broker's path.
 * Only a terminal, a pipe, a file or a stream socket will do (those
 * receivers are datagram sockets, which a stream socket cannot reach; a
 * stream's peer credentials are its connector's: `ssh host crashcart ...`
 * and systemd's StandardOutput=journal keep working). */
static int check_stdio(int fd, int i, cc_error *err)
{
	static const char *const names[] = { "stdin", "stdout", "stderr" };
	struct stat st;
	int type = 0;
	socklen_t len = sizeof(type);

	if (fstat(fd, &st) < 0)
		return cc_failx(err, errno, "cannot inspect the %s crashcart was given", names[i]);
	if (!S_ISSOCK(st.st_mode))
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM)
		return cc_fail(err, EINVAL,
			       "%s is a %s socket: the broker relays the tool's I/O itself, and a message socket's reader "
			       "would take the broker's credentials for the tool's; give crashcart a terminal, a pipe or a file",
			       names[i], type == SOCK_DGRAM ? "datagram" : type == SOCK_SEQPACKET ? "seqpacket" : "message");
	return 0;
}

int cc_relay_open(struct cc_relay *r, const int op[3], bool pty, int tool[3], bool *ctty, cc_error *err)
{
	_cleanup_close_ int slave = -1;
	int e = 0;

	memset(r, 0, sizeof(*r));
	r->master = r->sigfd = r->tty = r->trail = -1;
	for (int i = 0; i < 3; i++) {
		r->op[i] = op[i];
		r->pipe[i] = tool[i] = -1;
	}
	for (int i = 0; i < 3; i++) {
		e = check_stdio(op[i], i, err);
		if (e < 0)
			return e;
	}
	for (int i = 0; i < 3 && r->tty < 0; i++)
		if (is_tty(op[i]))
			r->tty = op[i]; /* where the window size comes from */
	*ctty = false;
	if (pty) {
		e = open_pty(r, &slave, err);
		if (e < 0)
			goto fail;
		*ctty = true;
		if (set_nonblock(r->master) < 0) {
			e = cc_failx(err, errno, "cannot make the tool's terminal non-blocking");
			goto fail;
		}
	}
	for (int i = 0; i < 3; i++) {
		if (pty && (i == 0 || is_tty(op[i]))) {
			tool[i] = fcntl(slave, F_DUPFD_CLOEXEC, 3);
			if (tool[i] < 0) {
				e = cc_failx(err, errno, "cannot duplicate the tool's terminal");
				goto fail;
			}
			continue;
		}
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0) {
			e = cc_failx(err, errno, "cannot create a pipe for the tool");
			goto fail;
		}
		tool[i] = i == 0 ? p[0] : p[1];
		r->pipe[i] = i == 0 ? p[1] : p[0];
		if (set_nonblock(r->pipe[i]) < 0) {
			e = cc_failx(err, errno, "cannot make the tool's pipe non-blocking");
			goto fail;
		}
	}
	r->pty = pty;
	return 0;
fail:
	for (int i = 0; i < 3; i++) {
		cc_closep(&tool[i]);
		tool[i] = -1;
	}
	cc_relay_close(r);
	return e;
}

void cc_relay_close(struct cc_relay *r)
{
	for (int i = 0; i < 3; i++) {
		cc_closep(&r->pipe[i]);
		r->pipe[i] = -1;
	}
	cc_closep(&r->master);
	cc_closep(&r->sigfd);
	cc_closep(&r->trail);
	r->master = r->sigfd = r->trail = -1;
}

void cc_relay_resize(struct cc_relay *r)
{
	struct winsize ws;
	if (r->master < 0 || r->tty < 0 || ioctl(r->tty, TIOCGWINSZ, &ws) < 0)
		return;
	/* The kernel sends SIGWINCH to the tool's foreground job itself. */
	(void)ioctl(r->master, TIOCSWINSZ, &ws);
	if (ws.ws_col == r->cols && ws.ws_row == r->rows)
		return;
	if (r->rec && (r->cols || r->rows))
		cc_rec_resize(r->rec, ws.ws_col, ws.ws_row);
	r->cols = ws.ws_col;
	r->rows = ws.ws_row;
}

/* A line for the operator, on their terminal (or stderr), beside the
 * tool's output; in the recording as a marker. */
static void tell_operator(struct cc_relay *r, const char *msg)
{
	char line[512];
	int fd = r->tty >= 0 ? r->tty : r->op[2];
	int n = snprintf(line, sizeof(line), "\r\ncrashcart: %s\r\n", msg);
	if (fd >= 0 && n > 0)
		(void)!write(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	if (r->rec)
		cc_rec_marker(r->rec, msg);
}

/* Every byte of the session passes here, in order, with its channel: the
 * one place for a recording to take it. */
static void relay_bytes(struct cc_relay *r, enum cc_relay_chan ch, const char *buf, size_t n)
{
	r->bytes[ch] += n;
	if (r->rec)
		cc_rec_text(r->rec, ch == CC_CH_IN ? 'i' : 'o', buf, n, &r->carry[ch]);
}

/* Fill a channel's buffer from its source. Returns -1 when the source is
 * done (EOF, or EIO: a pty whose slaves are all closed). */
static int chan_read(struct cc_relay *r, enum cc_relay_chan ch, struct chan *c)
{
	ssize_t n = read(c->src, c->buf, sizeof(c->buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	c->len = (size_t)n;
	c->off = 0;
	relay_bytes(r, ch, c->buf, c->len);
	return 0;
}

/* Returns -1 when the reader is gone. */
static int chan_write(struct chan *c)
{
	ssize_t n = write(c->dst, c->buf + c->off, c->len - c->off);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	c->off += (size_t)n;
	if (c->off == c->len)
		c->len = c->off = 0;
	return 0;
}

/* The operator's side went away (the terminal hung up, or the worker):
 * the launcher ends the session's processes, then reports. */
static void hang_up(struct cc_relay *r, int launcher_sock, const char *why)
{
	struct cc_msg end = { .type = CC_MSG_LAUNCH_END };
	cc_error ignored;
	if (r->ended_by)
		return;
	r->ended_by = why;
	if (r->rec) {
		char m[128];
		snprintf(m, sizeof(m), "session ended: %s", why);
		cc_rec_marker(r->rec, m);
	}
	(void)cc_msg_send(launcher_sock, &end, &ignored);
}

/* The operator's stdin ended. */
static void input_ended(struct cc_relay *r, struct chan *in, int launcher_sock)
{
	in->eof = true;
	if (r->pty && r->tty == r->op[0]) {
		/* raw mode: a terminal's read ends only when it hangs up */
		hang_up(r, launcher_sock, "terminal hang-up");
	} else if (r->pty) {
		/* -t with piped input: its end is the terminal's EOF character */
		in->buf[0] = 4;
		in->len = 1;
		in->off = 0;
	} else {
		cc_closep(&r->pipe[0]); /* the tool reads EOF */
		r->pipe[0] = -1;
	}
}

/* 1: the launcher's report is in *done; 0: the exec trail's listener came
 * (the tool has not started yet); negative: an error. */
static int launcher_reply(struct cc_relay *r, int launcher_sock, struct cc_msg *done, cc_error *err)
{
	int got = cc_msg_recv(launcher_sock, done, err);
	if (got == 0)
		return cc_fail(err, EPIPE, "the broker's launcher went away (killed?): the session was ended with it");
	if (got < 0)
		return got;
	if (done->type == CC_MSG_LAUNCH_TRAIL && r->trail < 0) {
		r->trail = done->fds[0];
		done->nfds = 0;
		cc_msg_clear(done);
		return 0;
	}
	if (done->type == CC_MSG_ERROR)
		return cc_msg_take_error(done, err);
	if (done->type != CC_MSG_LAUNCH_DONE) {
		unsigned t = done->type;
		cc_msg_clear(done);
		return cc_fail(err, EPROTO, "the launcher answered %s", cc_msg_name(t));
	}
	return 1;
}

enum { W_WORKER = CC_RELAY_NCHAN, W_LAUNCHER, W_WINCH, W_TRAIL };

int cc_relay_run(struct cc_relay *r, int worker_sock, int launcher_sock, struct cc_msg *done, cc_error *err)
{
	struct chan c[CC_RELAY_NCHAN];
	int out_tty = r->op[1] == r->tty ? r->op[1] : r->tty >= 0 ? r->tty : r->op[1];
	sigset_t winch;
	int64_t deadline = 0, start = cc_now_ms();
	int64_t limit = r->limit_s ? start + (int64_t)r->limit_s * 1000 : 0;
	int64_t warn = r->limit_s > 120 ? limit - 60000 : 0;
	bool launcher_done = false, warned = false;
	int ret = 0;

	/* Where each channel reads and writes; -1: the channel is not used. */
	c[CC_CH_IN] = (struct chan){ .src = r->op[0], .dst = r->pty ? r->master : r->pipe[0] };
	c[CC_CH_PTY] = (struct chan){ .src = r->master, .dst = out_tty };
	c[CC_CH_OUT] = (struct chan){ .src = r->pipe[1], .dst = r->op[1] };
	c[CC_CH_ERR] = (struct chan){ .src = r->pipe[2], .dst = r->op[2] };
	for (int i = 0; i < CC_RELAY_NCHAN; i++)
		c[i].eof = c[i].src < 0 || c[i].dst < 0;

	sigemptyset(&winch);
	sigaddset(&winch, SIGWINCH);
	if (r->pty) {
		/* Blocked, a SIGWINCH is queued for the signalfd, not ignored;
		 * the broker shares the worker's process group, so a resize of
		 * the operator's terminal reaches it. */
		(void)sigprocmask(SIG_BLOCK, &winch, NULL);
		r->sigfd = signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK);
		cc_relay_resize(r); /* a resize since the pty was made */
	}
	memset(done, 0, sizeof(*done));

	for (;;) {
		struct pollfd p[CC_RELAY_NCHAN + 4];
		int what[CC_RELAY_NCHAN + 4];
		nfds_t np = 0;
		int timeout = -1;

		if (launcher_done) {
			bool busy = false;
			for (int i = CC_CH_PTY; i < CC_RELAY_NCHAN; i++)
				busy |= !c[i].eof || c[i].len;
			if (!busy || cc_now_ms() >= deadline)
				break;
			timeout = (int)(deadline - cc_now_ms());
		} else if (limit && !r->ended_by) {
			/* the policy's max_session: a warning a minute before, then the end */
			int64_t now = cc_now_ms();
			if (warn && !warned && now >= warn) {
				warned = true;
				tell_operator(r, "this session ends in 1 minute (the policy's max_session)");
			}
			if (now >= limit) {
				tell_operator(r, "this session has reached the policy's max_session: it ends now");
				hang_up(r, launcher_sock, "time limit");
				continue;
			}
			timeout = (int)(((warn && !warned) ? warn : limit) - now);
		}
		if (r->rec && r->rec->failed && !r->ended_by) {
			/* fail closed: no recording, no session */
			char m[400];
			snprintf(m, sizeof(m), "the session ends: %s", r->rec->error);
			tell_operator(r, m);
			hang_up(r, launcher_sock, "recording failed");
		}
		for (int i = 0; i < CC_RELAY_NCHAN; i++) {
			if (i == CC_CH_IN && (launcher_done || r->ended_by))
				continue; /* no more input once the session ends */
			if (r->ended_by && i != CC_CH_IN)
				c[i].len = c[i].off = 0; /* ...and no more output to the operator (it is recorded) */
			if (c[i].len)
				p[np] = (struct pollfd){ .fd = c[i].dst, .events = POLLOUT };
			else if (!c[i].eof)
				p[np] = (struct pollfd){ .fd = c[i].src, .events = POLLIN };
			else
				continue;
			what[np++] = i;
		}
		if (!r->ended_by) {
			p[np] = (struct pollfd){ .fd = worker_sock, .events = POLLIN };
			what[np++] = W_WORKER;
		}
		if (!launcher_done) {
			p[np] = (struct pollfd){ .fd = launcher_sock, .events = POLLIN };
			what[np++] = W_LAUNCHER;
		}
		if (r->sigfd >= 0) {
			p[np] = (struct pollfd){ .fd = r->sigfd, .events = POLLIN };
			what[np++] = W_WINCH;
		}
		if (r->trail >= 0 && !launcher_done) {
			p[np] = (struct pollfd){ .fd = r->trail, .events = POLLIN };
			what[np++] = W_TRAIL;
		}
		if (poll(p, np, timeout) < 0) {
			if (errno == EINTR)
				continue;
			ret = cc_failx(err, errno, "the session relay cannot poll");
			break;
		}
		for (nfds_t k = 0; k < np; k++) {
			if (!p[k].revents)
				continue;
			int w = what[k];
			if (w < CC_RELAY_NCHAN && c[w].len) {
				if (chan_write(&c[w]) < 0) {
					/* The reader is gone: drop the rest, and let the
					 * tool see it (EPIPE, SIGPIPE) rather than block. */
					c[w].len = c[w].off = 0;
					c[w].eof = true;
					if (w == CC_CH_OUT || w == CC_CH_ERR) {
						cc_closep(&r->pipe[w - CC_CH_OUT + 1]);
						r->pipe[w - CC_CH_OUT + 1] = -1;
					} else if (w == CC_CH_PTY) {
						hang_up(r, launcher_sock, "terminal hang-up");
					}
				}
			} else if (w < CC_RELAY_NCHAN) {
				if (chan_read(r, (enum cc_relay_chan)w, &c[w]) < 0) {
					if (w == CC_CH_IN)
						input_ended(r, &c[w], launcher_sock);
					else
						c[w].eof = true;
				}
			} else if (w == W_WORKER) {
				struct cc_msg m;
				cc_error e;
				int got = cc_msg_recv(worker_sock, &m, &e);
				if (got > 0) {
					/* The worker has nothing to say while a tool runs. */
					cc_msg_clear(&m);
					r->violation = true;
				}
				hang_up(r, launcher_sock, got > 0 ? "protocol violation" : "worker hang-up");
			} else if (w == W_LAUNCHER) {
				int got = launcher_reply(r, launcher_sock, done, err);
				if (got == 0)
					continue;
				ret = got < 0 ? got : 0;
				launcher_done = true;
				deadline = cc_now_ms() + DRAIN_MS;
			} else if (w == W_TRAIL) {
				cc_error te;
				if (p[k].revents & (POLLHUP | POLLERR | POLLNVAL) && !(p[k].revents & POLLIN)) {
					cc_closep(&r->trail); /* no process of the session is left under it */
					r->trail = -1;
				} else if (cc_trail_take(r->trail, r->rec, &te) < 0) {
					cc_closep(&r->trail);
					r->trail = -1;
				}
			} else {
				struct signalfd_siginfo si;
				while (read(r->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
					;
				cc_relay_resize(r);
			}
		}
	}
	if (r->pty)
		(void)sigprocmask(SIG_UNBLOCK, &winch, NULL);
	return ret;
}
