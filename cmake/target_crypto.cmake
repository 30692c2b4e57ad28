# SPDX-License-Identifier: Apache-2.0
# The crypto libraries of the Cortex-M33 build, from Debian source packages
# that tools/fetch-source.sh fetches with apt and unpacks into FK_DEBIAN_SRC
# (docs/crypto.md, "Target build"):
#   fk_target_mbedcrypto  mbedTLS 2.28 (source package mbedtls) with
#                         core/crypto/target/mbedtls_target_config.h
#   fk_arena              the crypto arena mbedTLS allocates from
# It sets MBEDTLS_INCLUDE_DIR and MBEDCRYPTO_LIBRARY, which the host build
# finds in the system, so that core/crypto builds unchanged.
set(FK_DEBIAN_SRC "${PROJECT_SOURCE_DIR}/build/debian-src" CACHE PATH
    "Where tools/fetch-source.sh unpacks Debian source packages")
# 32 KiB: about twice the worst high-water mark test_arena measures
# (RSA-4096 signature, 14.1 KiB), for fragmentation and curve groups kept warm.
set(FK_CRYPTO_ARENA_SIZE 32768 CACHE STRING "Bytes of the crypto arena (multiple of 8)")

# Fetch (or find in the cache, silently) every source package the target uses.
function(fk_debian_source)
  execute_process(COMMAND bash ${PROJECT_SOURCE_DIR}/tools/fetch-source.sh -d ${FK_DEBIAN_SRC}
                          ${ARGN}
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "tools/fetch-source.sh ${ARGN} failed (exit ${rc}); "
                        "tools/deps.sh --firmware installs what it needs")
  endif()
endfunction()

fk_debian_source(mbedtls)
set(FK_MBEDTLS_SRC ${FK_DEBIAN_SRC}/mbedtls)
if(NOT EXISTS ${FK_MBEDTLS_SRC}/include/mbedtls/version.h)
  message(FATAL_ERROR "${FK_MBEDTLS_SRC} is not an mbedTLS source tree")
endif()
file(STRINGS ${FK_MBEDTLS_SRC}/include/mbedtls/version.h _fk_mbedtls_version
     REGEX "#define MBEDTLS_VERSION_STRING ")
if(NOT _fk_mbedtls_version MATCHES "\"2\\.28\\.")
  message(FATAL_ERROR "the target configuration is written for mbedTLS 2.28, found: "
                      "${_fk_mbedtls_version}")
endif()

# The arena: our code, no mbedTLS header (core/crypto/arena.h).
add_library(fk_arena STATIC ${PROJECT_SOURCE_DIR}/core/crypto/arena.c)
target_include_directories(fk_arena PUBLIC ${PROJECT_SOURCE_DIR}/core)
target_compile_definitions(fk_arena PRIVATE FK_CRYPTO_ARENA_SIZE=${FK_CRYPTO_ARENA_SIZE}u)
target_link_libraries(fk_arena PUBLIC fk_util)

# Exactly the library files the configuration needs (see its header).
set(_fk_mbedtls_files
  aes asn1parse asn1write bignum ccm chacha20 chachapoly cipher cipher_wrap cmac
  constant_time ecdh ecdsa ecp ecp_curves gcm hkdf hmac_drbg md oid pkcs5 platform
  platform_util poly1305 rsa rsa_internal sha1 sha256 sha512)
list(TRANSFORM _fk_mbedtls_files PREPEND ${FK_MBEDTLS_SRC}/library/)
list(TRANSFORM _fk_mbedtls_files APPEND .c)

add_library(fk_target_mbedcrypto STATIC ${_fk_mbedtls_files})
target_include_directories(fk_target_mbedcrypto SYSTEM PUBLIC
  ${FK_MBEDTLS_SRC}/include ${PROJECT_SOURCE_DIR}/core/crypto/target)
target_compile_definitions(fk_target_mbedcrypto PUBLIC
  "MBEDTLS_CONFIG_FILE=\"mbedtls_target_config.h\"")
# Not our code: its own warnings are not ours to fix (the headers are
# included as system headers by our code for the same reason).
target_compile_options(fk_target_mbedcrypto PRIVATE -w)
target_link_libraries(fk_target_mbedcrypto PUBLIC fk_arena)

set(MBEDTLS_INCLUDE_DIR ${FK_MBEDTLS_SRC}/include)
set(MBEDCRYPTO_LIBRARY fk_target_mbedcrypto)
