// SPDX-License-Identifier: GPL-2.0
/* Reading and atomically writing model files' bytes (model_io.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "learn/model_io.h"

int model_write_atomic(const char *path, const void *buf, size_t len)
{
	size_t tmp_len = strlen(path) + 16;
	char *tmp = malloc(tmp_len);
	int err = 0;
	FILE *f;

	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, tmp_len, "%s.tmp%d", path, (int)getpid());
	f = fopen(tmp, "wb");
	if (!f) {
		err = -errno;
		goto out;
	}
	if (fwrite(buf, 1, len, f) != len || fflush(f) || fsync(fileno(f)))
		err = errno ? -errno : -EIO;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
out:
	free(tmp);
	return err;
}

uint8_t *model_read_all(const char *path, size_t *len, char *err, size_t err_len)
{
	struct stat st;
	uint8_t *buf;
	FILE *f = fopen(path, "rb");

	if (!f) {
		snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > MODEL_MAX_BYTES) {
		snprintf(err, err_len, "%s: not a regular file of at most 4 GiB", path);
		fclose(f);
		return NULL;
	}
	*len = st.st_size;
	buf = malloc(*len ? *len : 1);
	if (!buf || fread(buf, 1, *len, f) != *len) {
		snprintf(err, err_len, "%s: cannot read %zu bytes", path, *len);
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}
