/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json.c - the one thing the tool reads from a seal otp.json: the boot-key
 * fingerprint ("bootkey0", 32 numbers 0-255). A strict little JSON reader
 * (the whole text must be one valid JSON object) that also notes whether the
 * file carries "crit1" or "boot_flags1", which load-key never writes.
 */
#include <stdio.h>
#include <string.h>

#include "tool.h"

#define JSON_MAX_DEPTH 32
#define KEY_CAP 32u
#define BYTE_MAX_VALUE 255u
#define DECIMAL 10u

typedef struct json {
    const char *p;
    const char *end;
    int depth;
} json_t;

/* Skip JSON white space. */
static void skip_ws(json_t *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) {
        j->p++;
    }
}

/* Consume c (after white space) when it is next. */
static bool take(json_t *j, char c)
{
    skip_ws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return true;
    }
    return false;
}

/* A hex digit. */
static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string; its first KEY_CAP-1 plain bytes go to out (escapes as '?'). */
static bool string(json_t *j, char *out, size_t cap)
{
    size_t n = 0;
    if (!take(j, '"')) return false;
    while (j->p < j->end) {
        char c = *j->p++;
        if (c == '"') {
            if (out != NULL) out[n] = '\0';
            return true;
        }
        if ((unsigned char)c < 0x20u) return false;
        if (c == '\\') {
            if (j->p >= j->end) return false;
            const char e = *j->p++;
            if (e == 'u') {
                for (int k = 0; k < 4; k++) {
                    if (j->p >= j->end || !is_hex(*j->p)) return false;
                    j->p++;
                }
            } else if (strchr("\"\\/bfnrt", e) == NULL || e == '\0') {
                return false;
            }
            c = '?';
        }
        if (out != NULL && n + 1u < cap) out[n++] = c;
    }
    return false;
}

/* One or more decimal digits. */
static bool digits(json_t *j)
{
    const char *s = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
    return j->p > s;
}

/* A number; *small gets its value when it is a plain integer 0-255. */
static bool number(json_t *j, int *small)
{
    skip_ws(j);
    const char *s = j->p;
    bool plain = true;
    if (j->p < j->end && *j->p == '-') {
        j->p++;
        plain = false;
    }
    if (j->p < j->end && *j->p == '0') {
        j->p++;
    } else if (!digits(j)) {
        return false;
    }
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!digits(j)) return false;
        plain = false;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-')) j->p++;
        if (!digits(j)) return false;
        plain = false;
    }
    unsigned v = 0;
    for (const char *q = s; plain && q < j->p; q++) {
        v = v * DECIMAL + (unsigned)(*q - '0');
        if (v > BYTE_MAX_VALUE) plain = false;
    }
    if (small != NULL) *small = plain ? (int)v : -1;
    return true;
}

/* true, false or null. */
static bool literal(json_t *j, const char *word)
{
    const size_t n = strlen(word);
    skip_ws(j);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0) return false;
    j->p += n;
    return true;
}

static bool value(json_t *j);

/* An array of values. */
static bool array(json_t *j)
{
    if (!take(j, '[')) return false;
    if (take(j, ']')) return true;
    do {
        if (!value(j)) return false;
    } while (take(j, ','));
    return take(j, ']');
}

/* An object: string keys and values. */
static bool object(json_t *j)
{
    if (!take(j, '{')) return false;
    if (take(j, '}')) return true;
    do {
        if (!string(j, NULL, 0) || !take(j, ':') || !value(j)) return false;
    } while (take(j, ','));
    return take(j, '}');
}

/* Any JSON value (depth-limited). */
static bool value(json_t *j)
{
    skip_ws(j);
    if (j->p >= j->end || ++j->depth > JSON_MAX_DEPTH) return false;
    bool ok;
    switch (*j->p) {
    case '{':
        ok = object(j);
        break;
    case '[':
        ok = array(j);
        break;
    case '"':
        ok = string(j, NULL, 0);
        break;
    case 't':
        ok = literal(j, "true");
        break;
    case 'f':
        ok = literal(j, "false");
        break;
    case 'n':
        ok = literal(j, "null");
        break;
    default:
        ok = number(j, NULL);
        break;
    }
    j->depth--;
    return ok;
}

/* "bootkey0": exactly 32 integers 0-255. */
static bool fingerprint(json_t *j, uint8_t fp[FK_TOOL_KEY_LEN])
{
    if (!take(j, '[')) return false;
    for (unsigned i = 0; i < FK_TOOL_KEY_LEN; i++) {
        int v = -1;
        if ((i > 0 && !take(j, ',')) || !number(j, &v) || v < 0) return false;
        fp[i] = (uint8_t)v;
    }
    return take(j, ']');
}

/* -1 with the reason in err. */
static int fail(char *err, size_t cap, const char *why)
{
    if (err != NULL && cap > 0) (void)snprintf(err, cap, "%s", why);
    return -1;
}

int fk_tool_json_bootkey(const char *text, size_t len, uint8_t fp[FK_TOOL_KEY_LEN],
                         bool *has_crit1, bool *has_flags1, char *err, size_t err_cap)
{
    json_t j = {text, text + len, 0};
    bool found = false;
    *has_crit1 = false;
    *has_flags1 = false;
    if (!take(&j, '{')) return fail(err, err_cap, "not a JSON object");
    if (!take(&j, '}')) {
        do {
            char key[KEY_CAP];
            if (!string(&j, key, sizeof key) || !take(&j, ':')) {
                return fail(err, err_cap, "malformed JSON");
            }
            if (strcmp(key, "bootkey0") == 0) {
                if (found) return fail(err, err_cap, "bootkey0 given twice");
                if (!fingerprint(&j, fp)) {
                    return fail(err, err_cap, "bootkey0 must be an array of 32 numbers 0-255");
                }
                found = true;
                continue;
            }
            if (strcmp(key, "crit1") == 0) *has_crit1 = true;
            if (strcmp(key, "boot_flags1") == 0) *has_flags1 = true;
            if (!value(&j)) return fail(err, err_cap, "malformed JSON");
        } while (take(&j, ','));
        if (!take(&j, '}')) return fail(err, err_cap, "malformed JSON");
    }
    skip_ws(&j);
    if (j.p != j.end) return fail(err, err_cap, "text after the JSON object");
    if (!found) return fail(err, err_cap, "no bootkey0 (the fingerprint `fusekey seal --otp-json` writes)");
    return 0;
}
