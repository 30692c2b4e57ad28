/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tmpdir.h - a private scratch directory per test (under the working
 * directory), removed with its files afterwards.
 */
#ifndef FUSEKEY_TEST_TMPDIR_H
#define FUSEKEY_TEST_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TMPDIR_CAP 64u
#define TMPPATH_CAP 512u

typedef struct {
    char dir[TMPDIR_CAP];
} tmpdir_t;

/* Create a fresh directory; aborts the test program when it cannot. */
static inline void tmpdir_make(tmpdir_t *t)
{
    strcpy(t->dir, "fk-host-test-XXXXXX");
    if (mkdtemp(t->dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
}

/* dir/name into out (TMPPATH_CAP bytes); aborts when it does not fit. */
static inline const char *tmpdir_path(const tmpdir_t *t, const char *name, char *out)
{
    const int n = snprintf(out, TMPPATH_CAP, "%s/%s", t->dir, name);
    if (n < 0 || n >= (int)TMPPATH_CAP) abort();
    return out;
}

/* Number of entries in the directory (without . and ..). */
static inline int tmpdir_count(const tmpdir_t *t)
{
    DIR *d = opendir(t->dir);
    if (d == NULL) return -1;
    int n = 0;
    for (const struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    }
    closedir(d);
    return n;
}

/* Remove the directory and the files in it. */
static inline void tmpdir_remove(tmpdir_t *t)
{
    DIR *d = opendir(t->dir);
    if (d != NULL) {
        char path[TMPPATH_CAP];
        for (const struct dirent *e; (e = readdir(d)) != NULL;) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            unlink(tmpdir_path(t, e->d_name, path));
        }
        closedir(d);
    }
    rmdir(t->dir);
}

#endif /* FUSEKEY_TEST_TMPDIR_H */
