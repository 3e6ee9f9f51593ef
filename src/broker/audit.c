/* The audit sink (first cut): JSON lines appended to a file whose path is
 * fixed at build time. Each record is one write(2) of one line on an
 * O_APPEND fd, then fsync: concurrent brokers never interleave within a line,
 * and a record that is not on disk is reported as a failure, so that the
 * operation it announces does not happen (fail closed). */
#include "broker.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "config.h"
#include "json.h"

static int audit_fd = -1;
static char session_id[33];

int cc_audit_open(cc_error *err)
{
	unsigned char raw[16];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return cc_failx(err, errno, "cannot make a session id");
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(session_id + 2 * i, 3, "%02x", raw[i]);
	/* No O_CREAT: the file is made at install time with its owner and mode;
	 * a missing file is a broken install, not something to paper over. */
	audit_fd = open(CRASHCART_AUDIT_LOG, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (audit_fd < 0)
		return cc_failx(err, errno, "cannot open the audit log %s (nothing is done without a record)",
				CRASHCART_AUDIT_LOG);
	return 0;
}

const char *cc_audit_session(void)
{
	return session_id;
}

int cc_audit_write(struct cc_json *j, cc_error *err)
{
	const char *text = cc_json_text(j);
	_cleanup_free_ char *line = NULL;
	size_t len;
	int r;

	if (audit_fd < 0)
		return cc_fail(err, EBADF, "the audit log %s is not open", CRASHCART_AUDIT_LOG);
	if (!text)
		return cc_fail(err, ENOMEM, "cannot format the audit record");
	len = strlen(text);
	line = malloc(len + 2);
	if (!line)
		return cc_fail(err, ENOMEM, "cannot format the audit record");
	memcpy(line, text, len);
	line[len++] = '\n';
	line[len] = '\0';
	ssize_t n = write(audit_fd, line, len);
	if (n != (ssize_t)len)
		return cc_failx(err, n < 0 ? errno : EIO, "cannot write the audit log %s", CRASHCART_AUDIT_LOG);
	r = fsync(audit_fd);
	if (r < 0 && errno != EINVAL)
		return cc_failx(err, errno, "cannot sync the audit log %s", CRASHCART_AUDIT_LOG);
	return 0;
}
