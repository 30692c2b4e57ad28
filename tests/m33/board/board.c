/* SPDX-License-Identifier: Apache-2.0 */
/*
 * board.c - test programs on QEMU's mps2-an505 (Cortex-M33): the vector
 * table, the reset code, the C library's start (newlib with librdimon:
 * printf and exit over semihosting), the heap, and fault reports.
 *
 * Startup replaces newlib's crt0, whose stack comes from the debugger's
 * HEAPINFO answer (not this board's RAM): reset enables the FPU, sets the
 * stack limit, copies .data, zeroes .bss, opens the semihosting handles,
 * runs the constructors, reads argv from the semihosting command line
 * (QEMU's -append), and calls exit(main(argc, argv)); exit's status is
 * QEMU's exit status (SYS_EXIT_EXTENDED).
 *
 * A fault prints the exception, CFSR, HFSR, the faulting PC and LR, and
 * ends QEMU with status FK_M33_FAULT_STATUS.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FK_M33_FAULT_STATUS 70
#define MAX_ARGS 16
#define CMDLINE_CAP 256

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)
#define SCB_HFSR (*(volatile uint32_t *)0xE000ED2Cu)
#define SCB_MMFAR (*(volatile uint32_t *)0xE000ED34u)
#define SCB_BFAR (*(volatile uint32_t *)0xE000ED38u)
#define SCB_ICSR (*(volatile uint32_t *)0xE000ED04u)
#define CPACR_CP10_CP11_FULL 0x00F00000u

#define SH_SYS_WRITE0 0x04u
#define SH_SYS_GET_CMDLINE 0x15u
#define SH_SYS_EXIT_EXTENDED 0x20u
#define SH_ADP_STOPPED_APPLICATION_EXIT 0x20026u

extern uint32_t __data_load__[], __data_start__[], __data_end__[];
extern uint32_t __bss_start__[], __bss_end__[];
extern uint32_t __stack[], __stack_limit[];
extern char __heap_start[], __heap_end[];

extern void initialise_monitor_handles(void);
extern void __libc_init_array(void);
extern int main(int argc, char **argv);

void fk_m33_reset(void) __attribute__((noreturn));
void fk_m33_fault(void) __attribute__((naked, noreturn));
void fk_m33_fault_report(const uint32_t *frame, uint32_t exc_return) __attribute__((noreturn));

/* One semihosting call (the Arm-compatible BKPT 0xAB interface). */
static uintptr_t semihost(uintptr_t op, const void *arg)
{
    register uintptr_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static void sh_puts(const char *s) { semihost(SH_SYS_WRITE0, s); }

static void __attribute__((noreturn)) sh_exit(uint32_t status)
{
    const uintptr_t block[2] = {SH_ADP_STOPPED_APPLICATION_EXIT, status};
    semihost(SH_SYS_EXIT_EXTENDED, block);
    for (;;) {
    }
}

static void sh_hex(const char *label, uint32_t v)
{
    char buf[24];
    size_t n = 0;
    while (*label && n < 10) buf[n++] = *label++;
    buf[n++] = '=';
    buf[n++] = '0';
    buf[n++] = 'x';
    for (int i = 7; i >= 0; i--) buf[n++] = "0123456789abcdef"[(v >> (4 * i)) & 0xFu];
    buf[n++] = ' ';
    buf[n] = '\0';
    sh_puts(buf);
}

/* The vector table: what QEMU's reset reads at VTOR = 0x10000000. */
typedef void (*vector_t)(void);
__attribute__((section(".vectors"), used)) static const vector_t k_vectors[16 + 32] = {
    [0] = (vector_t)(uintptr_t)__stack,
    [1] = fk_m33_reset,
    [2 ... 16 + 31] = fk_m33_fault,
};

/* newlib calls these around the constructors; crti/crtn are not linked. */
void _init(void) {}
void _fini(void) {}

/* Split QEMU's command line (program name first) into argv. */
static int read_args(char **argv)
{
    static char line[CMDLINE_CAP];
    struct {
        char *buf;
        uintptr_t len;
    } block = {line, sizeof(line) - 1u};
    int argc = 0;
    char *p = line;

    if (semihost(SH_SYS_GET_CMDLINE, &block) != 0) line[0] = '\0';
    line[sizeof(line) - 1u] = '\0';
    while (*p != '\0' && argc < MAX_ARGS) {
        while (*p == ' ') *p++ = '\0';
        if (*p == '\0') break;
        argv[argc++] = p;
        while (*p != '\0' && *p != ' ') p++;
    }
    if (argc == 0) argv[argc++] = "test";
    argv[argc] = NULL;
    return argc;
}

void fk_m33_reset(void)
{
    static char *argv[MAX_ARGS + 1];
    int argc;

    SCB_CPACR |= CPACR_CP10_CP11_FULL;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    __asm__ volatile("msr msplim, %0" ::"r"(__stack_limit));
    for (uint32_t *s = __data_load__, *d = __data_start__; d < __data_end__;) *d++ = *s++;
    for (uint32_t *d = __bss_start__; d < __bss_end__;) *d++ = 0;
    initialise_monitor_handles();
    __libc_init_array();
    argc = read_args(argv);
    exit(main(argc, argv));
}

/* The C library's heap: all of PSRAM. */
void *_sbrk(ptrdiff_t incr)
{
    static char *brk = __heap_start;
    char *prev = brk;
    if (incr < 0 ? brk + incr < __heap_start : incr > __heap_end - brk) return (void *)-1;
    brk += incr;
    return prev;
}

void fk_m33_fault(void)
{
    __asm__ volatile(
        "movs r0, #0\n\t"
        "msr msplim, r0\n\t" /* a stack overflow must not fault again here */
        "mov r1, lr\n\t"
        "tst r1, #4\n\t"
        "ite eq\n\t"
        "mrseq r0, msp\n\t"
        "mrsne r0, psp\n\t"
        "b fk_m33_fault_report\n\t");
    __builtin_unreachable();
}

void fk_m33_fault_report(const uint32_t *frame, uint32_t exc_return)
{
    const uint32_t exc = SCB_ICSR & 0x1FFu;
    sh_puts("\n*** fault: ");
    sh_hex("exception", exc);
    sh_hex("CFSR", SCB_CFSR);
    sh_hex("HFSR", SCB_HFSR);
    sh_hex("MMFAR", SCB_MMFAR);
    sh_hex("BFAR", SCB_BFAR);
    sh_hex("EXC_RETURN", exc_return);
    sh_hex("PC", frame[6]);
    sh_hex("LR", frame[5]);
    sh_puts("\n");
    sh_exit(FK_M33_FAULT_STATUS);
}
