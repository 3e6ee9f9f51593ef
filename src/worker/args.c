#include "args.h"

#include <getopt.h>
#include <string.h>

#include "config.h"

void cc_usage(FILE *f)
{
	fprintf(f,
		"Usage: crashcart [OPTION]... ID [CMD [ARG]...]\n"
		"  or:  crashcart --list [--json]\n"
		"  or:  crashcart --check-policy [FILE]\n"
		"  or:  crashcart audit verify FILE... [--sessions DIR]\n"
		"  or:  crashcart audit show FILE [--sessions DIR]\n"
		"  or:  crashcart audit replay SESSION [--speed N] [--commands] [--log FILE] [--force] [--sessions DIR]\n"
		"  or:  crashcart audit link ROTATED [--log FILE]\n"
		"Side-load a read-only toolbox image into a running container at /dev/crashcart\n"
		"and run CMD from it inside the container (default: a shell from the image).\n"
		"ID is a PID or pid://PID, a container id or unique prefix, a name (see README).\n"
		"Options end at the first non-option.\n"
		"\n"
		"  -m, --mount        only mount the image (it stays until -u)\n"
		"  -u, --unmount      unmount the image (refused while a session uses it)\n"
		"      --force        with -u: detach it even while in use\n"
		"  -i, --image PATH   toolbox image (default: %s)\n"
		"  -e, --exec-via     run CMD through the container runtime's own exec (docker exec, ...)\n"
		"  -t, --tty          give CMD a pseudo-terminal even when stdin is not a terminal\n"
		"  -T, --no-tty       never give CMD a pseudo-terminal (default: one when stdin is a terminal)\n"
		"  -v, --verbose      say what is being done\n"
		"      --list         list the containers crashcart can see\n"
		"      --json         with --list: as JSON\n"
		"      --check-policy [FILE]  check a policy file and say what each group may do\n"
		"  -V, --version      print the version and exit\n"
		"  -h, --help         print this help and exit\n"
		"\n"
		"  audit verify FILE...     check the audit log's hash chain, and each session\n"
		"                           recording against its end record; several FILEs\n"
		"                           (in any order, .gz too) are the files of a rotated\n"
		"                           log, checked as one chain: audit verify LOG*\n"
		"  audit show FILE          list the records and the exec sessions\n"
		"  audit replay SESSION     write what the session's container printed, escape\n"
		"                           sequences included, as asciinema does; SESSION is a\n"
		"                           session id (a file in DIR) or a .cast path\n"
		"  audit ... --sessions DIR the session recordings (default: %s)\n"
		"  audit replay --speed N   N times as fast (0: no delays)\n"
		"  audit replay --commands  the programs the session ran, escaped, not its output\n"
		"  audit replay --log FILE  the audit log to check the recording against\n"
		"  audit replay --force     even if the recording does not match the log\n"
		"  audit link ROTATED       after logrotate moved the log to ROTATED: start the\n"
		"                           new log (--log FILE, default: the build-time one)\n"
		"                           with a record chained to ROTATED's last (as root)\n"
		"\n"
		"Exit status: CMD's own (128+N if killed by signal N); 125 crashcart failed;\n"
		"126 CMD not executable; 127 CMD not found. -u with nothing mounted and -m over\n"
		"a mount: 0. audit verify: 0 intact, 1 chain broken (a record edited, deleted or\n"
		"moved) or a recording damaged, 125 the log cannot be read.\n",
		CRASHCART_DEFAULT_IMAGE, CRASHCART_SESSION_DIR);
}

/* --speed: a plain decimal (no sign, exponent, hex, inf or nan), 0..1000. */
static int parse_speed(const char *s, double *out)
{
	size_t digits = 0, dots = 0;
	for (const char *p = s; *p; p++) {
		if (*p == '.')
			dots++;
		else if (*p >= '0' && *p <= '9')
			digits++;
		else
			return -EINVAL;
	}
	if (!digits || dots > 1 || strlen(s) > 16)
		return -EINVAL;
	*out = strtod(s, NULL);
	return *out <= 1000 ? 0 : -ERANGE;
}

