# SPDX-License-Identifier: GPL-2.0
# marllb top-level build. Each part of the tree adds its own rules in a Makefile.inc
# fragment (bpf/, user/, tools/*/, selftests/*/), so the tree reads like the architecture.
#
#   make          build marllb.o, marllbd, marllbctl, tools (installs missing packages first)
#   make check    build and run every test; last line: "N passed, N failed, N skipped"
#   make bench    run the benchmarks (not tests: timings are reported, never asserted)
#   make demo     bring up the testbed, compare policies, tear it down
#   make install  install marllbd, marllbctl, marllb-dp, marllb.o, the model, man pages, the
#                 systemd unit and /etc/marllb/marllbd.conf (kept when it exists); DESTDIR and
#                 PREFIX (default /usr) are honoured. make uninstall removes them again.
#   V=1           echo full commands

OUT	:= build
CC	?= gcc
CLANG	?= clang
BPFTOOL	?= bpftool
ARCH	:= $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

OPENBLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
OPENBLAS_LIBS	:= $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)

CFLAGS	?= -O2 -g
CFLAGS	+= -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	   -Iinclude -Iuser -I$(OUT) $(OPENBLAS_CFLAGS)
LDLIBS	+= -lm
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I/usr/include/$(shell $(CC) -dumpmachine) -Iinclude -Wall -Wno-unused-function

ifeq ($(V),1)
	Q =
	msg =
else
	Q = @
	msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# Filled by the fragments.
BUILD_TARGETS	:=
TEST_PROGS	:=
BENCH_PROGS	:=

.DELETE_ON_ERROR:
.PHONY: all programs check bench demo deps clean format install uninstall

all: deps
	$(Q)$(MAKE) --no-print-directory programs

deps:
	$(Q)tools/install-deps.sh

$(OUT):
	$(Q)mkdir -p $@

include $(sort $(wildcard bpf/Makefile.inc user/*/Makefile.inc tools/*/Makefile.inc selftests/*/Makefile.inc))

programs: $(BUILD_TARGETS)

check: deps
	$(Q)$(MAKE) --no-print-directory programs $(TEST_PROGS)
	$(Q)selftests/run_tests.sh $(TEST_PROGS)

bench: deps
	$(Q)$(MAKE) --no-print-directory programs $(BENCH_PROGS)
	$(Q)selftests/run_bench.sh $(BENCH_PROGS)

format:
	$(Q)clang-format -i $$(git ls-files '*.c' '*.h')

# ---- install (FHS; SYSCONFDIR stays /etc unless given) ----
PREFIX		?= /usr
SBINDIR		?= $(PREFIX)/sbin
LIBDIR		?= $(PREFIX)/lib
DATADIR		?= $(PREFIX)/share
MANDIR		?= $(DATADIR)/man
SYSCONFDIR	?= /etc
UNITDIR		?= $(LIBDIR)/systemd/system
INSTALL_MODEL	:= $(DATADIR)/marllb/models/marllb.model
INSTALL_FILES	:= $(SBINDIR)/marllbd $(SBINDIR)/marllbctl $(SBINDIR)/marllb-dp \
		   $(LIBDIR)/marllb/marllb.o $(INSTALL_MODEL) $(INSTALL_MODEL).settings \
		   $(MANDIR)/man8/marllbd.8 $(MANDIR)/man8/marllbctl.8 $(UNITDIR)/marllbd@.service

# The installed marllbd looks for its configuration and model where they are installed
# (remade at every install: PREFIX may differ from the last one).
.PHONY: $(OUT)/install/daemon_opts.o
$(OUT)/install/daemon_opts.o: user/daemon/daemon_opts.c $(DAEMON_HDRS) Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(DAEMON_CFLAGS) -DMARLLB_MODEL_DEFAULT='"$(INSTALL_MODEL)"' \
		-DMARLLB_CONFIG_DEFAULT='"$(SYSCONFDIR)/marllb/marllbd.conf"' -c $< -o $@

$(OUT)/install/marllbd: $(OUT)/install/daemon_opts.o $(DAEMON_MAIN_OBJS) \
		$(OUT)/libmarllb_daemon.a $(OUT)/libmarllb_dp.a $(OUT)/libmarllb_learn.a \
		$(OUT)/libmarllb_obs.a
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) $(OUT)/install/daemon_opts.o $(DAEMON_MAIN_OBJS) \
		$(OUT)/libmarllb_daemon.a $(OUT)/libmarllb_dp.a $(OUT)/libmarllb_learn.a \
		$(OUT)/libmarllb_obs.a $(DAEMON_LIBS) $(OPENBLAS_LIBS) -lpthread $(LDLIBS) -o $@

install: all
	$(Q)$(MAKE) --no-print-directory $(OUT)/install/marllbd
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -D -m 0755 $(OUT)/install/marllbd $(DESTDIR)$(SBINDIR)/marllbd
	$(Q)install -D -m 0755 $(OUT)/marllbctl $(DESTDIR)$(SBINDIR)/marllbctl
	$(Q)install -D -m 0755 $(OUT)/marllb-dp $(DESTDIR)$(SBINDIR)/marllb-dp
	$(Q)install -D -m 0644 marllb.o $(DESTDIR)$(LIBDIR)/marllb/marllb.o
	$(Q)install -D -m 0644 models/marllb.model $(DESTDIR)$(INSTALL_MODEL)
	$(Q)install -D -m 0644 models/marllb.model.settings $(DESTDIR)$(INSTALL_MODEL).settings
	$(Q)install -D -m 0644 Documentation/marllbd.8 $(DESTDIR)$(MANDIR)/man8/marllbd.8
	$(Q)install -D -m 0644 Documentation/marllbctl.8 $(DESTDIR)$(MANDIR)/man8/marllbctl.8
	$(Q)install -d $(DESTDIR)$(UNITDIR)
	$(Q)sed 's|/usr/sbin/marllbd|$(SBINDIR)/marllbd|g' tools/systemd/marllbd@.service \
		>$(DESTDIR)$(UNITDIR)/marllbd@.service
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/marllbd@.service
	$(Q)if [ -e $(DESTDIR)$(SYSCONFDIR)/marllb/marllbd.conf ]; then \
		echo "  kept     $(DESTDIR)$(SYSCONFDIR)/marllb/marllbd.conf (exists)"; \
	else \
		install -D -m 0644 tools/systemd/marllbd.conf.example \
			$(DESTDIR)$(SYSCONFDIR)/marllb/marllbd.conf; \
	fi

# The configuration goes only when it is the example, unchanged.
uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(addprefix $(DESTDIR),$(INSTALL_FILES))
	$(Q)rmdir $(DESTDIR)$(LIBDIR)/marllb $(DESTDIR)$(DATADIR)/marllb/models \
		$(DESTDIR)$(DATADIR)/marllb 2>/dev/null || true
	$(Q)if cmp -s tools/systemd/marllbd.conf.example $(DESTDIR)$(SYSCONFDIR)/marllb/marllbd.conf; then \
		rm -f $(DESTDIR)$(SYSCONFDIR)/marllb/marllbd.conf; \
		rmdir $(DESTDIR)$(SYSCONFDIR)/marllb 2>/dev/null || true; \
	elif [ -e $(DESTDIR)$(SYSCONFDIR)/marllb/marllbd.conf ]; then \
		echo "  kept     $(DESTDIR)$(SYSCONFDIR)/marllb/marllbd.conf (changed)"; \
	fi

clean:
	$(Q)rm -rf $(OUT) marllb.o marllb_decap.o
