// SPDX-License-Identifier: GPL-2.0
/* Work items on forked processes, results back through pipes (parallel.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/parallel.h"

#define MAX_WORKERS 64

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* A worker: its items, each as (int index, result) on fd; exits. */
static void worker(int w, int workers, int n, size_t size, parallel_fn fn, void *ctx, int fd)
{
	char *buf = malloc(size);
	int status = 0;

	for (int i = w; i < n && buf; i += workers) {
		if (fn(i, buf, ctx) || write_all(fd, &i, sizeof(i)) || write_all(fd, buf, size)) {
			status = 1;
			break;
		}
	}
	fflush(NULL);
	_exit(buf ? status : 1);
}

int parallel_run(int n, int workers, size_t size, parallel_fn fn, parallel_done_fn done, void *ctx,
		 void *results)
{
	struct pollfd fds[MAX_WORKERS];
	pid_t pids[MAX_WORKERS];
	size_t rec = sizeof(int) + size, have[MAX_WORKERS] = {};
	char *bufs[MAX_WORKERS] = {};
	int got = 0, open_fds = 0, ret = 0;

	if (workers > n)
		workers = n;
	if (workers > MAX_WORKERS)
		workers = MAX_WORKERS;
	if (workers <= 1) {
		for (int i = 0; i < n; i++) {
			void *r = (char *)results + (size_t)i * size;

			if (fn(i, r, ctx))
				return -1;
			if (done)
				done(i, r, ctx);
		}
		return 0;
	}
	fflush(NULL); /* nothing buffered may be written twice */
	for (int w = 0; w < workers; w++) {
		int p[2];

		bufs[w] = malloc(rec);
		if (!bufs[w] || pipe(p)) {
			ret = -1;
			workers = w;
			break;
		}
		pids[w] = fork();
		if (pids[w] < 0) {
			close(p[0]);
			close(p[1]);
			ret = -1;
			workers = w;
			break;
		}
		if (pids[w] == 0) {
			close(p[0]);
			for (int v = 0; v < w; v++)
				close(fds[v].fd);
			worker(w, workers, n, size, fn, ctx, p[1]);
		}
		close(p[1]);
		fds[w] = (struct pollfd){ .fd = p[0], .events = POLLIN };
		open_fds++;
	}
	while (open_fds) {
		if (poll(fds, workers, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = -1;
			break;
		}
		for (int w = 0; w < workers; w++) {
			ssize_t r;

			if (fds[w].fd < 0 || !(fds[w].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(fds[w].fd, bufs[w] + have[w], rec - have[w]);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				close(fds[w].fd);
				fds[w].fd = -1;
				open_fds--;
				continue;
			}
			have[w] += (size_t)r;
			if (have[w] == rec) {
				int i;

				memcpy(&i, bufs[w], sizeof(i));
				if (i >= 0 && i < n) {
					memcpy((char *)results + (size_t)i * size,
					       bufs[w] + sizeof(int), size);
					got++;
					if (done)
						done(i, (char *)results + (size_t)i * size, ctx);
				}
				have[w] = 0;
			}
		}
	}
	for (int w = 0; w < workers; w++) {
		int status = 0;
		pid_t r;

		if (fds[w].fd >= 0)
			close(fds[w].fd);
		while ((r = waitpid(pids[w], &status, 0)) < 0 && errno == EINTR)
			;
		if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			ret = -1;
		free(bufs[w]);
	}
	return ret || got != n ? -1 : 0;
}
