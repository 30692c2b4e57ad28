/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmocka_config.h - what cmocka 1.1.5's src/cmocka.c may use of newlib on
 * the test board (its build normally finds this out on the host). No
 * clock: test times are not measured. newlib's signal() exists but no
 * signal is ever raised by a fault: a crash ends the run through the
 * board's fault handler.
 */
#ifndef FUSEKEY_M33_CMOCKA_CONFIG_H
#define FUSEKEY_M33_CMOCKA_CONFIG_H

#define HAVE_INTTYPES_H 1
#define HAVE_STRINGS_H 1
#define HAVE_SETJMP_H 1
#define HAVE_SIGNAL_H 1
#define HAVE_STDARG_H 1
#define HAVE_STDDEF_H 1
#define HAVE_STDINT_H 1
#define HAVE_STDIO_H 1
#define HAVE_STDLIB_H 1
#define HAVE_STRING_H 1
#define HAVE_CALLOC 1
#define HAVE_EXIT 1
#define HAVE_FPRINTF 1
#define HAVE_FREE 1
#define HAVE_LONGJMP 1
#define HAVE_MALLOC 1
#define HAVE_MEMCPY 1
#define HAVE_MEMSET 1
#define HAVE_PRINTF 1
#define HAVE_SETJMP 1
#define HAVE_STRCMP 1
#define HAVE_SNPRINTF 1
#define HAVE_VSNPRINTF 1

#endif /* FUSEKEY_M33_CMOCKA_CONFIG_H */
