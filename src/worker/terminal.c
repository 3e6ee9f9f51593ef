/* The operator's side of the session's terminal. The broker relays the
 * bytes; what is the operator's own (the mode of their terminal) is set
 * and restored here, by the operator's own process, so that it is restored
 * even if the broker is killed: on the normal way out, at exit(), and on
 * every signal that would end the worker. A SIGKILL of the worker is the
 * one way it is not (`stty sane` then). */
#include "terminal.h"

#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved;
static volatile sig_atomic_t active;

void cc_term_restore(void)
{
	if (!active)
		return;
	active = 0;
	/* TCSADRAIN: what the relay wrote is shown before the mode changes. */
	(void)tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
}

static void on_signal(int sig)
{
	cc_term_restore(); /* tcsetattr is async-signal-safe */
	(void)signal(sig, SIG_DFL);
	(void)raise(sig);
}

int cc_term_raw(cc_error *err)
{
	static const int fatal[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGUSR1, SIGUSR2, SIGALRM };
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &saved) < 0)
		return cc_failx(err, errno, "cannot read the terminal's mode");
	raw = saved;
	/* No output processing either: the tool's pty does its own (ONLCR),
	 * the operator's terminal must not do it twice. */
	cfmakeraw(&raw);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		struct sigaction sa, old;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		if (sigaction(fatal[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue; /* ignored by whoever started us: stays ignored */
		(void)sigaction(fatal[i], &sa, NULL);
	}
	/* Job control on the operator's side would stop crashcart, not the
	 * tool, and leave the terminal raw: ^Z is the tool's now. */
	(void)signal(SIGTSTP, SIG_IGN);
	(void)signal(SIGTTIN, SIG_IGN);
	(void)signal(SIGTTOU, SIG_IGN);
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) < 0)
		return cc_failx(err, errno, "cannot put the terminal into raw mode");
	active = 1;
	return 0;
}
