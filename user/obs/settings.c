// SPDX-License-Identifier: GPL-2.0
/* MODEL.settings: the learning settings a model was trained with (settings.h). */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/features.h"
#include "obs/settings.h"

void learn_settings_default(struct learn_settings *s)
{
	struct features_config fc;

	features_config_default(&fc, 1);
	s->step = LEARN_STEP_DEFAULT;
	s->gamma_d = fc.gamma_d;
	s->reward = REWARD_VBF;
	s->reward_units = REWARD_UNITS_DEFAULT;
}

static void sidecar_path(char *out, size_t len, const char *model_path)
{
	snprintf(out, len, "%s%s", model_path, LEARN_SETTINGS_SUFFIX);
}

int learn_settings_save(const char *model_path, const struct learn_settings *s)
{
	char path[4096];
	FILE *f;
	int bad;

	sidecar_path(path, sizeof(path), model_path);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "step %.17g\ngamma_d %.17g\nreward %s\nreward_units %s\n", s->step, s->gamma_d,
		reward_name(s->reward), reward_units_name(s->reward_units));
	bad = ferror(f);
	if (fclose(f) || bad)
		return -EIO;
	return 0;
}

static int parse_positive(const char *val, double max, double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(val, &end);
	if (errno || end == val || *end || !(d > 0) || d > max)
		return -EINVAL;
	*out = d;
	return 0;
}

int learn_settings_load(const char *model_path, struct learn_settings *s, char *err,
			size_t err_len)
{
	enum { HAVE_STEP = 1, HAVE_GAMMA_D = 2, HAVE_REWARD = 4, HAVE_UNITS = 8, HAVE_ALL = 15 };
	struct learn_settings in;
	char path[4096], line[256], key[64], val[128], extra;
	int have = 0, lineno = 0, ret = 0;
	FILE *f;

	sidecar_path(path, sizeof(path), model_path);
	f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			return -ENOENT;
		snprintf(err, err_len, "cannot read %s: %s", path, strerror(errno));
		return -EINVAL;
	}
	while (!ret && fgets(line, sizeof(line), f)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%63s %127s %c", key, val, &extra) != 2) {
			ret = -EINVAL;
		} else if (!strcmp(key, "step")) {
			ret = parse_positive(val, 1e3, &in.step);
			have |= HAVE_STEP;
		} else if (!strcmp(key, "gamma_d")) {
			ret = parse_positive(val, 1, &in.gamma_d);
			have |= HAVE_GAMMA_D;
		} else if (!strcmp(key, "reward")) {
			ret = reward_parse(val, &in.reward);
			have |= HAVE_REWARD;
		} else if (!strcmp(key, "reward_units")) {
			ret = reward_units_parse(val, &in.reward_units);
			have |= HAVE_UNITS;
		} else {
			ret = -EINVAL;
		}
	}
	fclose(f);
	if (ret) {
		snprintf(err, err_len, "%s line %d: expected \"step S\", \"gamma_d G\", "
			 "\"reward NAME\" or \"reward_units UNITS\"", path, lineno);
		return -EINVAL;
	}
	if (have != HAVE_ALL) {
		snprintf(err, err_len, "%s: needs step, gamma_d, reward and reward_units", path);
		return -EINVAL;
	}
	*s = in;
	return 0;
}

static void append(char *err, size_t err_len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= err_len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(err + *used, err_len - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used += (size_t)n;
}

/* Same to printing precision: a value written with %.17g and read back compares equal. */
static bool differ(double a, double b)
{
	return fabs(a - b) > 1e-9 * fmax(fabs(a), fabs(b));
}

int learn_settings_compare(const struct learn_settings *trained,
			   const struct learn_settings *running, char *err, size_t err_len)
{
	size_t used = 0;

	if (err_len)
		err[0] = '\0';
	if (differ(trained->step, running->step))
		append(err, err_len, &used, "%s--step %g (trained) vs %g (running)",
		       used ? ", " : "", trained->step, running->step);
	if (differ(trained->gamma_d, running->gamma_d))
		append(err, err_len, &used, "%s--gamma-d %g (trained) vs %g (running)",
		       used ? ", " : "", trained->gamma_d, running->gamma_d);
	if (trained->reward != running->reward)
		append(err, err_len, &used, "%s--reward %s (trained) vs %s (running)",
		       used ? ", " : "", reward_name(trained->reward), reward_name(running->reward));
	if (trained->reward_units != running->reward_units)
		append(err, err_len, &used, "%s--reward-units %s (trained) vs %s (running)",
		       used ? ", " : "", reward_units_name(trained->reward_units),
		       reward_units_name(running->reward_units));
	return used ? -EINVAL : 0;
}

int learn_settings_check(const char *model_path, const struct learn_settings *running,
			 char *err, size_t err_len)
{
	struct learn_settings trained;
	char diff[384];
	int ret;

	ret = learn_settings_load(model_path, &trained, err, err_len);
	if (ret)
		return ret;
	if (learn_settings_compare(&trained, running, diff, sizeof(diff))) {
		snprintf(err, err_len, "trained with other settings than these: %s", diff);
		return -EINVAL;
	}
	return 0;
}
