# SPDX-License-Identifier: Apache-2.0
# Cross build for the RP2350's Cortex-M33 with Debian's gcc-arm-none-eabi and
# newlib (tools/deps.sh --firmware):
#   cmake -S . -B build/rp2350 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-arm-none-eabi.cmake
#
# The flags select newlib's thumb/v8-m.main+fp/hard multilib: the M33's
# single-precision FPU with the hard-float ABI.
#
# -O2 rather than -Os: the device's time goes into bignum and curve
# arithmetic. Measured with bench/m33 (docs/crypto.md, "Target build"), -Os
# makes mbedTLS and libdecaf 42 KiB and 62 KiB smaller but ECDSA P-256 25 %,
# RSA-2048 12 % and Ed25519 41 % slower. At -O2 the core, the applets and
# both crypto libraries linked together take about 300 KiB of flash, under
# the image's 400 KiB budget, so speed wins. CMAKE_BUILD_TYPE=MinSizeRel
# builds with -Os. -ffunction-sections/-fdata-sections
# with --gc-sections drop what is not called.
#
# -fstack-usage and -fcallgraph-info=su leave a .su and a .ci file beside
# every object: the input of the worst-case stack analysis.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR cortex-m33)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_AR arm-none-eabi-ar CACHE FILEPATH "")
set(CMAKE_RANLIB arm-none-eabi-ranlib CACHE FILEPATH "")
set(CMAKE_OBJCOPY arm-none-eabi-objcopy CACHE FILEPATH "")
set(CMAKE_SIZE arm-none-eabi-size CACHE FILEPATH "")

# No host program can be linked without a board's startup code: check the
# compiler by building a static library.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(FK_TARGET_CPU_FLAGS "-mcpu=cortex-m33 -mthumb -mfloat-abi=hard -mfpu=fpv5-sp-d16")
set(CMAKE_C_FLAGS_INIT
    "${FK_TARGET_CPU_FLAGS} -ffunction-sections -fdata-sections -fstack-usage -fcallgraph-info=su")
set(CMAKE_ASM_FLAGS_INIT "${FK_TARGET_CPU_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${FK_TARGET_CPU_FLAGS} -Wl,--gc-sections")
set(CMAKE_C_FLAGS_RELEASE_INIT "-O2")
set(CMAKE_C_FLAGS_RELWITHDEBINFO_INIT "-O2 -g")
set(CMAKE_C_FLAGS_MINSIZEREL_INIT "-Os")
set(CMAKE_C_FLAGS_DEBUG_INIT "-Og -g")

# Libraries and headers come from the cross toolchain only.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
