/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_board.c - the test board itself (board/): the FPU is on, argv
 * arrives, and faults are reported and end the run with status 70.
 *
 *   test_board fpu     single-precision arithmetic (the FPU enabled by
 *                      reset) gives the exact expected results: exit 0
 *   test_board udf     an undefined instruction: UsageFault UNDEFINSTR
 *   test_board stack   unbounded recursion: MSPLIM stops it (STKOF)
 *
 * The two fault modes are registered to expect status 70 and the fault
 * report's CFSR bit (tests/m33/CMakeLists.txt).
 */
#include <stdio.h>
#include <string.h>

static volatile float g_a = 1.5f, g_b = 2.25f;
static volatile unsigned g_bottom = 0xFFFFFFFFu; /* never reached: 256 bytes a level */

static int fpu(void)
{
    const float p = g_a * g_b, s = g_a + g_b, q = g_b / g_a;
    printf("fpu: %.4f %.4f %.4f\n", (double)p, (double)s, (double)q);
    return p == 3.375f && s == 3.75f && q == 1.5f ? 0 : 1;
}

static unsigned __attribute__((noinline)) recurse(volatile unsigned depth)
{
    volatile unsigned char pad[256];
    pad[0] = (unsigned char)depth;
    if (depth == g_bottom) return 0;
    return recurse(depth + 1u) + pad[0];
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: test_board fpu|udf|stack\n");
        return 2;
    }
    if (strcmp(argv[1], "fpu") == 0) return fpu();
    if (strcmp(argv[1], "udf") == 0) {
        __asm__ volatile("udf #0");
        return 0;
    }
    if (strcmp(argv[1], "stack") == 0) return (int)recurse(0);
    printf("unknown mode %s\n", argv[1]);
    return 2;
}
