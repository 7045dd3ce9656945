// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE /* pipe2 */
/*
 * marllbd: the per-LB agent daemon. Reads the configuration, adopts or attaches the marllb
 * data plane on one interface, and runs one event loop (epoll over the control
 * step timer, the health-check timer and sockets, the sample ring buffer and the metrics
 * socket, and a self-pipe for signals; no busy polling).
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "daemon/daemon.h"
#include "daemon/instance.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/snapshot.h"
#include "daemon/validate.h"

#define EXIT_USAGE 2

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: marllbd --iface IFACE [options]\n"
		"\n"
		"The marllb agent daemon: balances the VIPs of the configuration on IFACE with the\n"
		"marllb XDP data plane and learns the weights of marl VIPs. Signals: SIGHUP reloads\n"
		"the configuration; SIGINT/SIGTERM save learned models and exit, leaving the data\n"
		"plane attached (unless --detach-on-exit). See marllbd(8).\n"
		"\n"
		"Options:\n");
	opts_print_help(out, marllbd_options, &marllbd_defaults);
}

static int epoll_add(struct daemon *d, int fd, uint32_t events, struct ev_src *src)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };

	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	return 0;
}

static int timer_new(double period)
{
	struct itimerspec its;
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	its.it_interval.tv_sec = (time_t)period;
	its.it_interval.tv_nsec = (long)((period - (time_t)period) * 1e9);
	its.it_value = its.it_interval;
	if (timerfd_settime(fd, 0, &its, NULL)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/*
 * Signals reach the loop through a self-pipe. (A signalfd needs the signals blocked in every
 * thread, and OpenBLAS starts its threads before main() runs.)
 */
static int signal_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;

	if (write(signal_pipe[1], &b, 1) < 0)
		(void)0; /* pipe full: a signal of each kind is already pending */
	errno = saved;
}

static int signals_setup(struct daemon *d)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };

	if (pipe2(signal_pipe, O_NONBLOCK | O_CLOEXEC))
		return -errno;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signal_pipe[0];
	return 0;
}

/* The event loop's descriptors and the metrics socket: all that needs no data plane, set up
 * before it is touched so that a port in use changes nothing. */
static int loop_setup(struct daemon *d)
{
	int err;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0)
		return -errno;
	d->step_tfd = timer_new(d->opts.step);
	d->health_tfd = timer_new(d->opts.health_interval);
	if (d->sigfd < 0 || d->step_tfd < 0 || d->health_tfd < 0)
		return -EIO;
	d->ev_signal = (struct ev_src){ EV_SIGNAL, NULL };
	d->ev_step = (struct ev_src){ EV_STEP_TIMER, NULL };
	d->ev_health = (struct ev_src){ EV_HEALTH_TIMER, NULL };
	d->ev_samples = (struct ev_src){ EV_SAMPLES, NULL };
	d->ev_metrics = (struct ev_src){ EV_METRICS, NULL };
	err = epoll_add(d, d->sigfd, EPOLLIN, &d->ev_signal);
	err = err ?: epoll_add(d, d->step_tfd, EPOLLIN, &d->ev_step);
	err = err ?: epoll_add(d, d->health_tfd, EPOLLIN, &d->ev_health);
	if (err)
		return err;

	if (d->opts.metrics_port) {
		d->metrics = metrics_server_new(d->opts.metrics_port, metrics_render, d);
		if (!d->metrics) {
			err = -errno;
			pr_warn("marllbd: cannot listen on 127.0.0.1:%u for metrics: %s "
				"(--metrics-port PORT picks another, 0 disables the endpoint).\n",
				d->opts.metrics_port, strerror(-err));
			return err;
		}
		err = epoll_add(d, metrics_server_fd(d->metrics), EPOLLIN, &d->ev_metrics);
		if (err)
			return err;
		pr_info("marllbd: metrics on http://127.0.0.1:%u/metrics\n", d->opts.metrics_port);
	}
	return 0;
}

static int samples_setup(struct daemon *d)
{
	d->rb = mlb_dp_samples_new(d->dp, on_sample, d);
	if (!d->rb) {
		pr_warn("marllbd: cannot open the sample ring buffer: %s.\n", strerror(errno));
		return -errno ?: -EIO;
	}
	return epoll_add(d, ring_buffer__epoll_fd(d->rb), EPOLLIN, &d->ev_samples);
}

