/* SPDX-License-Identifier: Apache-2.0 */
/*
 * m33_files.c - the file services the unit tests and the test port use on
 * the board: the fileio.h loops over newlib's semihosted files (they are
 * the host's files: QEMU opens them), the tests' random bytes, and the
 * scratch names of mkdtemp and mkstemp.
 *
 * Random bytes come from a test generator (xoshiro256**, not for keys
 * outside tests) seeded once per run from the host's clock through
 * semihosting; the seed is printed, and fk_m33_seed repeats a run.
 *
 * system() runs the command on the host through semihosting's SYS_SYSTEM
 * (newlib's is built without one) and returns the host's wait status.
 * mkdtemp, mkdir and rmdir run the host's mkdir and rmdir that way (newlib's
 * mkdtemp needs stat() of a directory, which semihosting cannot answer,
 * and it has no rmdir); mkstemp creates a file that did not exist. timegm
 * and clock_gettime are what newlib lacks of the tests' C library.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "m33_libc.h"
#include "m33_port.h"
#include "util.h"

#define SH_SYS_CLOCK 0x10u
#define SH_SYS_TIME 0x11u
#define SH_SYS_SYSTEM 0x12u
#define SUFFIX_LEN 6u

static struct {
    int seeded;
    uint64_t s[4];
} rng;

static uintptr_t semihost(uintptr_t op, const void *arg)
{
    register uintptr_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next64(void)
{
    const uint64_t result = rotl(rng.s[1] * 5u, 7) * 9u;
    const uint64_t t = rng.s[1] << 17;
    rng.s[2] ^= rng.s[0];
    rng.s[3] ^= rng.s[1];
    rng.s[1] ^= rng.s[2];
    rng.s[0] ^= rng.s[3];
    rng.s[2] ^= t;
    rng.s[3] = rotl(rng.s[3], 45);
    return result;
}

void fk_m33_seed(uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) rng.s[i] = splitmix(&x);
    rng.seeded = 1;
    printf("m33: test random seed %llu\n", (unsigned long long)seed);
}

static void seed_once(void)
{
    if (rng.seeded) return;
    /* Seconds since the epoch and centiseconds since QEMU started. */
    const uint64_t t = (uint64_t)semihost(SH_SYS_TIME, NULL);
    const uint64_t c = (uint64_t)semihost(SH_SYS_CLOCK, NULL);
    fk_m33_seed((t << 20) ^ c);
}

int fk_file_random(void *buf, size_t len)
{
    uint8_t *p = (uint8_t *)buf;
    seed_once();
    while (len > 0) {
        const uint64_t v = next64();
        const size_t n = len < sizeof v ? len : sizeof v;
        memcpy(p, &v, n);
        p += n;
        len -= n;
    }
    return 0;
}

int fk_file_read_all(int fd, void *buf, size_t len)
{
    uint8_t *p = (uint8_t *)buf;
    size_t done = 0;
    if (lseek(fd, 0, SEEK_SET) != 0) return -1;
    while (done < len) {
        const ssize_t n = read(fd, p + done, len - done);
        if (n <= 0) return -1;
        done += (size_t)n;
    }
    return 0;
}

int fk_file_write_at(int fd, const void *buf, size_t len, off_t off)
{
    const uint8_t *p = (const uint8_t *)buf;
    size_t done = 0;
    if (lseek(fd, off, SEEK_SET) != off) return -1;
    while (done < len) {
        const ssize_t n = write(fd, p + done, len - done);
        if (n <= 0) {
            errno = EIO;
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

int system(const char *cmd)
{
    struct {
        const char *cmd;
        uintptr_t len;
    } block = {cmd, cmd != NULL ? strlen(cmd) : 0u};
    if (cmd == NULL) return 1; /* the host has a shell */
    return (int)semihost(SH_SYS_SYSTEM, &block);
}

/* Replace the trailing XXXXXX of tmpl with random letters. */
static int fill_suffix(char *tmpl)
{
    static const char k_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    const size_t n = strlen(tmpl);
    uint8_t r[SUFFIX_LEN];
    if (n < SUFFIX_LEN || strcmp(tmpl + n - SUFFIX_LEN, "XXXXXX") != 0) {
        errno = EINVAL;
        return -1;
    }
    fk_file_random(r, sizeof r);
    for (size_t i = 0; i < SUFFIX_LEN; i++) tmpl[n - SUFFIX_LEN + i] = k_chars[r[i] % 36u];
    return 0;
}

char *mkdtemp(char *tmpl)
{
    char cmd[300];
    if (fill_suffix(tmpl) != 0) return NULL;
    /* The name is ours (letters, digits, the caller's prefix): no quoting
     * beyond the single quotes is needed; mkdir fails if it exists. */
    if (strchr(tmpl, '\'') != NULL) {
        errno = EINVAL;
        return NULL;
    }
    snprintf(cmd, sizeof cmd, "mkdir -m 700 '%s'", tmpl);
    if (system(cmd) != 0) {
        errno = EEXIST;
        return NULL;
    }
    return tmpl;
}

int mkstemp(char *tmpl)
{
    if (fill_suffix(tmpl) != 0) return -1;
    return open(tmpl, O_RDWR | O_CREAT | O_EXCL, 0600);
}

/* Run `tool 'path'` on the host: 0, or -1 with errno set. */
static int host_path_command(const char *tool, const char *path)
{
    char cmd[300];
    if (strchr(path, '\'') != NULL ||
        snprintf(cmd, sizeof cmd, "%s '%s'", tool, path) >= (int)sizeof cmd) {
        errno = EINVAL;
        return -1;
    }
    if (system(cmd) != 0) {
        errno = EIO;
        return -1;
    }
    return 0;
}

int rmdir(const char *path) { return host_path_command("rmdir", path); }

int mkdir(const char *path, mode_t mode)
{
    (void)mode; /* the host's mkdir -m 700: test directories are private */
    return host_path_command("mkdir -m 700", path);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2u;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153u * (m > 2u ? m - 3u : m + 9u) + 2u) / 5u + d - 1u;
    const unsigned doe = yoe * 365u + yoe / 4u - yoe / 100u + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

time_t timegm(struct tm *tm)
{
    int64_t year = (int64_t)tm->tm_year + 1900;
    int64_t mon = tm->tm_mon;
    year += mon / 12;
    mon %= 12;
    if (mon < 0) {
        mon += 12;
        year--;
    }
    const int64_t days = days_from_civil(year, (unsigned)mon + 1u, 1u) + tm->tm_mday - 1;
    const int64_t secs = days * 86400 + (int64_t)tm->tm_hour * 3600 + (int64_t)tm->tm_min * 60 +
                         tm->tm_sec;
    struct tm *norm = gmtime(&(time_t){(time_t)secs});
    if (norm != NULL) *tm = *norm;
    return (time_t)secs;
}

int clock_gettime(clockid_t clock_id, struct timespec *tp)
{
    if (clock_id == CLOCK_REALTIME) {
        tp->tv_sec = (time_t)semihost(SH_SYS_TIME, NULL);
        tp->tv_nsec = 0;
        return 0;
    }
    if (clock_id != CLOCK_MONOTONIC) {
        errno = EINVAL;
        return -1;
    }
    const uint32_t cs = (uint32_t)semihost(SH_SYS_CLOCK, NULL);
    tp->tv_sec = (time_t)(cs / 100u);
    tp->tv_nsec = (long)(cs % 100u) * 10000000L;
    return 0;
}
