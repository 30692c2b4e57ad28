# SPDX-License-Identifier: Apache-2.0
# The firmware image's UF2 and its checks, in the cross build (after
# ports/rp2350 defined the target fusekey_firmware, which writes fusekey.elf
# and fusekey.map):
#   fusekey.uf2     written by the host's `fusekey image uf2` (the project's
#                   boot/ code), part of the default build;
#   firmware_size   flash and RAM per module from the map file, against
#                   tools/fw/budget.conf;
#   firmware_stack  the worst-case stack of the thread and interrupt paths
#                   from GCC's call graphs, against tools/fw/stack.conf;
#   firmware_heap   no C library heap in the image: only the crypto arena;
#   firmware_image  the UF2 as a user handles it: it boots on a blank chip,
#                   and signed with `fusekey seal --sign`, on a secure-boot
#                   chip (tests/firmware/test_image.py).
# FK_HOST_BUILD names the host build directory whose fusekey and fusekey-sim
# do the host side (`make firmware` passes it).
set(FK_HOST_BUILD "" CACHE PATH "Host build directory holding tools/fusekey/fusekey")
if(NOT FK_HOST_BUILD)
  message(FATAL_ERROR "FK_HOST_BUILD is not set: configure the cross build with "
                      "-DFK_HOST_BUILD=<host build dir> (make firmware does)")
endif()
set(FK_HOST_TOOL ${FK_HOST_BUILD}/tools/fusekey/fusekey)
set(FK_HOST_SIM ${FK_HOST_BUILD}/ports/host/fusekey-sim)
find_program(FK_PYTHON3 NAMES python3 REQUIRED)

set(FK_FIRMWARE_DIR $<TARGET_FILE_DIR:fusekey_firmware>)
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/fusekey.uf2
  COMMAND ${FK_HOST_TOOL} image uf2 $<TARGET_FILE:fusekey_firmware> ${CMAKE_BINARY_DIR}/fusekey.uf2
  DEPENDS fusekey_firmware ${FK_HOST_TOOL}
  COMMENT "UF2 of the firmware image"
  VERBATIM)
add_custom_target(fusekey_uf2 ALL DEPENDS ${CMAKE_BINARY_DIR}/fusekey.uf2)

add_test(NAME firmware_size
  COMMAND ${FK_PYTHON3} ${PROJECT_SOURCE_DIR}/tools/fw/size_report.py
          ${FK_FIRMWARE_DIR}/fusekey.map ${PROJECT_SOURCE_DIR}/tools/fw/budget.conf --top 20
          --elf $<TARGET_FILE:fusekey_firmware>)
add_test(NAME firmware_stack
  COMMAND ${FK_PYTHON3} ${PROJECT_SOURCE_DIR}/tools/fw/stack_report.py
          ${PROJECT_SOURCE_DIR}/tools/fw/stack.conf ${CMAKE_BINARY_DIR})
add_test(NAME firmware_heap
  COMMAND sh ${PROJECT_SOURCE_DIR}/tools/fw/check_heap.sh $<TARGET_FILE:fusekey_firmware>
          ${CMAKE_NM})
add_test(NAME firmware_image
  COMMAND ${FK_PYTHON3} ${PROJECT_SOURCE_DIR}/tests/firmware/test_image.py
          ${FK_HOST_TOOL} ${FK_HOST_SIM} $<TARGET_FILE:fusekey_firmware> ${CMAKE_BINARY_DIR}/fusekey.uf2)
set_tests_properties(firmware_size firmware_stack firmware_heap firmware_image
                     PROPERTIES LABELS firmware TIMEOUT 300)