/* audit SUB ARG... (argv[i] is SUB): one positional argument and the
 * options SUB takes, in any order; "--" ends the options. */
static int parse_audit(int argc, char **argv, int i, struct cc_args *a, cc_error *err)
{
	static const struct {
		const char *name;
		enum cc_mode mode;
	} subs[] = {
		{ "verify", CC_MODE_AUDIT_VERIFY },
		{ "show", CC_MODE_AUDIT_SHOW },
		{ "replay", CC_MODE_AUDIT_REPLAY },
		{ "link", CC_MODE_AUDIT_LINK },
	};
	const char *sub = i < argc ? argv[i] : "";
	bool only_positional = false;
	size_t k;

	for (k = 0; k < ARRAY_SIZE(subs) && strcmp(sub, subs[k].name) != 0; k++)
		;
	if (k == ARRAY_SIZE(subs))
		return cc_fail(err, EINVAL, "usage: crashcart audit verify|show FILE, crashcart audit replay SESSION "
					    "(see crashcart --help)");
	a->mode = subs[k].mode;
	bool replay = a->mode == CC_MODE_AUDIT_REPLAY, link = a->mode == CC_MODE_AUDIT_LINK;
	bool many = a->mode == CC_MODE_AUDIT_VERIFY;
	const char *what = replay ? "SESSION" : link ? "ROTATED" : "FILE";
	for (i++; i < argc; i++) {
		const char *arg = argv[i], *eq, *val = NULL;
		char name[32];
		if (only_positional || arg[0] != '-' || arg[1] == '\0') {
			if (a->target && !many)
				return cc_fail(err, EINVAL, "audit %s takes one %s, got '%s' too", sub, what, arg);
			if (!*arg)
				return cc_fail(err, EINVAL, "audit %s: empty %s", sub, what);
			if (a->nfiles == CC_AUDIT_FILES_MAX)
				return cc_fail(err, EINVAL, "audit %s: at most %d files", sub, CC_AUDIT_FILES_MAX);
			a->files[a->nfiles++] = arg;
			if (!a->target)
				a->target = arg;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			only_positional = true;
			continue;
		}
		eq = strchr(arg, '=');
		snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - arg) : (int)strlen(arg), arg);
		bool takes_value = (!link && !strcmp(name, "--sessions")) || ((replay || link) && !strcmp(name, "--log")) ||
				   (replay && !strcmp(name, "--speed"));
		bool is_flag = replay && (!strcmp(name, "--commands") || !strcmp(name, "--force"));
		if (!takes_value && !is_flag)
			return cc_fail(err, EINVAL, "audit %s: unknown option %s (see crashcart --help)", sub, arg);
		if (is_flag && eq)
			return cc_fail(err, EINVAL, "audit %s: %s takes no value", sub, name);
		if (takes_value) {
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else
				return cc_fail(err, EINVAL, "option %s needs an argument", name);
			if (!*val)
				return cc_fail(err, EINVAL, "audit %s: %s needs a value", sub, name);
		}
		if (!strcmp(name, "--sessions")) {
			a->sessions = val;
		} else if (!strcmp(name, "--log")) {
			a->log = val;
			a->log_given = true;
		} else if (!strcmp(name, "--speed")) {
			if (parse_speed(val, &a->speed) < 0)
				return cc_fail(err, EINVAL, "--speed wants a number from 0 to 1000 (0: no delays), got '%s'", val);
		} else if (!strcmp(name, "--commands")) {
			a->commands = true;
		} else {
			a->force = true;
		}
	}
	if (!a->target)
		return cc_fail(err, EINVAL, "usage: crashcart audit %s %s%s", sub, what, many ? "..." : "");
	return 0;
}

static int set_mode(struct cc_args *a, enum cc_mode m, cc_error *err)
{
	if (a->mode != CC_MODE_EXEC && a->mode != m)
		return cc_fail(err, EINVAL, "-m and -u cannot be used together");
	a->mode = m;
	return 0;
}

