# SPDX-License-Identifier: Apache-2.0
# fk_add_unit_test(NAME SOURCES ... LIBS ... [LABELS ...] [TIMEOUT s] [ARGS ...])
# A cmocka test program registered with ctest.
find_library(CMOCKA_LIBRARY cmocka REQUIRED)
find_path(CMOCKA_INCLUDE_DIR cmocka.h REQUIRED)

function(fk_add_unit_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS;ARGS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_include_directories(${name} PRIVATE ${CMOCKA_INCLUDE_DIR} ${PROJECT_SOURCE_DIR}/core
                             ${PROJECT_SOURCE_DIR}/tests/support)
  target_link_libraries(${name} PRIVATE ${T_LIBS} ${CMOCKA_LIBRARY})
  # Tests are host programs: POSIX and GNU interfaces are fine here.
  target_compile_definitions(${name} PRIVATE _GNU_SOURCE)
  add_test(NAME ${name} COMMAND ${name} ${T_ARGS} WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
                       ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=stdout")
endfunction()
