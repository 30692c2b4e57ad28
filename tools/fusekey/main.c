/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - the `fusekey` program: the library's defaults (standard streams,
 * the kernel's random source, PC/SC) around fk_tool_main() (tool.h).
 */
#include "tool.h"

int main(int argc, char **argv)
{
    fk_tool_t t;
    fk_tool_defaults(&t);
    return fk_tool_main(&t, argc, argv);
}
