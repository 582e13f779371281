# The front door. `make demo` and `make test` are the two commands of the README: each first
# installs what is missing (scripts/deps.sh), then builds, then runs.
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
# The short libFuzzer pass `make test` ends with: this many seconds per target.
FUZZ_SHORT_SECONDS ?= 3

.PHONY: all deps build demo test bench fuzz fuzz-build fuzz-short reliability power-loss soak screenshots clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSP_TESTS=ON >/dev/null
	@cmake --build build -j$(JOBS)

# The demo shows the demo: installing and compiling go to SETUP_LOG, one line per phase.
SETUP_LOG ?= build/setup.log
demo:
	@echo "salespipe demo (setup output: $(SETUP_LOG))"
	@bash scripts/phase.sh deps $(SETUP_LOG) bash scripts/deps.sh demo
	@bash scripts/phase.sh configure $(SETUP_LOG) cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSP_TESTS=OFF
	@bash scripts/phase.sh build $(SETUP_LOG) cmake --build build -j$(JOBS) --target salespipe
	@./build/salespipe demo --data-dir ./salespipe-data

# Everything under ASan + UBSan, in its own build directory; leaks fail the run. Then a
# short libFuzzer pass over every target (fuzz-short): a crash or leak fails the run too.
test: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSP_SANITIZE=ON -DSP_TESTS=ON >/dev/null
	@cmake --build build-asan -j$(JOBS)
	cd build-asan && ctest --output-on-failure -j$(JOBS)
	@$(MAKE) --no-print-directory fuzz-short

bench: build
	bash bench/run.sh

fuzz-build: deps
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DSP_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j$(JOBS) --target fuzz_targets

fuzz: fuzz-build
	bash tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

# What CI runs after ctest: every target for FUZZ_SHORT_SECONDS from its seed corpus.
fuzz-short: fuzz-build
	bash tests/fuzz/run.sh build-fuzz $(FUZZ_SHORT_SECONDS)

# The long crash run: at least 20 SIGKILLs over 100 000 changes.
reliability: build
	SALESPIPE_BIN=$(CURDIR)/build/salespipe /usr/bin/python3 tests/reliability/crash_harness.py --changes 100000 --kills 20

# Power cuts (LD_PRELOAD shim, unsynced writes thrown away) at random moments, durability fsync;
# `... power_loss.py --durability relaxed` by hand shows what relaxed can lose.
power-loss: build
	SALESPIPE_BIN=$(CURDIR)/build/salespipe POWERCUT_SHIM=$(CURDIR)/build/libpowercut_shim.so /usr/bin/python3 tests/reliability/power_loss.py --durability fsync --runs 10

# Memory soak: steady load, then a growing backlog; fails if RSS grows with either.
soak: build
	SALESPIPE_BIN=$(CURDIR)/build/salespipe /usr/bin/python3 tests/reliability/soak.py --minutes 4

# A screenshot of each dashboard page (build/screenshots/), the pipeline one also as
# docs/dashboard.png for the README; needs chromium and playwright-core (deps.sh test).
screenshots: build
	@bash scripts/screenshots.sh

clean:
	rm -rf build build-asan build-fuzz
