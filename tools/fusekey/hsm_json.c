/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_json.c - the JSON document `fusekey hsm --json` prints: a small
 * writer that appends to a growing buffer, escapes strings as RFC 8259 says
 * and writes binary values as lower-case hex strings. Running out of memory
 * is remembered (oom) and the document is then not printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsm_tool.h"

#define JSON_GROW 1024u

/* Append n bytes. */
static void put(hj_t *j, const char *s, size_t n)
{
    if (j->oom) return;
    if (n > j->cap - j->len) {
        size_t cap = j->cap + n + JSON_GROW;
        char *b = realloc(j->buf, cap + 1u);
        if (b == NULL) {
            j->oom = true;
            return;
        }
        j->buf = b;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

static void puts_(hj_t *j, const char *s) { put(j, s, strlen(s)); }

/* A JSON string literal of s. */
static void quoted(hj_t *j, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    put(j, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        char esc[7];
        switch (*p) {
        case '"': puts_(j, "\\\""); break;
        case '\\': puts_(j, "\\\\"); break;
        case '\n': puts_(j, "\\n"); break;
        case '\r': puts_(j, "\\r"); break;
        case '\t': puts_(j, "\\t"); break;
        default:
            if (*p < 0x20u) {
                esc[0] = '\\';
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = hex[*p >> 4];
                esc[5] = hex[*p & 0x0Fu];
                put(j, esc, 6);
            } else {
                put(j, (const char *)p, 1);
            }
        }
    }
    put(j, "\"", 1);
}

/* The separator and key of the next member. */
static void member(hj_t *j, const char *key)
{
    if (j->depth > 0 && j->depth <= HJ_MAX_DEPTH) {
        if (!j->first[j->depth - 1]) put(j, ",", 1);
        j->first[j->depth - 1] = false;
    }
    if (key != NULL) {
        quoted(j, key);
        put(j, ":", 1);
    }
}

static void open_(hj_t *j, const char *key, const char *bracket)
{
    member(j, key);
    puts_(j, bracket);
    if (j->depth < HJ_MAX_DEPTH) j->first[j->depth] = true;
    j->depth++;
}

static void close_(hj_t *j, const char *bracket)
{
    if (j->depth > 0) j->depth--;
    puts_(j, bracket);
}

void hj_begin_object(hj_t *j, const char *key) { open_(j, key, "{"); }
void hj_end_object(hj_t *j) { close_(j, "}"); }
void hj_begin_array(hj_t *j, const char *key) { open_(j, key, "["); }
void hj_end_array(hj_t *j) { close_(j, "]"); }

void hj_string(hj_t *j, const char *key, const char *value)
{
    member(j, key);
    quoted(j, value != NULL ? value : "");
}

void hj_hex(hj_t *j, const char *key, const uint8_t *data, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    member(j, key);
    put(j, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        const char two[2] = {hex[data[i] >> 4], hex[data[i] & 0x0Fu]};
        put(j, two, 2);
    }
    put(j, "\"", 1);
}

void hj_uint(hj_t *j, const char *key, uint64_t value)
{
    char b[24];
    member(j, key);
    (void)snprintf(b, sizeof b, "%llu", (unsigned long long)value);
    puts_(j, b);
}

void hj_int(hj_t *j, const char *key, long long value)
{
    char b[24];
    member(j, key);
    (void)snprintf(b, sizeof b, "%lld", value);
    puts_(j, b);
}

void hj_bool(hj_t *j, const char *key, bool value)
{
    member(j, key);
    puts_(j, value ? "true" : "false");
}

void hj_null(hj_t *j, const char *key)
{
    member(j, key);
    puts_(j, "null");
}

void hj_free(hj_t *j)
{
    if (j->buf != NULL) {
        memset(j->buf, 0, j->cap);
        free(j->buf);
    }
    memset(j, 0, sizeof *j);
}
