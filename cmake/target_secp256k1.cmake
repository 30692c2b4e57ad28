# SPDX-License-Identifier: Apache-2.0
# libsecp256k1 0.2.0 for the Cortex-M33 (ECDSA and ECDH on secp256k1 for
# core/crypto/pk_k1.c), from Debian's libsecp256k1 source package unpacked
# by tools/fetch-source.sh (docs/crypto.md, "Target build"):
#   fk_target_secp256k1  the library with its ECDH module, the portable C
#                        field and scalar code for 32-bit targets (10x26
#                        limbs, 8x32 scalars), and its precomputed tables at
#                        the sizes chosen below; no assembly
# Sets SECP256K1_INCLUDE_DIR and SECP256K1_LIBRARY, which the host build
# finds in the system.
fk_debian_source(libsecp256k1)
set(FK_SECP256K1_SRC ${FK_DEBIAN_SRC}/libsecp256k1)
if(NOT EXISTS ${FK_SECP256K1_SRC}/include/secp256k1_preallocated.h)
  message(FATAL_ERROR "${FK_SECP256K1_SRC} is not a libsecp256k1 source tree")
endif()
if(NOT EXISTS ${FK_SECP256K1_SRC}/src/precomputed_ecmult_gen.c)
  message(FATAL_ERROR "the target build is written for libsecp256k1 0.2 "
                      "(src/precomputed_ecmult_gen.c), not found in ${FK_SECP256K1_SRC}")
endif()

# The tables, in flash (docs/crypto.md):
#  ECMULT_GEN_PREC_BITS: the signing and key-generation table, 256/b rows of
#    2^b points (64 bytes each): 2 -> 32 KiB, 4 -> 64 KiB, 8 -> 512 KiB.
#  ECMULT_WINDOW_SIZE: the verification tables for G and 2^128 G, 2 x 2^(w-2)
#    points: 6 -> 2 KiB, 8 -> 8 KiB, 15 (upstream's default) -> 1 MiB.
set(FK_SECP256K1_GEN_PREC_BITS 2 CACHE STRING "libsecp256k1's ECMULT_GEN_PREC_BITS (2, 4 or 8)")
set(FK_SECP256K1_WINDOW_SIZE 6 CACHE STRING "libsecp256k1's ECMULT_WINDOW_SIZE (2 to 15)")

add_library(fk_target_secp256k1 STATIC
  ${FK_SECP256K1_SRC}/src/secp256k1.c
  ${FK_SECP256K1_SRC}/src/precomputed_ecmult.c
  ${FK_SECP256K1_SRC}/src/precomputed_ecmult_gen.c)
target_include_directories(fk_target_secp256k1 SYSTEM PUBLIC ${FK_SECP256K1_SRC}/include)
target_include_directories(fk_target_secp256k1 PRIVATE ${FK_SECP256K1_SRC}/src)
# The default callbacks (a bad argument, a broken invariant) are pk_k1.c's:
# they stop the device through fk_hal_panic instead of printing and aborting.
target_compile_definitions(fk_target_secp256k1 PRIVATE
  ENABLE_MODULE_ECDH=1
  USE_EXTERNAL_DEFAULT_CALLBACKS=1
  ECMULT_GEN_PREC_BITS=${FK_SECP256K1_GEN_PREC_BITS}
  ECMULT_WINDOW_SIZE=${FK_SECP256K1_WINDOW_SIZE})
# Not our code (its own build uses C89 with extensions and its own warnings).
target_compile_options(fk_target_secp256k1 PRIVATE -w -Os)

set(SECP256K1_INCLUDE_DIR ${FK_SECP256K1_SRC}/include)
set(SECP256K1_LIBRARY fk_target_secp256k1)
