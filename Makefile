# espdeck - plain Makefile.  `make` builds build/espdeck; `make test` runs
# every test and ends with "N passed, N failed"; `make demo` runs the console
# on the built-in simulated board.  SANITIZE=address,undefined or
# SANITIZE=thread builds instrumented binaries under build/ (flags stamp
# forces a rebuild when they change).  V=1 shows commands.

PKG_CONFIG ?= pkg-config
PKGS := ncursesw libserialport libcjson zlib yaml-0.1 libmd
# Debian packages behind PKGS, plus what the tests drive.
DEB_LIBS := pkg-config libncurses-dev libserialport-dev libcjson-dev zlib1g-dev libyaml-dev libmd-dev
DEB_TOOLS := tmux ser2net nodejs npm time python3 python3-serial

CC ?= cc
SANITIZE ?=
comma := ,
# Sanitizer builds live apart so they never mix objects with the plain build.
ifneq ($(SANITIZE),)
BUILD ?= build/san-$(subst $(comma),-,$(SANITIZE))
else
BUILD ?= build
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

HAVE_DEPS := $(shell $(PKG_CONFIG) --exists $(PKGS) 2>/dev/null && echo yes)

.PHONY: all test demo bench check deps clean stubs
.DEFAULT_GOAL := all

deps:
	@echo "installing Debian packages: $(DEB_LIBS) $(DEB_TOOLS)"
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq || true; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(DEB_LIBS) $(DEB_TOOLS)

ifneq ($(HAVE_DEPS),yes)
# pkg-config misses a library: install, then run the real target.
all test demo bench check:
	@echo "pkg-config does not find all of: $(PKGS)"
	$(MAKE) deps
	$(MAKE) $@
else

ifneq ($(SANITIZE),)
  ifneq ($(filter-out address undefined thread,$(subst $(comma), ,$(SANITIZE))),)
    $(error SANITIZE takes address,undefined or thread)
  endif
  SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -g
endif

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS))

WARN := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
        -Wno-unused-parameter
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SAN_FLAGS) \
              -Isrc -Iui -Itests -I$(BUILD)/gen $(PKG_CFLAGS) -pthread
ALL_LDFLAGS := $(LDFLAGS) $(SAN_FLAGS) -pthread
LIBS := $(PKG_LIBS) -lm

CORE_SRC := $(sort $(wildcard src/*.c src/sim/*.c))
CORE_SRC := $(filter-out src/main.c,$(CORE_SRC))
UI_SRC := $(sort $(wildcard ui/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
GEN_SRC := $(BUILD)/gen/stub_data.c

OBJ := $(BUILD)/obj
CORE_OBJ := $(CORE_SRC:%.c=$(OBJ)/%.o) $(OBJ)/gen/stub_data.o
UI_OBJ := $(UI_SRC:%.c=$(OBJ)/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(OBJ)/%.o) $(OBJ)/tests/test.o $(OBJ)/gen/unit_main.o

STAMP := $(BUILD)/flags.stamp
FLAGS_NOW := $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)
ifneq ($(shell cat $(STAMP) 2>/dev/null),$(FLAGS_NOW))
  $(shell mkdir -p $(BUILD) && echo '$(FLAGS_NOW)' > $(STAMP))
endif

all: $(BUILD)/espdeck

$(BUILD)/libespdeck.a: $(CORE_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/libespdeck-ui.a: $(UI_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/espdeck: $(OBJ)/src/main.o $(BUILD)/libespdeck-ui.a $(BUILD)/libespdeck.a
	@echo "  LINK    $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/unit-tests: $(UNIT_OBJ) $(BUILD)/libespdeck-ui.a $(BUILD)/libespdeck.a
	@echo "  LINK    $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(OBJ)/tests/%.o: ALL_CFLAGS += -Wno-missing-prototypes
$(OBJ)/gen/unit_main.o: ALL_CFLAGS += -Wno-missing-prototypes

$(OBJ)/%.o: %.c $(STAMP) | $(BUILD)/gen/stub_data.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(OBJ)/gen/%.o: $(BUILD)/gen/%.c $(STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# Flasher stubs: pulled from a pinned release, checked, embedded (stubs/README.md).
$(BUILD)/gen/stub_data.c: stubs/pull.sh stubs/SHA256SUMS
	@mkdir -p $(dir $@)
	$(Q)sh stubs/pull.sh $(BUILD)

stubs: $(BUILD)/gen/stub_data.c

$(BUILD)/gen/unit_main.c: $(UNIT_SRC) tests/gen-unit.sh
	@mkdir -p $(dir $@)
	$(Q)sh tests/gen-unit.sh $(UNIT_SRC) > $@.tmp && mv $@.tmp $@

test: $(BUILD)/espdeck $(BUILD)/unit-tests
	$(Q)BUILD=$(BUILD) sh tests/run.sh

# One unit test module or case: make test/slip, make test/slip__resync
test/%: $(BUILD)/espdeck $(BUILD)/unit-tests
	$(Q)$(BUILD)/unit-tests $*

check: test
	$(Q)sh tests/check-layers.sh

demo: $(BUILD)/espdeck
	$(Q)$(BUILD)/espdeck demo

bench: $(BUILD)/espdeck
	$(Q)BUILD=$(BUILD) sh tests/bench.sh

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)

endif

clean:
	rm -rf $(BUILD)
