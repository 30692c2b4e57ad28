# SPDX-License-Identifier: Apache-2.0
# User-facing targets. `make run` starts the virtual HSM, `make test` runs
# every test; both install missing Debian packages first (tools/deps.sh).

BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 300
CTEST_FLAGS ?= --output-on-failure -j$(JOBS)

SIM = $(BUILD)/release/ports/host/fusekey-sim

.PHONY: all build run test test-release test-asan test-fuzz fuzz bench deps clean

all: build

deps:
	@sh tools/deps.sh

build: deps
	cmake -S . -B $(BUILD)/release -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD)/release -j$(JOBS)

run: build
	@sh tools/run.sh $(SIM)

# Every test, three times: a normal build, an ASan+UBSan build, and the
# libFuzzer targets (clang) for a short smoke run each.
test: deps test-release test-asan test-fuzz

test-release:
	cmake -S . -B $(BUILD)/release -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD)/release -j$(JOBS)
	cd $(BUILD)/release && ctest $(CTEST_FLAGS)

test-asan:
	cmake -S . -B $(BUILD)/asan -DCMAKE_BUILD_TYPE=Debug -DFK_SANITIZE=ON
	cmake --build $(BUILD)/asan -j$(JOBS)
	cd $(BUILD)/asan && ctest $(CTEST_FLAGS)

test-fuzz:
	CC=clang cmake -S . -B $(BUILD)/fuzz -DCMAKE_BUILD_TYPE=Debug -DFK_FUZZ=ON
	cmake --build $(BUILD)/fuzz -j$(JOBS)
	cd $(BUILD)/fuzz && ctest $(CTEST_FLAGS)

# The longer fuzz run: FUZZ_SECONDS per target.
fuzz: deps
	CC=clang cmake -S . -B $(BUILD)/fuzz -DCMAKE_BUILD_TYPE=Debug -DFK_FUZZ=ON \
	  -DFK_FUZZ_SECONDS=$(FUZZ_SECONDS)
	cmake --build $(BUILD)/fuzz -j$(JOBS)
	cd $(BUILD)/fuzz && ctest --output-on-failure -j1 -L fuzz
	cmake -S . -B $(BUILD)/fuzz -DFK_FUZZ_SECONDS=15

bench: build
	@sh bench/run.sh $(BUILD)/release
	@sh bench/run_keys.sh $(BUILD)/release

clean:
	rm -rf $(BUILD)
