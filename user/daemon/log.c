// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "daemon/log.h"

enum log_level log_level = LOG_INFO;

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	if (level > log_level)
		return;
	vfprintf(stderr, fmt, ap);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

static enum log_level demoted(int library_level)
{
	/* LIBBPF_WARN/INFO/DEBUG and LIBXDP_* share the values 0, 1, 2. Their warnings are
	 * often expected (libxdp falling back to a single program), so they show with -v, their
	 * information with -vv, their debug output with -vvv. */
	return (enum log_level)(library_level + LOG_DEBUG);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	log_vmsg(demoted(level), fmt, ap);
	return 0;
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	log_vmsg(demoted(level), fmt, ap);
	return 0;
}

void log_hook_libraries(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}
