# The front door. `make demo` and `make test` are the two commands of the README: each first
# installs what is missing (scripts/deps.sh), then builds, then runs.
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60

.PHONY: all deps build demo test bench fuzz reliability soak clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j$(JOBS)

demo: build
	./build/salespipe demo --data-dir ./salespipe-data

# Everything under ASan + UBSan, in its own build directory; leaks fail the run.
test: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSP_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j$(JOBS)
	cd build-asan && ctest --output-on-failure -j$(JOBS)

bench: build
	bash bench/run.sh

fuzz: deps
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DSP_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j$(JOBS) --target fuzz_targets
	bash tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

# The long crash run: at least 20 SIGKILLs over 100 000 changes.
reliability: build
	SALESPIPE_BIN=$(CURDIR)/build/salespipe /usr/bin/python3 tests/reliability/crash_harness.py --changes 100000 --kills 20

# Memory soak: steady load, then a growing backlog; fails if RSS grows with either.
soak: build
	SALESPIPE_BIN=$(CURDIR)/build/salespipe /usr/bin/python3 tests/reliability/soak.py --minutes 4

clean:
	rm -rf build build-asan build-fuzz