/* Applies a prepared configuration; when a map update fails, the maps are put back as they
 * were (a snapshot of the configuration maps). */
static int config_apply(struct daemon *d, struct sync_plan *plan)
{
	struct dp_snapshot snap;
	int err, restored;

	err = dp_snapshot_take(d->dp, &snap);
	if (err) {
		pr_warn("marllbd: cannot copy the data plane's configuration before changing it: "
			"%s; nothing was changed.\n",
			strerror(-err));
		return err;
	}
	err = sync_apply(d, plan);
	if (err) {
		restored = dp_snapshot_restore(&snap);
		if (restored)
			pr_warn("marllbd: applying the configuration failed (%s), and so did "
				"restoring the previous one (%s): check with marllbctl status.\n",
				strerror(-err), strerror(-restored));
		else
			pr_warn("marllbd: applying the configuration failed (%s); the data plane's "
				"previous configuration was restored.\n",
				strerror(-err));
	}
	dp_snapshot_free(&snap);
	return err;
}

static void start_health_checks(struct daemon *d)
{
	double now = mono_now();

	for (int id = 0; id < MLB_MAX_VIPS; id++) {
		struct vip_state *v = d->vips[id];

		if (!v)
			continue;
		for (uint32_t k = 0; k < v->n_slots; k++) {
			struct be_state *b = &v->be[k];
			int fd;

			if (!b->used || b->removed || b->hc.fd >= 0)
				continue; /* one in flight is failed by health_expire() */
			fd = health_start(&b->hc, now);
			if (fd >= 0 && epoll_add(d, fd, EPOLLOUT, &b->hc_ev))
				health_stop(&b->hc);
		}
	}
}

static void health_check_done(struct daemon *d, struct be_state *b)
{
	for (int id = 0; id < MLB_MAX_VIPS; id++) {
		struct vip_state *v = d->vips[id];

		if (!v || b < v->be || b >= v->be + MLB_MAX_BACKENDS)
			continue;
		if (health_complete(&b->hc, d->opts.health_rise, d->opts.health_fall))
			backend_apply_state(d, v, (uint32_t)(b - v->be));
		return;
	}
}

/* Makes the daemon's own state follow conf again (after a failed apply put the maps back). */
static void resync(struct daemon *d, const struct lb_conf *conf)
{
	struct sync_plan *plan;
	char err[512] = "a map update failed";

	sync_drop_unlisted(d, conf);
	if (sync_prepare(d, conf, &plan, err, sizeof(err)) || sync_apply(d, plan))
		pr_warn("marllbd: cannot resynchronise with the running configuration: %s.\n", err);
	sync_plan_free(plan);
}

/* SIGHUP: the new file is validated and everything it needs allocated before the data plane
 * is written; any failure leaves the running configuration fully in force. */
static void reload(struct daemon *d)
{
	struct sync_plan *plan = NULL;
	struct lb_conf conf = {};
	char err[512];
	int ret;

	sd_notify(0, "RELOADING=1\nSTATUS=Reloading the configuration");
	pr_warn("marllbd: SIGHUP: reloading %s.\n", d->opts.config);
	ret = conf_prepare(d->opts.config, d->ifindex, &conf, err, sizeof(err));
	if (!ret)
		ret = sync_prepare(d, &conf, &plan, err, sizeof(err));
	if (ret) {
		pr_warn("marllbd: reload failed, the running configuration stays: %s\n", err);
	} else if (config_apply(d, plan)) {
		resync(d, &d->conf);
		pr_warn("marllbd: reload failed, the running configuration stays.\n");
	} else {
		dp_tables_check(d, &conf);
		conf_free(&d->conf);
		d->conf = conf;
		conf = (struct lb_conf){};
		pr_warn("marllbd: configuration reloaded (%d VIPs).\n", d->conf.n_vips);
	}
	start_health_checks(d);
	sync_plan_free(plan);
	conf_free(&conf);
	sd_notify(0, "READY=1\nSTATUS=Running");
}

static void on_step(struct daemon *d)
{
	static uint64_t watchdog_usec;
	static double last_watchdog;
	double now = mono_now();

	control_step(d, now);
	d->step_seconds = mono_now() - now;
	flows_reconcile(d); /* one slice of a flow-table pass: a few ms at most (flows.c) */
	if (d->opts.save_interval > 0 && now - d->last_save >= d->opts.save_interval) {
		save_models(d);
		d->last_save = now;
	}
	status_publish(d);
	if (d->metrics)
		metrics_server_expire(d->metrics, now);
	if (!watchdog_usec && sd_watchdog_enabled(0, &watchdog_usec) <= 0)
		watchdog_usec = UINT64_MAX;
	if (watchdog_usec != UINT64_MAX && now - last_watchdog >= watchdog_usec * 0.5e-6) {
		sd_notify(0, "WATCHDOG=1");
		last_watchdog = now;
	}
}

