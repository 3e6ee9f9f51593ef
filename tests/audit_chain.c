/* audit-chain FILE: appends the JSON records read from stdin (one object a
 * line) to the audit log FILE, each chained to the line before it the way
 * the broker chains them (cc_chain_link). For tests that need a valid log
 * holding records no real session wrote (a recording's digest, a session
 * without an end record). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auditlog.h"

int main(int argc, char **argv)
{
	char *line = NULL, *prev = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: audit-chain FILE < records\n");
		return 2;
	}
	f = fopen(argv[1], "a+e");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	/* the last line already there */
	rewind(f);
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		free(prev);
		prev = strdup(line);
	}
	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		char *linked = cc_chain_link(line, prev);
		if (!linked) {
			fprintf(stderr, "audit-chain: not a JSON object text: %s\n", line);
			return 1;
		}
		if (fputs(linked, f) == EOF || fflush(f) == EOF) {
			perror(argv[1]);
			return 1;
		}
		free(prev);
		prev = strndup(linked, strlen(linked) - 1);
		free(linked);
	}
	free(line);
	free(prev);
	return fclose(f) == 0 ? 0 : 1;
}
