# SPDX-License-Identifier: Apache-2.0
# User-facing targets. `make run` starts the virtual HSM, `make test` runs
# every test; both install missing Debian packages first (tools/deps.sh).

BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 300
CTEST_FLAGS ?= --output-on-failure -j$(JOBS)

SIM = $(BUILD)/release/ports/host/fusekey-sim

.PHONY: all build run test test-release test-asan test-fuzz test-m33 firmware fuzz bench bench-m33 deps \
        deps-firmware clean

# The Cortex-M33 builds (docs/testing.md, "On a Cortex-M33 (QEMU)").
M33_TOOLCHAIN = -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-arm-none-eabi.cmake

all: build

deps:
	@sh tools/deps.sh

deps-firmware:
	@sh tools/deps.sh --firmware

build: deps
	cmake -S . -B $(BUILD)/release -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD)/release -j$(JOBS)

run: build
	@sh tools/run.sh $(SIM)

# Every test, three times: a normal build, an ASan+UBSan build, and the
# libFuzzer targets (clang) for a short smoke run each; then the core's
# tests cross-compiled for the Cortex-M33 and run under QEMU.
test: deps test-release test-asan test-fuzz test-m33

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

test-m33: deps-firmware
	cmake -S . -B $(BUILD)/m33 $(M33_TOOLCHAIN) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD)/m33 -j$(JOBS)
	cd $(BUILD)/m33 && ctest $(CTEST_FLAGS) -L m33

# The RP2350 firmware: the same cross build, configured in its own
# directory; builds the fusekey_firmware target when the port defines it.
firmware: deps-firmware
	cmake -S . -B $(BUILD)/rp2350 $(M33_TOOLCHAIN) -DCMAKE_BUILD_TYPE=Release
	@if cmake --build $(BUILD)/rp2350 --target help | grep -qw fusekey_firmware; then \
	  cmake --build $(BUILD)/rp2350 -j$(JOBS) --target fusekey_firmware; \
	else \
	  echo "firmware: no fusekey_firmware target yet (ports/rp2350 defines it)" >&2; exit 1; \
	fi

# The longer fuzz run: FUZZ_SECONDS per target.
fuzz: deps
	CC=clang cmake -S . -B $(BUILD)/fuzz -DCMAKE_BUILD_TYPE=Debug -DFK_FUZZ=ON \
	  -DFK_FUZZ_SECONDS=$(FUZZ_SECONDS)
	cmake --build $(BUILD)/fuzz -j$(JOBS)
	cd $(BUILD)/fuzz && ctest --output-on-failure -j1 -L fuzz
	cmake -S . -B $(BUILD)/fuzz -DFK_FUZZ_SECONDS=15

bench: build bench-m33
	@sh bench/run.sh $(BUILD)/release
	@sh bench/run_keys.sh $(BUILD)/release

# The crypto module's cost on the Cortex-M33, in instructions under QEMU.
bench-m33: deps-firmware
	cmake -S . -B $(BUILD)/m33 $(M33_TOOLCHAIN) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD)/m33 -j$(JOBS) --target bench_m33 bench_hsm_m33
	@sh bench/m33/run.sh $(BUILD)/m33

clean:
	rm -rf $(BUILD)