int cc_parse_args(int argc, char **argv, struct cc_args *a, cc_error *err)
{
	static const struct option longopts[] = {
		{ "mount", no_argument, NULL, 'm' },
		{ "unmount", no_argument, NULL, 'u' },
		{ "image", required_argument, NULL, 'i' },
		{ "exec-via", no_argument, NULL, 'e' },
		{ "tty", no_argument, NULL, 't' },
		{ "no-tty", no_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "list", no_argument, NULL, 'L' },
		{ "json", no_argument, NULL, 'J' },
		{ "check-policy", no_argument, NULL, 'P' },
		{ "force", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	int c, r;

	memset(a, 0, sizeof(*a));
	a->image = CRASHCART_DEFAULT_IMAGE;
	a->sessions = CRASHCART_SESSION_DIR;
	a->log = CRASHCART_AUDIT_LOG;
	a->speed = 1;
	a->tty = -1;
	optind = 0; /* full re-initialisation (glibc), so parsing can be repeated */
	opterr = 0;
	/* '+': stop at the first non-option; ':': report a missing argument as ':' */
	while ((c = getopt_long(argc, argv, "+:mui:evtTVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': r = set_mode(a, CC_MODE_MOUNT, err); if (r < 0) return r; break;
		case 'u': r = set_mode(a, CC_MODE_UNMOUNT, err); if (r < 0) return r; break;
		case 'i':
			if (!*optarg)
				return cc_fail(err, EINVAL, "-i needs an image path");
			a->image = optarg;
			break;
		case 'e': a->exec_via = true; break;
		case 't': a->tty = 1; break;
		case 'T': a->tty = 0; break;
		case 'v': a->verbose++; break;
		case 'V': a->mode = CC_MODE_VERSION; return 0;
		case 'L': r = set_mode(a, CC_MODE_LIST, err); if (r < 0) return r; break;
		case 'J': a->json = true; break;
		case 'F': a->force = true; break;
		case 'P': r = set_mode(a, CC_MODE_CHECK_POLICY, err); if (r < 0) return r; break;
		case 'h': a->mode = CC_MODE_HELP; return 0;
		case ':':
			return cc_fail(err, EINVAL, "option %s needs an argument", argv[optind - 1]);
		default:
			if (optopt)
				return cc_fail(err, EINVAL, "unknown option -%c (see crashcart --help)", optopt);
			return cc_fail(err, EINVAL, "unknown option %s (see crashcart --help)", argv[optind - 1]);
		}
	}
	if (a->json && a->mode != CC_MODE_LIST)
		return cc_fail(err, EINVAL, "--json goes with --list");
	if (a->force && a->mode != CC_MODE_UNMOUNT)
		return cc_fail(err, EINVAL, "--force goes with -u");
	if (a->mode == CC_MODE_LIST || a->mode == CC_MODE_CHECK_POLICY) {
		if (a->mode == CC_MODE_CHECK_POLICY && optind < argc)
			a->target = argv[optind++];
		if (optind < argc)
			return cc_fail(err, EINVAL, "unexpected argument '%s'", argv[optind]);
		return 0;
	}
	/* "audit verify FILE": a container literally named "audit" is reached
	 * with a runtime prefix (docker://audit). */
	if (a->mode == CC_MODE_EXEC && optind < argc && strcmp(argv[optind], "audit") == 0)
		return parse_audit(argc, argv, optind + 1, a, err);
	if (optind >= argc)
		return cc_fail(err, EINVAL, "no container given (see crashcart --help)");
	a->target = argv[optind];
	if (!*a->target)
		return cc_fail(err, EINVAL, "empty container id");
	a->cmd = argv + optind + 1;
	if (a->mode != CC_MODE_EXEC && a->cmd[0])
		return cc_fail(err, EINVAL, "%s takes no command, got '%s'",
			       a->mode == CC_MODE_MOUNT ? "-m" : "-u", a->cmd[0]);
	if (a->tty >= 0 && a->mode != CC_MODE_EXEC)
		return cc_fail(err, EINVAL, "-t and -T go with running a command, not with -m or -u");
	if (a->exec_via && a->mode != CC_MODE_EXEC)
		return cc_fail(err, EINVAL, "-e goes with running a command, not with -m or -u");
	return 0;
}
