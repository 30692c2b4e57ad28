# SPDX-License-Identifier: Apache-2.0
# libdecaf 1.0 for the Cortex-M33 (EdDSA Ed25519/Ed448 and X448 for
# core/crypto/ed.c), from Debian's libdecaf source package unpacked by
# tools/fetch-source.sh (docs/crypto.md, "Target build"):
#   fk_target_decaf  the portable 32-bit field code (arch_32, no assembly),
#                    the two curves, SHA-512 and SHAKE
# libdecaf generates most of its sources from templates with python3; they
# are generated here into the build directory, once, at configure time.
# Sets DECAF_INCLUDE_DIR and DECAF_LIBRARY, which the host build finds in
# the system.
fk_debian_source(libdecaf)
set(FK_DECAF_SRC ${FK_DEBIAN_SRC}/libdecaf/src)
set(FK_DECAF_GEN ${CMAKE_BINARY_DIR}/decaf-generated)
if(NOT EXISTS ${FK_DECAF_SRC}/generator/template.py)
  message(FATAL_ERROR "${FK_DECAF_SRC} is not a libdecaf source tree")
endif()
find_package(Python3 REQUIRED COMPONENTS Interpreter)

# Fill the template `in` (relative to the source's src/) into `out`
# (relative to FK_DECAF_GEN) with template.py --per `per` [--item `item`].
function(fk_decaf_generate per item in out)
  set(dst ${FK_DECAF_GEN}/${out})
  if(EXISTS ${dst})
    return()
  endif()
  set(item_args)
  if(item)
    set(item_args --item=${item})
  endif()
  # The header guard as libdecaf's own build names it (decaf/ed255.h, ...).
  string(REGEX REPLACE "^(include|c)/" "" guard ${out})
  execute_process(
    COMMAND ${Python3_EXECUTABLE} ${FK_DECAF_SRC}/generator/template.py --per=${per} ${item_args}
            --guard=${guard} -o ${dst} ${FK_DECAF_SRC}/${in}
    WORKING_DIRECTORY ${FK_DECAF_SRC}/generator
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    file(REMOVE ${dst})
    message(FATAL_ERROR "libdecaf: generating ${out} from ${in} failed")
  endif()
endfunction()

fk_decaf_generate(global "" public_include/decaf.tmpl.h include/decaf.h)
foreach(h common.h sha512.h shake.h)
  configure_file(${FK_DECAF_SRC}/public_include/decaf/${h} ${FK_DECAF_GEN}/include/decaf/${h}
                 COPYONLY)
endforeach()

# One object library per curve: each has its own field headers of the same
# names (f_field.h, f_impl.h), so their include paths must not mix.
set(_fk_decaf_objects)
foreach(pair "curve25519;p25519;255" "ed448goldilocks;p448;448")
  list(GET pair 0 curve)
  list(GET pair 1 field)
  list(GET pair 2 bits)
  fk_decaf_generate(curve ${curve} per_curve/point.tmpl.h include/decaf/point_${bits}.h)
  fk_decaf_generate(curve ${curve} per_curve/eddsa.tmpl.h include/decaf/ed${bits}.h)
  fk_decaf_generate(field ${field} per_field/f_field.tmpl.h c/${field}/f_field.h)
  fk_decaf_generate(field ${field} per_field/f_generic.tmpl.c c/${field}/f_generic.c)
  foreach(part decaf elligator scalar eddsa)
    fk_decaf_generate(curve ${curve} per_curve/${part}.tmpl.c c/${curve}/${part}.c)
  endforeach()
  add_library(fk_decaf_${bits} OBJECT
    ${FK_DECAF_SRC}/${field}/arch_32/f_impl.c
    ${FK_DECAF_SRC}/${field}/f_arithmetic.c
    ${FK_DECAF_GEN}/c/${field}/f_generic.c
    ${FK_DECAF_GEN}/c/${curve}/decaf.c
    ${FK_DECAF_GEN}/c/${curve}/elligator.c
    ${FK_DECAF_GEN}/c/${curve}/scalar.c
    ${FK_DECAF_GEN}/c/${curve}/eddsa.c
    ${FK_DECAF_SRC}/${curve}/decaf_tables.c)
  target_include_directories(fk_decaf_${bits} PRIVATE
    ${FK_DECAF_SRC}/${field} ${FK_DECAF_GEN}/c/${field} ${FK_DECAF_SRC}/${field}/arch_32)
  list(APPEND _fk_decaf_objects $<TARGET_OBJECTS:fk_decaf_${bits}>)
endforeach()

add_library(fk_decaf_common OBJECT
  ${FK_DECAF_SRC}/utils.c ${FK_DECAF_SRC}/shake.c ${FK_DECAF_SRC}/sha512.c)

add_library(fk_target_decaf STATIC ${_fk_decaf_objects} $<TARGET_OBJECTS:fk_decaf_common>)
target_include_directories(fk_target_decaf SYSTEM INTERFACE ${FK_DECAF_GEN}/include)
# Upstream's headers mark the non-keypair signing API deprecated with a
# two-argument attribute GCC rejects (Debian's patch, missing from the
# archive, fixes the comma); nothing here uses that API, so leave the marks out.
target_compile_definitions(fk_target_decaf INTERFACE DECAF_EDDSA_NON_KEYPAIR_API_IS_DEPRECATED=0)
foreach(t fk_decaf_255 fk_decaf_448 fk_decaf_common)
  target_compile_definitions(${t} PRIVATE DECAF_EDDSA_NON_KEYPAIR_API_IS_DEPRECATED=0)
  target_include_directories(${t} PRIVATE ${FK_DECAF_GEN}/include ${FK_DECAF_SRC}/include
                             ${FK_DECAF_SRC} ${FK_DECAF_SRC}/include/arch_32)
  # Not our code (its own build uses C99 and hides its internal symbols).
  target_compile_options(${t} PRIVATE -w -fvisibility=hidden -include
                         ${PROJECT_SOURCE_DIR}/core/crypto/target/decaf_target_endian.h)
  set_target_properties(${t} PROPERTIES C_STANDARD 99 C_EXTENSIONS ON)
endforeach()

set(DECAF_INCLUDE_DIR ${FK_DECAF_GEN}/include)
set(DECAF_LIBRARY fk_target_decaf)
