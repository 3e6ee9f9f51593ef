#include "args.h"

#include <getopt.h>
#include <string.h>

#include "config.h"

void cc_usage(FILE *f)
{
	fprintf(f,
		"Usage: crashcart [OPTION]... ID [CMD [ARG]...]\n"
		"Side-load a read-only toolbox image into a running container at /dev/crashcart\n"
		"and run CMD from it inside the container (default: a shell from the image).\n"
		"\n"
		"  -m, --mount        only mount the image (it stays until -u)\n"
		"  -u, --unmount      unmount the image\n"
		"  -i, --image PATH   toolbox image (default: %s)\n"
		"  -e, --exec-via     run CMD through the container runtime's own exec (docker exec, ...)\n"
		"  -t, --tty          give CMD a pseudo-terminal even when stdin is not a terminal\n"
		"  -T, --no-tty       never give CMD a pseudo-terminal (default: one when stdin is a terminal)\n"
		"  -v, --verbose      say what is being done\n"
		"      --list         list the containers crashcart can see (--json: as JSON)\n"
		"      --check-policy [FILE]  check a policy file and say what each group may do\n"
		"  -V, --version      print the version and exit\n"
		"  -h, --help         print this help and exit\n"
		"\n"
		"       crashcart audit verify|show FILE\n"
		"ID is a PID or pid://PID, a container id or unique prefix, a name (see README).\n"
		"Options end at the first non-option.\n"
		"Exit status: CMD's own (128+N if killed by signal N); 125 crashcart failed;\n"
		"126 CMD not executable; 127 CMD not found.\n",
		CRASHCART_DEFAULT_IMAGE);
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
		{ NULL, 0, NULL, 0 },
	};
	int c, r;

	memset(a, 0, sizeof(*a));
	a->image = CRASHCART_DEFAULT_IMAGE;
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
	if (a->mode == CC_MODE_LIST || a->mode == CC_MODE_CHECK_POLICY) {
		if (a->mode == CC_MODE_CHECK_POLICY && optind < argc)
			a->target = argv[optind++];
		if (optind < argc)
			return cc_fail(err, EINVAL, "unexpected argument '%s'", argv[optind]);
		return 0;
	}
	/* "audit verify FILE": a container literally named "audit" is reached
	 * with a runtime prefix (docker://audit). */
	if (a->mode == CC_MODE_EXEC && optind < argc && strcmp(argv[optind], "audit") == 0) {
		if (optind + 3 != argc || (strcmp(argv[optind + 1], "verify") && strcmp(argv[optind + 1], "show")))
			return cc_fail(err, EINVAL, "usage: crashcart audit verify|show FILE");
		a->mode = argv[optind + 1][0] == 'v' ? CC_MODE_AUDIT_VERIFY : CC_MODE_AUDIT_SHOW;
		a->target = argv[optind + 2];
		return 0;
	}
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