/* Reads a timerfd: the periods that ended since the last read, 0 when none. */
static uint64_t timer_expirations(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

/* A timer that ended more than one period since it was last read was held up by the loop. */
static void count_missed(uint64_t expirations, uint64_t *missed)
{
	if (expirations > 1)
		*missed += expirations - 1;
}

static void run(struct daemon *d)
{
	struct epoll_event evs[32];

	while (!d->stopping) {
		int n = epoll_wait(d->epfd, evs, 32, -1);

		if (n < 0 && errno != EINTR) {
			pr_warn("marllbd: epoll_wait: %s.\n", strerror(errno));
			return;
		}
		/* A reload may free the backends that later events of this batch point to:
		 * after one, the rest are left to the next epoll_wait (level-triggered, so
		 * nothing still pending is lost). */
		bool reloaded = false;

		for (int i = 0; i < n && !reloaded; i++) {
			struct ev_src *src = evs[i].data.ptr;
			unsigned char sig;

			switch (src->kind) {
			case EV_SIGNAL:
				while (read(d->sigfd, &sig, 1) == 1) {
					if (sig == SIGHUP) {
						reload(d);
						reloaded = true;
					} else {
						pr_warn("marllbd: %s: stopping.\n", strsignal(sig));
						d->stopping = true;
					}
				}
				break;
			case EV_STEP_TIMER:
				count_missed(timer_expirations(d->step_tfd), &d->steps_missed);
				on_step(d);
				break;
			case EV_HEALTH_TIMER:
				count_missed(timer_expirations(d->health_tfd),
					     &d->health_rounds_missed);
				start_health_checks(d);
				break;
			case EV_SAMPLES:
				ring_buffer__consume(d->rb);
				break;
			case EV_METRICS:
				metrics_server_process(d->metrics, mono_now());
				break;
			case EV_HEALTH_CHECK:
				health_check_done(d, src->obj);
				break;
			}
		}
	}
}

static int make_state_dir(struct daemon *d)
{
	char cmd[PATH_MAX + 32];

	if (d->opts.no_learn)
		return 0;
	/* Plain mkdir -p semantics for a path the administrator chose. */
	for (char *p = d->state_dir + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(d->state_dir, 0755);
			*p = '/';
		}
	}
	if (mkdir(d->state_dir, 0700) && errno != EEXIST) {
		snprintf(cmd, sizeof(cmd), "%s", d->state_dir);
		pr_warn("marllbd: cannot create the state directory %s: %s.\n", cmd,
			strerror(errno));
		return -errno;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon d = { .sigfd = -1,
			    .step_tfd = -1,
			    .health_tfd = -1,
			    .lock_fd = -1,
			    .pin_lock_fd = -1,
			    .epfd = -1,
			    .sm = { -1, -1 } };
	struct sync_plan *plan = NULL;
	char err[512], key[512];
	int first, ret, n_backends = 0;

	d.opts = marllbd_defaults;
	ret = opts_parse("marllbd", marllbd_options, &d.opts, argc, argv, &first);
	if (ret == 1) {
		usage(stdout);
		return 0;
	}
	if (ret < 0)
		return EXIT_USAGE;
	if (first < argc) {
		fprintf(stderr, "marllbd: unexpected argument '%s'. Try 'marllbd --help'.\n",
			argv[first]);
		return EXIT_USAGE;
	}
	log_level = d.opts.verbose >= 3 ? LOG_TRACE2 : LOG_INFO + d.opts.verbose;
	log_hook_libraries();
	d.reward = (enum reward_kind)d.opts.reward;

	d.ifindex = (int)if_nametoindex(d.opts.iface);
	if (!d.ifindex) {
		pr_warn("marllbd: interface %s: %s.\n", d.opts.iface, strerror(errno));
		return 1;
	}
	if (d.opts.metrics_port == METRICS_PORT_AUTO) {
		if (METRICS_PORT_BASE + d.ifindex > 65535) {
			pr_warn("marllbd: %s has ifindex %d, so the default metrics port (9640 + "
				"ifindex) does not exist: give --metrics-port PORT (0 disables the "
				"endpoint).\n",
				d.opts.iface, d.ifindex);
			return EXIT_USAGE;
		}
		d.opts.metrics_port = METRICS_PORT_BASE + d.ifindex;
	}
	/* Keyed by namespace too: interfaces of one name in two namespaces never share. */
	instance_pin_dir(d.opts.pin_root, !strcmp(d.opts.pin_root, MARLLB_PIN_ROOT_DEFAULT),
			 d.opts.iface, d.pin_dir, sizeof(d.pin_dir));
	instance_key(d.opts.iface, key, sizeof(key));
	snprintf(d.state_dir, sizeof(d.state_dir), "%s/%s", d.opts.state_dir, key);

	/* Everything that can be wrong with the input is found before anything is touched. */
	ret = conf_prepare(d.opts.config, d.ifindex, &d.conf, err, sizeof(err));
	if (ret) {
		pr_warn("marllbd: %s\n", err);
		return 1;
	}
	ret = preload_model(&d, &d.conf);
	if (ret)
		goto out;
	for (int i = 0; i < d.conf.n_vips; i++)
		n_backends += d.conf.vips[i].n_backends;
	if (d.opts.check_config) {
		printf("%s: OK: %d VIPs, %d backends.\n", d.opts.config, d.conf.n_vips, n_backends);
		goto out;
	}

	d.dp_opts.flow_table_size = d.conf.flow_table_size;
	d.dp_opts.half_open_table_size = d.conf.half_open_table_size;
	/* Then all that needs no data plane, and all the configuration needs (read from an
	 * attached data plane without writing to it): a failure still changes nothing. */
	ret = dp_caps_check();
	ret = ret ?: signals_setup(&d);
	ret = ret ?: loop_setup(&d);
	ret = ret ?: dp_lock(&d);
	ret = ret ?: make_state_dir(&d);
	ret = ret ?: dp_open(&d);
	if (ret)
		goto out;
	ret = sync_prepare(&d, &d.conf, &plan, err, sizeof(err));
	if (ret) {
		pr_warn("marllbd: cannot apply %s to %s: %s; nothing was changed.\n", d.opts.config,
			d.opts.iface, err);
		goto out;
	}
	/* Only now the data plane: attached if none was, then configured, all or nothing. */
	ret = dp_attach(&d);
	ret = ret ?: dp_status_open(&d);
	ret = ret ?: samples_setup(&d);
	ret = ret ?: config_apply(&d, plan);
	if (ret) {
		pr_warn("marllbd: cannot apply %s to %s: %s; leaving the interface as it was.\n",
			d.opts.config, d.opts.iface, strerror(-ret));
		if (d.rb)
			ring_buffer__free(d.rb);
		d.rb = NULL;
		dp_rollback(&d);
		goto out;
	}
	dp_tables_check(&d, &d.conf);
	start_health_checks(&d);
	d.last_step = d.last_reconcile = d.last_save = mono_now();
	pr_warn("marllbd: serving %d VIPs with %d backends on %s (%s mode), step %g s.\n",
		d.conf.n_vips, n_backends, d.opts.iface, d.attach_mode, d.opts.step);
	sd_notifyf(0, "READY=1\nSTATUS=Serving %d VIPs on %s\nMAINPID=%d", d.conf.n_vips,
		   d.opts.iface, getpid());
	run(&d);
	sd_notify(0, "STOPPING=1");
	save_models(&d);
	status_publish(&d);
out:
	for (int id = 0; id < MLB_MAX_VIPS; id++)
		vip_free(d.vips[id]);
	agent_free(d.preloaded);
	sync_plan_free(plan);
	if (d.rb)
		ring_buffer__free(d.rb);
	dp_teardown(&d);
	{
		int fds[] = { d.epfd, d.sigfd, d.step_tfd, d.health_tfd, d.lock_fd, d.pin_lock_fd };

		metrics_server_free(d.metrics);

		for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	conf_free(&d.conf);
	/*
	 * Everything is released: leave without the exit handlers. OpenBLAS's joins its worker
	 * thread, which under an address-space limit (a start that ran out of memory) can spin
	 * forever retrying its buffer's mmap, so marllbd would never exit.
	 */
	fflush(NULL);
	_exit(ret ? 1 : 0);
}
