# libfaas — plain Makefile. Respects CFLAGS, CPPFLAGS, LDFLAGS, PREFIX, DESTDIR.
#   make              build/libfaas.a and build/libfaas.so.* (V=1: every command)
#   make check        the test suite (installs jansson/Check first if missing)
#   make asan | tsan  the Check suite under sanitizers
#   make demo         build and run the example host program
#   make fuzz         libFuzzer targets, FUZZ_SECONDS each (clang; tests/fuzz/README.md)
#   make valgrind | stress | stress-tsan   the other reliability gates
#   make bench        benchmarks against GThreadPool and libuv (bench/README.md)
#   make install      PREFIX=/usr/local DESTDIR=
# WERROR=1 turns warnings into errors.

VERSION_H := include/faas/version.h
MAJOR := $(shell sed -n 's/^\#define FAAS_VERSION_MAJOR \([0-9]*\).*/\1/p' $(VERSION_H))
MINOR := $(shell sed -n 's/^\#define FAAS_VERSION_MINOR \([0-9]*\).*/\1/p' $(VERSION_H))
PATCH := $(shell sed -n 's/^\#define FAAS_VERSION_PATCH \([0-9]*\).*/\1/p' $(VERSION_H))
VERSION := $(MAJOR).$(MINOR).$(PATCH)

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
BINDIR ?= $(PREFIX)/bin

CC ?= cc
CXX ?= c++
CFLAGS ?= -O2 -g
BUILD ?= build
SANITIZE ?=

# Short build lines; V=1 shows every command.
ifeq ($(V),1)
Q :=
SAY := @true
else
Q := @
SAY := @printf '  %-5s %s\n'
endif

WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wwrite-strings
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
ifneq ($(SANITIZE),)
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

# Recursive (=) on purpose: evaluated after the deps target has run.
JANSSON_CFLAGS = $(shell pkg-config --cflags jansson 2>/dev/null)
JANSSON_LIBS = $(shell pkg-config --libs jansson 2>/dev/null || echo -ljansson)
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)

LIB_CFLAGS = -std=c11 -D_GNU_SOURCE -fPIC -fvisibility=hidden -pthread -Iinclude -Ilib \
	$(JANSSON_CFLAGS) $(WARNINGS) $(SAN_FLAGS) $(CPPFLAGS) $(CFLAGS) -MMD -MP
LIB_LIBS = $(JANSSON_LIBS) -pthread -lm -ldl

LIB_SRCS := $(sort $(wildcard lib/*.c))
LIB_OBJS := $(LIB_SRCS:lib/%.c=$(BUILD)/lib/%.o)
STATIC := $(BUILD)/libfaas.a
SONAME := libfaas.so.$(MAJOR)
SHARED := $(BUILD)/libfaas.so.$(VERSION)
PCFILE := $(BUILD)/libfaas.pc
HEADERS := include/faas.h $(wildcard include/faas/*.h)
CORE_HEADERS := $(filter-out include/faas/redis.h include/faas/http.h,$(wildcard include/faas/*.h))

TEST_SRCS := $(sort $(wildcard tests/check_*.c))
TEST_OBJS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%.o)
TEST_BIN := $(BUILD)/tests/check_faas
EXAMPLE_SRCS := $(filter-out examples/redis_%.c,$(sort $(wildcard examples/*.c)))
EXAMPLE_BINS := $(EXAMPLE_SRCS:examples/%.c=$(BUILD)/examples/%)

.PHONY: all deps deps-check install uninstall check check-suite check-scripts check-examples asan tsan \
	demo examples clean

FAAS_BIN := $(BUILD)/faas

# The Redis add-on too, where hiredis is (make redis builds it on its own).
HAVE_HIREDIS := $(shell pkg-config --exists hiredis 2>/dev/null && echo yes)
HAVE_HTTP := $(shell pkg-config --exists libmicrohttpd libcrypto 2>/dev/null && echo yes)
all: $(STATIC) $(SHARED) $(PCFILE) $(FAAS_BIN) $(if $(HAVE_HIREDIS),redis) $(if $(HAVE_HTTP),http)

# The faas command links the static library and exports its symbols
# (-rdynamic) for the plug-ins its manifests load.
$(FAAS_BIN): tools/faas.c $(STATIC) $(HEADERS)
	$(SAY) LD $@
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -pthread -Iinclude $(JANSSON_CFLAGS) $(WARNINGS) $(SAN_FLAGS) \
		$(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -rdynamic -o $@ tools/faas.c $(STATIC) $(LIB_LIBS)

deps:
	@sh tools/deps.sh jansson
deps-check:
	@sh tools/deps.sh jansson check

$(BUILD)/lib/%.o: lib/%.c | deps
	@mkdir -p $(@D)
	$(SAY) CC $<
	$(Q)$(CC) $(LIB_CFLAGS) -c $< -o $@

$(STATIC): $(LIB_OBJS)
	@rm -f $@
	$(SAY) AR $@
	$(Q)$(AR) rcs $@ $^

$(SHARED): $(LIB_OBJS) lib/libfaas.map
	$(SAY) LD $@
	$(Q)$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/libfaas.map \
		$(SAN_FLAGS) $(LDFLAGS) -o $@ $(LIB_OBJS) $(LIB_LIBS)
	$(Q)ln -sf libfaas.so.$(VERSION) $(BUILD)/$(SONAME)
	$(Q)ln -sf $(SONAME) $(BUILD)/libfaas.so

PC_SUBST = sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' pkgconfig/libfaas.pc.in

$(PCFILE): pkgconfig/libfaas.pc.in $(VERSION_H)
	@mkdir -p $(@D)
	$(SAY) GEN $@
	$(Q)$(PC_SUBST) > $@

install: all
	install -d $(DESTDIR)$(INCLUDEDIR)/faas $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(BINDIR)
	install -m 755 $(FAAS_BIN) $(DESTDIR)$(BINDIR)/faas
	install -m 644 include/faas.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(CORE_HEADERS) $(DESTDIR)$(INCLUDEDIR)/faas/
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/
	ln -sf libfaas.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libfaas.so
	$(PC_SUBST) > $(DESTDIR)$(PKGCONFIGDIR)/libfaas.pc
	@if pkg-config --exists hiredis 2>/dev/null; then $(MAKE) --no-print-directory install-redis; fi
	@if pkg-config --exists libmicrohttpd libcrypto 2>/dev/null; then \
		$(MAKE) --no-print-directory install-http; fi

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/faas.h
	rm -rf $(DESTDIR)$(INCLUDEDIR)/faas
	rm -f $(DESTDIR)$(LIBDIR)/libfaas.a $(DESTDIR)$(LIBDIR)/libfaas.so \
		$(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libfaas.so.$(VERSION)
	rm -f $(DESTDIR)$(PKGCONFIGDIR)/libfaas.pc $(DESTDIR)$(BINDIR)/faas
	rm -f $(DESTDIR)$(LIBDIR)/libfaas-redis.a $(DESTDIR)$(LIBDIR)/libfaas-redis.so \
		$(DESTDIR)$(LIBDIR)/libfaas-redis.so.$(MAJOR) $(DESTDIR)$(LIBDIR)/libfaas-redis.so.$(VERSION) \
		$(DESTDIR)$(PKGCONFIGDIR)/libfaas-redis.pc
	rm -f $(DESTDIR)$(LIBDIR)/libfaas-http.a $(DESTDIR)$(LIBDIR)/libfaas-http.so \
		$(DESTDIR)$(LIBDIR)/libfaas-http.so.$(MAJOR) $(DESTDIR)$(LIBDIR)/libfaas-http.so.$(VERSION) \
		$(DESTDIR)$(PKGCONFIGDIR)/libfaas-http.pc $(DESTDIR)$(BINDIR)/faas-serve

# ---- tests ----------------------------------------------------------------

TEST_CFLAGS = -std=c11 -D_GNU_SOURCE -pthread -Iinclude -Ilib -Itests $(JANSSON_CFLAGS) \
	$(CHECK_CFLAGS) $(WARNINGS) $(SAN_FLAGS) $(CPPFLAGS) $(CFLAGS) -MMD -MP \
	-DFAAS_TEST_PLUGIN_DIR='"$(BUILD)/tests/plugins"'

# Plug-ins the suite loads: hello in two builds (v1, v2) for hot swap, and
# broken ones, one per way a load can fail (tests/plugins/).
TEST_PLUGINS := $(BUILD)/tests/plugins/hello_v1.so $(BUILD)/tests/plugins/hello_v2.so \
	$(patsubst tests/plugins/%.c,$(BUILD)/tests/plugins/%.so,$(filter-out tests/plugins/hello.c,$(wildcard tests/plugins/*.c)))
PLUGIN_CFLAGS = -std=c11 -D_GNU_SOURCE -fPIC -shared -Iinclude $(JANSSON_CFLAGS) $(WARNINGS) \
	$(SAN_FLAGS) $(CPPFLAGS) $(CFLAGS)

$(BUILD)/tests/plugins/hello_v%.so: tests/plugins/hello.c $(HEADERS) | deps-check
	@mkdir -p $(@D)
	$(SAY) SO $@
	$(Q)$(CC) $(PLUGIN_CFLAGS) -DTAG='"v$*"' $(LDFLAGS) -o $@ $< $(JANSSON_LIBS)

$(BUILD)/tests/plugins/%.so: tests/plugins/%.c $(HEADERS) | deps-check
	@mkdir -p $(@D)
	$(SAY) SO $@
	$(Q)$(CC) $(PLUGIN_CFLAGS) $(LDFLAGS) -o $@ $< $(JANSSON_LIBS)

$(BUILD)/tests/%.o: tests/%.c | deps-check
	@mkdir -p $(@D)
	$(SAY) CC $<
	$(Q)$(CC) $(TEST_CFLAGS) -c $< -o $@

$(TEST_BIN): $(TEST_OBJS) $(STATIC) $(TEST_PLUGINS)
	$(SAY) LD $@
	$(Q)$(CC) $(SAN_FLAGS) $(LDFLAGS) -o $@ $(TEST_OBJS) $(STATIC) $(CHECK_LIBS) $(LIB_LIBS)

check: check-scripts check-fuzz check-examples check-redis check-http check-suite

check-scripts: all $(TEST_PLUGINS) | deps-check
	@sh tests/cli.sh $(BUILD)
	@sh tests/abi.sh $(BUILD)
	@sh tests/headers.sh "$(CC)" "$(CXX)"
	@sh tests/install.sh "$(CC)" "$(MAKE)"

# The Check runner prints its summary line last.
check-suite: $(TEST_BIN)
	$(TEST_BIN)

asan:
	FAAS_TEST_SCALE=$${FAAS_TEST_SCALE:-0.05} $(MAKE) BUILD=build-asan SANITIZE=address,undefined CFLAGS="-O1 -g" check-suite
	$(MAKE) BUILD=build-asan SANITIZE=address,undefined CFLAGS="-O1 -g" REDIS_CHECK=check-redis-unit check-redis
	$(MAKE) BUILD=build-asan SANITIZE=address,undefined CFLAGS="-O1 -g" HTTP_CHECK=check-http-unit check-http

tsan:
	FAAS_TEST_SCALE=$${FAAS_TEST_SCALE:-0.02} TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/tsan.supp $(TSAN_OPTIONS)" \
		$(MAKE) BUILD=build-tsan SANITIZE=thread CFLAGS="-O1 -g" check-suite
	TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/tsan.supp $(TSAN_OPTIONS)" \
		$(MAKE) BUILD=build-tsan SANITIZE=thread CFLAGS="-O1 -g" REDIS_CHECK=check-redis-unit check-redis
	TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/tsan.supp $(TSAN_OPTIONS)" \
		$(MAKE) BUILD=build-tsan SANITIZE=thread CFLAGS="-O1 -g" HTTP_CHECK=check-http-unit check-http

# ---- reliability gates --------------------------------------------------------
# make stress     the soak program (STRESS_SECONDS, default 10; 4 callers)
# make stress-tsan  a short soak under ThreadSanitizer
# make valgrind   the Check suite under memcheck: no error, no definite leak

STRESS_SECONDS ?= 10

$(BUILD)/stress/stress: tests/stress/stress.c $(STATIC) | deps
	@mkdir -p $(@D)
	$(SAY) LD $@
	$(Q)$(CC) $(EXAMPLE_CFLAGS) $(LDFLAGS) -o $@ $< $(STATIC) $(LIB_LIBS)

stress: $(BUILD)/stress/stress
	$(BUILD)/stress/stress $(STRESS_SECONDS) 4

stress-tsan:
	$(MAKE) BUILD=build-tsan SANITIZE=thread CFLAGS="-O1 -g" build-tsan/stress/stress
	TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/tsan.supp $(TSAN_OPTIONS)" \
		build-tsan/stress/stress $(STRESS_SECONDS) 3

valgrind: $(TEST_BIN)
	@command -v valgrind >/dev/null || { echo "make valgrind: install valgrind (apt-get install valgrind)"; exit 1; }
	FAAS_TEST_SCALE=$${FAAS_TEST_SCALE:-0.01} CK_TIMEOUT_MULTIPLIER=5 valgrind -q --error-exitcode=99 \
		--leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite $(TEST_BIN)

.PHONY: stress stress-tsan valgrind

# ---- examples ---------------------------------------------------------------

EXAMPLE_CFLAGS = -std=c11 -D_GNU_SOURCE -pthread -Iinclude $(JANSSON_CFLAGS) $(WARNINGS) \
	$(SAN_FLAGS) $(CPPFLAGS) $(CFLAGS)

$(BUILD)/examples/%: examples/%.c $(STATIC) | deps
	@mkdir -p $(@D)
	$(SAY) LD $@
	$(Q)$(CC) $(EXAMPLE_CFLAGS) $(LDFLAGS) -o $@ $< $(STATIC) $(LIB_LIBS)

# The handler test example is a Check program: it links Check too, and
# make check runs it.
$(BUILD)/examples/handler_test: examples/handler_test.c $(STATIC) | deps-check
	@mkdir -p $(@D)
	$(SAY) LD $@
	$(Q)$(CC) $(EXAMPLE_CFLAGS) $(CHECK_CFLAGS) $(LDFLAGS) -o $@ $< $(STATIC) $(CHECK_LIBS) $(LIB_LIBS)


examples: $(EXAMPLE_BINS)

# The demo plug-in and its manifest and events, side by side in the build tree.
DEMO_DIR := $(BUILD)/examples/demo
$(DEMO_DIR)/demo.so: examples/demo/demo.c $(HEADERS) | deps
	@mkdir -p $(@D)
	$(SAY) SO $@
	$(Q)$(CC) $(PLUGIN_CFLAGS) $(LDFLAGS) -o $@ $< $(JANSSON_LIBS)
$(DEMO_DIR)/%: examples/demo/% | $(DEMO_DIR)/demo.so
	cp $< $@

PLUGIN_EX_DIR := $(BUILD)/examples/plugin
$(PLUGIN_EX_DIR)/greeter.so: examples/plugin/greeter.c $(HEADERS) | deps
	@mkdir -p $(@D)
	$(SAY) SO $@
	$(Q)$(CC) $(PLUGIN_CFLAGS) $(LDFLAGS) -o $@ $< $(JANSSON_LIBS)
$(PLUGIN_EX_DIR)/faas.json: examples/plugin/faas.json | $(PLUGIN_EX_DIR)/greeter.so
	cp $< $@

# Every example is built and run, its output checked (tests/examples.sh).
check-examples: $(EXAMPLE_BINS) $(FAAS_BIN) $(PLUGIN_EX_DIR)/greeter.so $(PLUGIN_EX_DIR)/faas.json \
		$(DEMO_DIR)/demo.so $(DEMO_DIR)/faas.json $(DEMO_DIR)/events.ndjson
	@sh tests/examples.sh $(BUILD)

demo: $(BUILD)/examples/registry $(BUILD)/examples/dispatch $(BUILD)/examples/telemetry $(BUILD)/examples/async \
	$(BUILD)/examples/queue_trigger $(FAAS_BIN) $(DEMO_DIR)/demo.so $(DEMO_DIR)/faas.json \
	$(DEMO_DIR)/events.ndjson
	$(BUILD)/examples/registry
	$(BUILD)/examples/dispatch
	$(BUILD)/examples/telemetry
	$(BUILD)/examples/async
	$(BUILD)/examples/queue_trigger
	@echo "== faas run $(DEMO_DIR)/faas.json: a canary, a throttled function, a failing async one, a queue trigger"
	$(FAAS_BIN) run $(DEMO_DIR)/faas.json --events $(DEMO_DIR)/events.ndjson --concurrency 4; \
		test $$? -le 1 # exit 1: some events failed, as this demo means them to

clean:
	rm -rf build build-asan build-tsan
clean: clean-fuzz

-include $(LIB_OBJS:.o=.d) $(TEST_OBJS:.o=.d)

# ---- benchmarks ---------------------------------------------------------------
# make bench: the dispatch core against GThreadPool and uv_queue_work (latency,
# CPU time per task with 1 and 2 callers), plus callgrind instruction counts
# (invoke, JSON text, large events, resolve among 100 000 functions); see
# bench/README.md. It reports; it never fails because a target is missed.
# GLib and libuv are bench-only dependencies.

BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_HDRS := $(wildcard bench/*.h)
BENCH_BIN := $(BUILD)/bench/bench_dispatch
BENCH_PKGS := glib-2.0 libuv
# -isystem: warnings in GLib's and libuv's headers are not ours to fix.
# -O2 unless the user's CFLAGS say otherwise (they come last and win).
BENCH_CFLAGS = -std=c11 -D_GNU_SOURCE -pthread -Iinclude $(JANSSON_CFLAGS) \
	$(patsubst -I%,-isystem %,$(shell pkg-config --cflags $(BENCH_PKGS) 2>/dev/null)) \
	$(WARNINGS) $(CPPFLAGS) -O2 $(CFLAGS)
BENCH_LIBS = $(shell pkg-config --libs $(BENCH_PKGS) 2>/dev/null)

.PHONY: bench bench-deps

bench-deps:
	@sh tools/deps.sh jansson glib-2.0 libuv

$(BENCH_BIN): $(BENCH_SRCS) $(BENCH_HDRS) $(STATIC) | bench-deps
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) $(LDFLAGS) -o $@ $(BENCH_SRCS) $(STATIC) $(BENCH_LIBS) $(LIB_LIBS)

# Dependencies first, in their own make, so pkg-config is read after them.
bench:
	@sh tools/deps.sh jansson glib-2.0 libuv
	@$(MAKE) --no-print-directory $(BENCH_BIN)
	$(BENCH_BIN)
	@if sh tools/deps.sh hiredis redis-server; then \
		$(MAKE) --no-print-directory $(BUILD)/bench/bench_redis && $(BUILD)/bench/bench_redis; \
	else echo "bench: the Redis section is skipped (no hiredis / redis-server)"; fi
	@if sh tools/deps.sh libmicrohttpd libcrypto wrk; then \
		$(MAKE) --no-print-directory $(BUILD)/bench/bench_http && $(BUILD)/bench/bench_http; \
	else echo "bench: the HTTP section is skipped (no libmicrohttpd / OpenSSL / wrk)"; fi

$(BUILD)/bench/bench_http: bench/http/bench_http.c $(BUILD)/libfaas-http.a $(STATIC)
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -pthread -Iinclude $(JANSSON_CFLAGS) $(WARNINGS) $(CPPFLAGS) -O2 \
		$(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libfaas-http.a $(STATIC) $(HTTP_LIBS) $(LIB_LIBS)

$(BUILD)/bench/bench_redis: bench/redis/bench_redis.c tests/redis/server.c $(REDIS_STATIC) $(STATIC)
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -pthread -Iinclude -Itests $(JANSSON_CFLAGS) $(HIREDIS_CFLAGS) \
		$(WARNINGS) $(CPPFLAGS) -O2 $(CFLAGS) $(LDFLAGS) -o $@ $< tests/redis/server.c \
		$(REDIS_STATIC) $(STATIC) $(HIREDIS_LIBS) $(LIB_LIBS)

# ---- fuzzing ------------------------------------------------------------------
# Targets are tests/fuzz/fuzz_<name>.c (see tests/fuzz/README.md).
# make check-fuzz (part of make check): each target linked with the replay
#   driver by the normal compiler, run over its saved corpus.
# make fuzz: libFuzzer binaries (clang, ASan + UBSan, library rebuilt into
#   build-fuzz/), each run FUZZ_SECONDS (30) on a copy of its corpus;
#   FUZZ_TARGETS="ident ..." runs only those.
# make fuzz-merge: after make fuzz, add the new inputs that reach new
#   edges to tests/fuzz/corpus/.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 30
FUZZ_BUILD ?= build-fuzz
FUZZ_SANITIZE := fuzzer-no-link,address,undefined
# fuzz_http_* need libfaas-http (libmicrohttpd, libcrypto): only where it builds.
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
ifneq ($(shell pkg-config --exists libmicrohttpd libcrypto 2>/dev/null && echo yes),yes)
FUZZ_NAMES := $(filter-out http_%,$(FUZZ_NAMES))
endif
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_REPLAYS := $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%)
FUZZ_BINS := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_DEPS := tests/fuzz/fuzz.h $(HEADERS) $(wildcard lib/*.h)
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -pthread -Iinclude -Ilib -Itests/fuzz $(JANSSON_CFLAGS) \
	$(WARNINGS) $(SAN_FLAGS) $(CPPFLAGS) $(CFLAGS)

.PHONY: check-fuzz fuzz fuzz-build fuzz-merge clean-fuzz

$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_DEPS) $(STATIC) | deps
	@mkdir -p $(@D)
	$(CC) $(FUZZ_CFLAGS) -DFUZZ_TARGET='"$*"' $(LDFLAGS) -o $@ tests/fuzz/replay.c $< \
		$(STATIC) $(LIB_LIBS)

# Built by the recursive make of `fuzz` (CC=clang, SANITIZE=fuzzer-no-link,...).
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DEPS) $(STATIC) | deps
	@mkdir -p $(@D)
	$(CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined $(LDFLAGS) -o $@ $< \
		$(STATIC) $(LIB_LIBS)

# The HTTP request target links the add-on's objects too.
FUZZ_HTTP_LINK = $(BUILD)/libfaas-http.a $(STATIC) \
	$(shell pkg-config --libs libmicrohttpd libcrypto 2>/dev/null) $(LIB_LIBS)
$(BUILD)/fuzz/replay_http_%: tests/fuzz/fuzz_http_%.c tests/fuzz/replay.c $(FUZZ_DEPS) \
		$(BUILD)/libfaas-http.a $(STATIC) | deps
	@mkdir -p $(@D)
	$(CC) $(FUZZ_CFLAGS) -Ilib/http -DFUZZ_TARGET='"http_$*"' $(LDFLAGS) -o $@ tests/fuzz/replay.c \
		$< $(FUZZ_HTTP_LINK)
$(BUILD)/fuzz/fuzz_http_%: tests/fuzz/fuzz_http_%.c $(FUZZ_DEPS) $(BUILD)/libfaas-http.a $(STATIC) | deps
	@mkdir -p $(@D)
	$(CC) $(FUZZ_CFLAGS) -Ilib/http -fsanitize=fuzzer,address,undefined $(LDFLAGS) -o $@ $< \
		$(FUZZ_HTTP_LINK)

check-fuzz: $(FUZZ_REPLAYS)
	@for t in $(FUZZ_NAMES); do $(BUILD)/fuzz/replay_$$t tests/fuzz/corpus/$$t || exit 1; done

fuzz-build: $(FUZZ_BINS)

fuzz:
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || { echo "fuzz: $(FUZZ_CC) not found;" \
		"install clang and libFuzzer (apt-get install clang libclang-rt-14-dev) or set FUZZ_CC" >&2; \
		exit 1; }
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) SANITIZE=$(FUZZ_SANITIZE) \
		CFLAGS="-O1 -g" fuzz-build
	@sh tests/fuzz/run.sh run $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-merge:
	@sh tests/fuzz/run.sh merge $(FUZZ_BUILD) $(FUZZ_TARGETS)

clean-fuzz:
	rm -rf $(FUZZ_BUILD)

# ---- libfaas-redis: the Redis Streams add-on (hiredis) -------------------------
# Built only where hiredis is: `make redis` (make check installs hiredis and
# redis-server when it can, then runs check-redis: the add-on's suite against
# a private redis-server, and the multi-process scale-out test).

REDIS_SRCS := $(sort $(wildcard lib/redis/*.c))
REDIS_OBJS := $(REDIS_SRCS:lib/redis/%.c=$(BUILD)/lib/redis/%.o)
REDIS_STATIC := $(BUILD)/libfaas-redis.a
REDIS_SHARED := $(BUILD)/libfaas-redis.so.$(VERSION)
REDIS_SONAME := libfaas-redis.so.$(MAJOR)
REDIS_PC := $(BUILD)/libfaas-redis.pc
HIREDIS_CFLAGS = $(shell pkg-config --cflags hiredis 2>/dev/null)
HIREDIS_LIBS = $(shell pkg-config --libs hiredis 2>/dev/null || echo -lhiredis)
REDIS_TEST_BIN := $(BUILD)/tests/check_redis
REDIS_TEST_SRCS := $(sort $(wildcard tests/redis/check_*.c)) tests/redis/server.c
REDIS_SCALE_BIN := $(BUILD)/tests/redis_scaleout
REDIS_WORKER := $(BUILD)/examples/redis_worker
REDIS_SCALE_RECORDS ?= 100000

.PHONY: redis check-redis check-redis-unit check-redis-suite install-redis

redis: $(REDIS_STATIC) $(REDIS_SHARED) $(REDIS_PC)

$(BUILD)/lib/redis/%.o: lib/redis/%.c $(wildcard lib/redis/*.h) | deps
	@mkdir -p $(@D)
	$(SAY) CC $<
	$(Q)$(CC) $(LIB_CFLAGS) $(HIREDIS_CFLAGS) -c $< -o $@

$(REDIS_STATIC): $(REDIS_OBJS)
	@rm -f $@
	$(SAY) AR $@
	$(Q)$(AR) rcs $@ $^

$(REDIS_SHARED): $(REDIS_OBJS) lib/redis/libfaas-redis.map $(SHARED)
	$(SAY) LD $@
	$(Q)$(CC) -shared -Wl,-soname,$(REDIS_SONAME) -Wl,--version-script=lib/redis/libfaas-redis.map \
		$(SAN_FLAGS) $(LDFLAGS) -o $@ $(REDIS_OBJS) -L$(BUILD) -lfaas $(HIREDIS_LIBS) $(LIB_LIBS)
	$(Q)ln -sf libfaas-redis.so.$(VERSION) $(BUILD)/$(REDIS_SONAME)
	$(Q)ln -sf $(REDIS_SONAME) $(BUILD)/libfaas-redis.so

$(REDIS_PC): pkgconfig/libfaas-redis.pc.in $(VERSION_H)
	@mkdir -p $(@D)
	$(SAY) GEN $@
	$(Q)$(subst pkgconfig/libfaas.pc.in,pkgconfig/libfaas-redis.pc.in,$(PC_SUBST)) > $@

$(REDIS_TEST_BIN): $(REDIS_TEST_SRCS) tests/redis/server.h $(REDIS_STATIC) $(STATIC) | deps-check
	@mkdir -p $(@D)
	$(SAY) LD $@
	$(Q)$(CC) $(TEST_CFLAGS) $(HIREDIS_CFLAGS) $(LDFLAGS) -o $@ $(REDIS_TEST_SRCS) $(REDIS_STATIC) \
		$(STATIC) $(HIREDIS_LIBS) $(CHECK_LIBS) $(LIB_LIBS)

$(REDIS_WORKER): examples/redis_worker.c $(REDIS_STATIC) $(STATIC) | deps
	@mkdir -p $(@D)
	$(SAY) LD $@
	$(Q)$(CC) $(EXAMPLE_CFLAGS) $(HIREDIS_CFLAGS) $(LDFLAGS) -o $@ $< $(REDIS_STATIC) $(STATIC) \
		$(HIREDIS_LIBS) $(LIB_LIBS)

$(REDIS_SCALE_BIN): tests/redis/scaleout.c tests/redis/server.c tests/redis/server.h | deps
	@mkdir -p $(@D)
	$(SAY) LD $@
	$(Q)$(CC) $(EXAMPLE_CFLAGS) -Itests $(HIREDIS_CFLAGS) $(LDFLAGS) -o $@ tests/redis/scaleout.c \
		tests/redis/server.c $(HIREDIS_LIBS) $(LIB_LIBS)

# The suite and the scale-out proof; skipped, and said so, where hiredis or
# redis-server cannot be installed.
# REDIS_CHECK=check-redis-unit: the suite alone (what make asan / tsan run).
REDIS_CHECK ?= check-redis-suite
check-redis:
	@if sh tools/deps.sh hiredis redis-server; then \
		$(MAKE) --no-print-directory $(REDIS_CHECK); \
	else echo "check-redis: SKIPPED (no hiredis / redis-server; see above)"; fi

check-redis-unit: $(REDIS_TEST_BIN)
	$(REDIS_TEST_BIN)

check-redis-suite: check-redis-unit $(REDIS_WORKER) $(REDIS_SCALE_BIN) $(REDIS_SHARED) $(REDIS_PC)
	$(REDIS_SCALE_BIN) $(REDIS_WORKER) $(REDIS_SCALE_RECORDS)

install-redis: redis
	install -d $(DESTDIR)$(INCLUDEDIR)/faas $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 include/faas/redis.h $(DESTDIR)$(INCLUDEDIR)/faas/
	install -m 644 $(REDIS_STATIC) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(REDIS_SHARED) $(DESTDIR)$(LIBDIR)/
	ln -sf libfaas-redis.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(REDIS_SONAME)
	ln -sf $(REDIS_SONAME) $(DESTDIR)$(LIBDIR)/libfaas-redis.so
	$(subst pkgconfig/libfaas.pc.in,pkgconfig/libfaas-redis.pc.in,$(PC_SUBST)) \
		> $(DESTDIR)$(PKGCONFIGDIR)/libfaas-redis.pc

-include $(REDIS_OBJS:.o=.d)

# ---- libfaas-http: Lambda's HTTP API (libmicrohttpd, OpenSSL's libcrypto) -------
# Built where both are; `make check` installs them (and awscli, python3-boto3
# for the client tests) when it can, then runs check-http.

HTTP_PKGS := libmicrohttpd libcrypto
HTTP_SRCS := $(sort $(wildcard lib/http/*.c))
HTTP_OBJS := $(HTTP_SRCS:lib/http/%.c=$(BUILD)/lib/http/%.o)
HTTP_STATIC := $(BUILD)/libfaas-http.a
HTTP_SHARED := $(BUILD)/libfaas-http.so.$(VERSION)
HTTP_SONAME := libfaas-http.so.$(MAJOR)
HTTP_PC := $(BUILD)/libfaas-http.pc
HTTP_CFLAGS = $(shell pkg-config --cflags $(HTTP_PKGS) 2>/dev/null)
HTTP_LIBS = $(shell pkg-config --libs $(HTTP_PKGS) 2>/dev/null || echo -lmicrohttpd -lcrypto)
HTTP_TEST_BIN := $(BUILD)/tests/check_http
FAAS_SERVE_BIN := $(BUILD)/faas-serve

.PHONY: http check-http check-http-unit check-http-suite install-http

install-http: http
	install -d $(DESTDIR)$(INCLUDEDIR)/faas $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(BINDIR)
	install -m 644 include/faas/http.h $(DESTDIR)$(INCLUDEDIR)/faas/
	install -m 644 $(HTTP_STATIC) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(HTTP_SHARED) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(FAAS_SERVE_BIN) $(DESTDIR)$(BINDIR)/faas-serve
	ln -sf libfaas-http.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(HTTP_SONAME)
	ln -sf $(HTTP_SONAME) $(DESTDIR)$(LIBDIR)/libfaas-http.so
	$(subst pkgconfig/libfaas.pc.in,pkgconfig/libfaas-http.pc.in,$(PC_SUBST)) \
		> $(DESTDIR)$(PKGCONFIGDIR)/libfaas-http.pc

http: $(HTTP_STATIC) $(HTTP_SHARED) $(HTTP_PC) $(FAAS_SERVE_BIN)

$(BUILD)/lib/http/%.o: lib/http/%.c $(wildcard lib/http/*.h) $(HEADERS) | deps
	@mkdir -p $(@D)
	$(SAY) CC $<
	$(Q)$(CC) $(LIB_CFLAGS) $(HTTP_CFLAGS) -c $< -o $@

$(HTTP_STATIC): $(HTTP_OBJS)
	@rm -f $@
	$(SAY) AR $@
	$(Q)$(AR) rcs $@ $^

$(HTTP_SHARED): $(HTTP_OBJS) lib/http/libfaas-http.map $(SHARED)
	$(SAY) LD $@
	$(Q)$(CC) -shared -Wl,-soname,$(HTTP_SONAME) -Wl,--version-script=lib/http/libfaas-http.map \
		$(SAN_FLAGS) $(LDFLAGS) -o $@ $(HTTP_OBJS) -L$(BUILD) -lfaas $(HTTP_LIBS) $(LIB_LIBS)
	$(Q)ln -sf libfaas-http.so.$(VERSION) $(BUILD)/$(HTTP_SONAME)
	$(Q)ln -sf $(HTTP_SONAME) $(BUILD)/libfaas-http.so

$(HTTP_PC): pkgconfig/libfaas-http.pc.in $(VERSION_H)
	@mkdir -p $(@D)
	$(SAY) GEN $@
	$(Q)$(subst pkgconfig/libfaas.pc.in,pkgconfig/libfaas-http.pc.in,$(PC_SUBST)) > $@

# faas-serve: the faas command's `serve` (tools/serve.c), a binary of its
# own so that the faas command itself needs no HTTP library.
$(FAAS_SERVE_BIN): tools/serve.c $(HTTP_STATIC) $(STATIC) $(HEADERS)
	$(SAY) LD $@
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -pthread -Iinclude $(JANSSON_CFLAGS) $(WARNINGS) $(SAN_FLAGS) \
		$(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -rdynamic -o $@ tools/serve.c $(HTTP_STATIC) $(STATIC) \
		$(HTTP_LIBS) $(LIB_LIBS)

$(HTTP_TEST_BIN): tests/http/check_http.c $(HTTP_STATIC) $(STATIC) | deps-check
	@mkdir -p $(@D)
	$(SAY) LD $@
	$(Q)$(CC) $(TEST_CFLAGS) $(HTTP_CFLAGS) -Ilib/http $(LDFLAGS) -o $@ tests/http/check_http.c \
		$(HTTP_STATIC) $(STATIC) $(HTTP_LIBS) $(CHECK_LIBS) $(LIB_LIBS)

# HTTP_CHECK=check-http-unit: the C suite alone (what make asan / tsan run).
HTTP_CHECK ?= check-http-suite
check-http:
	@if sh tools/deps.sh libmicrohttpd libcrypto python3-boto3 aws; then \
		$(MAKE) --no-print-directory $(HTTP_CHECK); \
	else echo "check-http: SKIPPED (no libmicrohttpd / OpenSSL / boto3 / awscli; see above)"; fi

check-http-unit: $(HTTP_TEST_BIN)
	$(HTTP_TEST_BIN)

check-http-suite: check-http-unit $(FAAS_SERVE_BIN) $(HTTP_SHARED) $(HTTP_PC) $(DEMO_DIR)/demo.so
	sh tests/http/clients.sh $(FAAS_SERVE_BIN)

-include $(HTTP_OBJS:.o=.d)
