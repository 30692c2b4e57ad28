/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_tool_hsm_cli.c - `fusekey hsm` as a user runs it, against a scripted
 * card: the exact APDUs of the commands whose bytes other programs fixed
 * (INITIALIZE as sc-hsm-tool sends it, both UNWRAP transports as OpenSC 0.23
 * and 0.27 send them), and hostile card answers (a broken FCP, a file longer
 * than its size, an odd object list, a key-generation answer that is no
 * request, a truncated signature): each a precise error, never a crash.
 * encrypt against a CE01 the test made: its ciphertexts open with the
 * private half, EC keys and oversized messages are refused.
 * Hostile files too: random mutations of every file format the tool reads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "crypto/hsm_host.h"
#include "cvc.h"
#include "util.h"
#include "hsm_tool.h"
#include "tool.h"

/* ---- A scripted card ---------------------------------------------------------------- */

#define MAX_RULES 16u
#define MAX_SENT 64u

typedef struct rule {
    int ins, p1, p2; /* -1: any */
    uint8_t resp[600];
    size_t len;
    uint16_t sw;
} rule_t;

typedef struct card {
    rule_t rules[MAX_RULES];
    unsigned n_rules;
    uint8_t *sent[MAX_SENT];
    size_t sent_len[MAX_SENT];
    unsigned n_sent;
} card_t;

static int c_connect(void *arg, const char *reader, char *err, size_t cap)
{
    (void)arg;
    (void)reader;
    (void)err;
    (void)cap;
    return 0;
}

static int c_transmit(void *arg, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap, size_t *resp_len,
                      uint16_t *sw, char *err, size_t err_cap)
{
    card_t *c = arg;
    (void)err;
    (void)err_cap;
    if (c->n_sent < MAX_SENT) {
        c->sent[c->n_sent] = malloc(n);
        assert_non_null(c->sent[c->n_sent]);
        memcpy(c->sent[c->n_sent], cmd, n);
        c->sent_len[c->n_sent++] = n;
    }
    *resp_len = 0;
    *sw = 0x6D00;
    for (unsigned i = 0; i < c->n_rules; i++) {
        const rule_t *r = &c->rules[i];
        if ((r->ins >= 0 && r->ins != cmd[1]) || (r->p1 >= 0 && r->p1 != cmd[2]) || (r->p2 >= 0 && r->p2 != cmd[3]))
            continue;
        if (r->len > cap) return -1;
        memcpy(resp, r->resp, r->len);
        *resp_len = r->len;
        *sw = r->sw;
        break;
    }
    return 0;
}

static void c_disconnect(void *arg) { (void)arg; }

static const fk_tool_card_ops_t k_ops = {c_connect, c_transmit, c_disconnect};

static void rule(card_t *c, int ins, int p1, int p2, const void *resp, size_t len, uint16_t sw)
{
    assert_true(c->n_rules < MAX_RULES && len <= sizeof c->rules[0].resp);
    rule_t *r = &c->rules[c->n_rules++];
    r->ins = ins;
    r->p1 = p1;
    r->p2 = p2;
    if (len) memcpy(r->resp, resp, len);
    r->len = len;
    r->sw = sw;
}

/* The HSM applet's SELECT answer (options 0001, version 4.0). */
static const uint8_t k_fcp[] = {0x62, 0x07, 0x85, 0x05, 0x00, 0x01, 0xFF, 0x04, 0x00};

typedef struct run {
    card_t card;
    char *out, *err;
    size_t out_len, err_len;
} run_t;

static int rnd(void *arg, void *buf, size_t len)
{
    (void)arg;
    memset(buf, 0x5A, len);
    return 0;
}

/* `fusekey ARGS...` against the scripted card; the exit status. */
static int run(run_t *r, const char *input, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    argv[argc++] = (char *)"fusekey";
    va_start(ap, input);
    for (const char *a = va_arg(ap, const char *); a != NULL; a = va_arg(ap, const char *)) argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
    fk_tool_t t;
    memset(&t, 0, sizeof t);
    t.out = open_memstream(&r->out, &r->out_len);
    t.err = open_memstream(&r->err, &r->err_len);
    t.in = input != NULL ? fmemopen((void *)input, strlen(input), "r") : fopen("/dev/null", "r");
    t.random = rnd;
    t.card = &k_ops;
    t.card_arg = &r->card;
    const int rc = fk_tool_main(&t, argc, argv);
    fclose(t.out);
    fclose(t.err);
    fclose(t.in);
    return rc;
}

static void reset(run_t *r)
{
    for (unsigned i = 0; i < r->card.n_sent; i++) free(r->card.sent[i]);
    memset(&r->card, 0, sizeof r->card);
}

static void done(run_t *r)
{
    reset(r);
    free(r->out);
    free(r->err);
    free(r);
}

static run_t *new_run(void)
{
    run_t *r = calloc(1, sizeof *r);
    assert_non_null(r);
    return r;
}

/* The first APDU sent with this INS (and P1 when >= 0), or NULL. */
static const uint8_t *sent(const run_t *r, uint8_t ins, int p1, size_t *len)
{
    for (unsigned i = 0; i < r->card.n_sent; i++) {
        if (r->card.sent[i][1] == ins && (p1 < 0 || r->card.sent[i][2] == p1)) {
            *len = r->card.sent_len[i];
            return r->card.sent[i];
        }
    }
    return NULL;
}

static void assert_err_has(const run_t *r, const char *s)
{
    if (r->err == NULL || strstr(r->err, s) == NULL) fail_msg("stderr lacks \"%s\":\n%s", s, r->err ? r->err : "");
}

/* ---- Exact APDUs -------------------------------------------------------------------- */

/* sc-hsm-tool 0.23 `--initialize --so-pin 3537363231383830 --pin 648219` (spec 3.9). */
static void test_initialize_as_sc_hsm_tool(void **state)
{
    (void)state;
    static const uint8_t want[] = {0x80, 0x50, 0x00, 0x00, 0x19, 0x80, 0x02, 0x00, 0x01, 0x81, 0x06, '6', '4', '8',
                                   '2', '1', '9', 0x82, 0x08, '5', '7', '6', '2', '1', '8', '8', '0', 0x91, 0x01, 0x03};
    run_t *r = new_run();
    rule(&r->card, 0xA4, -1, -1, k_fcp, sizeof k_fcp, 0x9000);
    rule(&r->card, 0x20, -1, -1, NULL, 0, 0x6A88); /* blank: no token asked */
    rule(&r->card, 0x50, -1, -1, NULL, 0, 0x9000);
    assert_int_equal(run(r, NULL, "hsm", "initialize", "--so-pin", "3537363231383830", "--pin", "648219", NULL), 0);
    size_t n = 0;
    const uint8_t *a = sent(r, 0x50, -1, &n);
    assert_non_null(a);
    assert_int_equal(n, sizeof want);
    assert_memory_equal(a, want, sizeof want);
    /* --dkek-shares 1: the same plus 92 01 01 (Lc 1C); the SO-PIN as 8 characters is the same. */
    reset(r);
    rule(&r->card, 0xA4, -1, -1, k_fcp, sizeof k_fcp, 0x9000);
    rule(&r->card, 0x20, -1, -1, NULL, 0, 0x6A88);
    rule(&r->card, 0x50, -1, -1, NULL, 0, 0x9000);
    assert_int_equal(run(r, "57621880\n", "hsm", "initialize", "--pin", "648219", "--dkek-shares", "1", NULL), 0);
    a = sent(r, 0x50, -1, &n);
    assert_non_null(a);
    assert_int_equal(n, sizeof want + 3u);
    assert_int_equal(a[4], 0x1C);
    assert_memory_equal(a + 5, want + 5, sizeof want - 5u);
    assert_memory_equal(a + sizeof want, "\x92\x01\x01", 3);
    /* An initialized card: the token first; a wrong one sends nothing. */
    reset(r);
    rule(&r->card, 0xA4, -1, -1, k_fcp, sizeof k_fcp, 0x9000);
    rule(&r->card, 0x20, -1, -1, NULL, 0, 0x63C3);
    rule(&r->card, 0x50, -1, -1, NULL, 0, 0x63CE);
    assert_int_equal(run(r, "INITIALIZE\n", "hsm", "initialize", "--so-pin", "3537363231383830", "--pin", "648219",
                         NULL),
                     FK_TOOL_EXIT_FAIL);
    assert_null(sent(r, 0x50, -1, &n));
    assert_int_equal(run(r, "INITIALIZE-HSM\n", "hsm", "initialize", "--so-pin", "3537363231383830", "--pin",
                         "648219", NULL),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(r, "63CE: wrong SO-PIN, 14 tries left");
    done(r);
}

/* A wrap file in a temporary file; its path in path. */
static void temp_file(char *path, size_t cap, const uint8_t *data, size_t len)
{
    (void)snprintf(path, cap, "/tmp/fk-hsm-cli-XXXXXX");
    const int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static void unwrap_card(run_t *r)
{
    rule(&r->card, 0xA4, 0x04, -1, k_fcp, sizeof k_fcp, 0x9000);
    rule(&r->card, 0xA4, 0x00, -1, NULL, 0, 0x6A82); /* no C40A, CE0A */
    rule(&r->card, 0x58, -1, -1, "\xCC\x00", 2, 0x9000);
    rule(&r->card, 0x20, -1, -1, NULL, 0, 0x9000);
    rule(&r->card, 0xD7, -1, -1, NULL, 0, 0x9000);
    rule(&r->card, 0x74, -1, -1, NULL, 0, 0x9000);
}

/* UNWRAP as OpenSC 0.23 sends it (80 74 0A 93 00 LL LL blob, no Le) and as
 * 0.27 does (the blob into 2F10, then 80 74 0A 93 alone). */
static void test_unwrap_forms(void **state)
{
    (void)state;
    uint8_t blob[300], *file = NULL;
    size_t file_len = 0, n = 0;
    for (size_t i = 0; i < sizeof blob; i++) blob[i] = (uint8_t)(i ^ 0xA5);
    assert_int_equal(hsm_wrap_file_build(blob, sizeof blob, NULL, 0, NULL, 0, &file, &file_len), 0);
    char path[64];
    temp_file(path, sizeof path, file, file_len);
    free(file);

    run_t *r = new_run();
    unwrap_card(r);
    assert_int_equal(run(r, NULL, "hsm", "key", "unwrap", "10", path, "--pin", "648219", NULL), 0);
    const uint8_t *a = sent(r, 0x74, -1, &n);
    assert_non_null(a);
    assert_int_equal(n, 7u + sizeof blob);
    assert_memory_equal(a, "\x80\x74\x0A\x93\x00\x01\x2C", 7);
    assert_memory_equal(a + 7, blob, sizeof blob);
    assert_null(sent(r, 0xD7, -1, &n));

    reset(r);
    unwrap_card(r);
    assert_int_equal(run(r, NULL, "hsm", "key", "unwrap", "10", path, "--via-2f10", "--pin", "648219", NULL), 0);
    a = sent(r, 0xD7, -1, &n);
    assert_non_null(a);
    /* 00 D7 2F 10 00 01 34 | 54 02 00 00 | 53 82 01 2C | blob */
    assert_memory_equal(a, "\x00\xD7\x2F\x10\x00\x01\x34\x54\x02\x00\x00\x53\x82\x01\x2C", 15);
    assert_memory_equal(a + 15, blob, sizeof blob);
    a = sent(r, 0x74, -1, &n);
    assert_non_null(a);
    assert_int_equal(n, 4);
    assert_memory_equal(a, "\x80\x74\x0A\x93", 4);
    unlink(path);
    done(r);
}

/* A KDF's output length goes as Le, exactly (docs/hsm-cipher.md): 255 short,
 * 256 extended (01 00: a short Le 00 would leave the length to the card, which
 * then derives its default 32 bytes), 300 extended; an answer of another length
 * is an error, not a result; 6700 names the length. */
static void kdf_card(run_t *r, size_t answer)
{
    static uint8_t derived[300];
    memset(derived, 0xD5, sizeof derived);
    rule(&r->card, 0xA4, -1, -1, k_fcp, sizeof k_fcp, 0x9000);
    rule(&r->card, 0x20, -1, -1, NULL, 0, 0x9000);
    rule(&r->card, 0x78, -1, -1, derived, answer, 0x9000);
}

static void test_kdf_lengths(void **state)
{
    (void)state;
    /* 80 78 01 51 | 06 0B <HKDF-SHA-256> 81 00 */
    static const uint8_t hkdf[] = {0x80, 0x78, 0x01, 0x51, 0x06, 0x0B, 0x2A, 0x86, 0x48, 0x86,
                                   0xF7, 0x0D, 0x01, 0x09, 0x10, 0x03, 0x1D, 0x81, 0x00};
    static const struct {
        const char *length;
        size_t n;
        uint8_t le[3];
        size_t le_len;
    } cases[] = {{"255", 255, {0xFF}, 1}, {"256", 256, {0x01, 0x00}, 2}, {"300", 300, {0x01, 0x2C}, 2}};
    run_t *r = new_run();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reset(r);
        kdf_card(r, cases[i].n);
        assert_int_equal(run(r, NULL, "hsm", "cipher", "1", "--alg", "hkdf-sha256", "--length", cases[i].length,
                             "--pin", "648219", NULL),
                         0);
        assert_int_equal(r->out_len, 2u * cases[i].n + 1u);
        size_t n = 0;
        const uint8_t *a = sent(r, 0x78, -1, &n);
        assert_non_null(a);
        const bool ext = cases[i].le_len == 2u;
        const size_t body = sizeof hkdf - 4u;
        assert_int_equal(n, 4u + (ext ? 3u : 1u) + body + cases[i].le_len);
        assert_memory_equal(a, hkdf, 4);
        if (ext) assert_memory_equal(a + 4, "\x00\x00\x0F", 3);
        else assert_int_equal(a[4], body);
        assert_memory_equal(a + n - cases[i].le_len - body, hkdf + 4, body);
        assert_memory_equal(a + n - cases[i].le_len, cases[i].le, cases[i].le_len);
    }
    /* An input whose command would outgrow one reader frame is refused
     * before anything is sent (a virtual reader would lose its framing). */
    {
        /* 65515 bytes: 06 OID and 81 82 LL LL make 65530 bytes of data
         * (a valid Lc), and the whole command 65539 bytes. */
        static char big[2u * 65515u + 1u];
        memset(big, '0', sizeof big - 1u);
        reset(r);
        kdf_card(r, 32);
        assert_int_equal(run(r, NULL, "hsm", "cipher", "1", "--alg", "hmac-sha256", "--data", big,
                             "--pin", "648219", NULL),
                         FK_TOOL_EXIT_FAIL);
        assert_err_has(r, "the most a reader carries in one APDU");
        size_t n = 0;
        assert_null(sent(r, 0x78, -1, &n));
    }
    /* The card's default instead of the length asked. */
    reset(r);
    kdf_card(r, 32);
    assert_int_equal(run(r, NULL, "hsm", "cipher", "1", "--alg", "x963", "--length", "256", "--pin", "648219", NULL),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(r, "the card derived 32 bytes, not the 256 asked");
    assert_int_equal(r->out_len, 0);
    /* A length beyond the KDF's limit, as the card says it. */
    reset(r);
    rule(&r->card, 0xA4, -1, -1, k_fcp, sizeof k_fcp, 0x9000);
    rule(&r->card, 0x20, -1, -1, NULL, 0, 0x9000);
    rule(&r->card, 0x78, -1, -1, NULL, 0, 0x6700);
    assert_int_equal(run(r, NULL, "hsm", "cipher", "1", "--alg", "hkdf-sha512", "--length", "65535", "--pin", "648219",
                         NULL),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(r, "6700: the card does not derive 65535 bytes with hkdf-sha512");
    done(r);
}

/* ---- Hostile card answers -------------------------------------------------------------------- */

static void test_hostile_answers(void **state)
{
    (void)state;
    run_t *r = new_run();
    /* A SELECT answer that is no FCP: the version is unknown, status still works. */
    static const uint8_t junk[] = {0x62, 0x85, 0xFF, 0x01};
    rule(&r->card, 0xA4, 0x04, -1, junk, sizeof junk, 0x9000);
    rule(&r->card, 0x20, -1, -1, NULL, 0, 0x63C3);
    rule(&r->card, 0x52, -1, -1, "\x01", 1, 0x9000); /* too short a DKEK status */
    rule(&r->card, 0xA4, 0x00, -1, "\x62\x04\x81\x02\x00\x04", 6, 0x9000); /* 2F02 of 4 bytes */
    rule(&r->card, 0xB1, -1, -1, "\x01\x02\x03\x04\x05\x06", 6, 0x9000);   /* ... reads 6 */
    rule(&r->card, 0x58, -1, -1, "\xCC\x01\xCC", 3, 0x9000);
    assert_int_equal(run(r, NULL, "hsm", "status", NULL), FK_TOOL_EXIT_FAIL);
    assert_err_has(r, "more of file 2F02 than its size");

    reset(r);
    rule(&r->card, 0xA4, 0x04, -1, k_fcp, sizeof k_fcp, 0x9000);
    rule(&r->card, 0x20, -1, -1, NULL, 0, 0x63C3);
    rule(&r->card, 0x52, -1, -1, NULL, 0, 0x6D00);
    rule(&r->card, 0xA4, 0x00, -1, NULL, 0, 0x6A82);
    rule(&r->card, 0x58, -1, -1, "\xCC\x01\xCC", 3, 0x9000);
    assert_int_equal(run(r, NULL, "hsm", "status", NULL), FK_TOOL_EXIT_FAIL);
    assert_err_has(r, "odd length");

    /* A key generation that answers garbage instead of a request. */
    reset(r);
    rule(&r->card, 0xA4, 0x04, -1, k_fcp, sizeof k_fcp, 0x9000);
    rule(&r->card, 0xA4, 0x00, -1, NULL, 0, 0x6A82);
    rule(&r->card, 0x58, -1, -1, "\xCC\x00", 2, 0x9000);
    rule(&r->card, 0x20, -1, -1, NULL, 0, 0x9000);
    rule(&r->card, 0x46, -1, -1, "\x67\x05\x7F\x21\x02\x7F\x4E", 7, 0x9000);
    assert_int_equal(run(r, NULL, "hsm", "key", "generate", "ec:secp256r1", "--pin", "648219", NULL), FK_TOOL_EXIT_FAIL);
    assert_err_has(r, "its request does not decode");

    /* A signature that does not verify with the key of CE01. */
    reset(r);
    rule(&r->card, 0xA4, 0x04, -1, k_fcp, sizeof k_fcp, 0x9000);
    rule(&r->card, 0xA4, 0x00, -1, NULL, 0, 0x6A82); /* no CE01 */
    assert_int_equal(run(r, NULL, "hsm", "sign", "1", "--alg", "ecdsa", "--data", "00", "--pin", "648219", NULL),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(r, "no public key on the card");

    /* PIN answers as sentences. */
    reset(r);
    rule(&r->card, 0xA4, 0x04, -1, k_fcp, sizeof k_fcp, 0x9000);
    rule(&r->card, 0x58, -1, -1, "\xCC\x00", 2, 0x9000);
    rule(&r->card, 0xA4, 0x00, -1, NULL, 0, 0x6A82);
    rule(&r->card, 0x20, -1, -1, NULL, 0, 0x63C1);
    assert_int_equal(run(r, NULL, "hsm", "key", "generate", "rsa:2048", "--pin", "000000", NULL), FK_TOOL_EXIT_FAIL);
    assert_err_has(r, "63C1: wrong user PIN, 1 tries left");
    done(r);
}

/* ---- The command line ------------------------------------------------------------------------------ */

static void test_command_line(void **state)
{
    (void)state;
    run_t *r = new_run();
    assert_int_equal(run(r, NULL, "hsm", "--help", NULL), 0);
    assert_non_null(strstr(r->out, "key generate TYPE"));
    assert_int_equal(run(r, NULL, "hsm", NULL), FK_TOOL_EXIT_USAGE);
    assert_int_equal(run(r, NULL, "hsm", "frobnicate", NULL), FK_TOOL_EXIT_USAGE);
    assert_int_equal(run(r, NULL, "hsm", "key", NULL), FK_TOOL_EXIT_USAGE);
    assert_int_equal(run(r, NULL, "hsm", "key", "delete", NULL), FK_TOOL_EXIT_USAGE);
    assert_int_equal(run(r, NULL, "hsm", "key", "delete", "0", NULL), FK_TOOL_EXIT_USAGE);
    assert_int_equal(run(r, NULL, "hsm", "key", "delete", "256", NULL), FK_TOOL_EXIT_USAGE);
    assert_int_equal(run(r, NULL, "hsm", "status", "--alg", "ecdsa", NULL), FK_TOOL_EXIT_USAGE);
    assert_err_has(r, "does not apply");
    assert_int_equal(run(r, NULL, "hsm", "status", "--json", "--json", NULL), FK_TOOL_EXIT_USAGE);
    assert_int_equal(run(r, NULL, "hsm", "key", "generate", "ec:secp999r1", NULL), FK_TOOL_EXIT_USAGE);
    assert_int_equal(run(r, NULL, "hsm", "cipher", "1", "--alg", "aes-ecb", "--data", "00", "--iv", "00", NULL),
                     FK_TOOL_EXIT_USAGE);
    assert_int_equal(run(r, NULL, "hsm", "rtc", "set", "yesterday", NULL), FK_TOOL_EXIT_USAGE);
    /* --reader before `hsm`, options with `=`; the scripted card has no applet. */
    assert_int_equal(run(r, NULL, "--reader", "x", "hsm", "--json", "status", NULL), FK_TOOL_EXIT_FAIL);
    assert_non_null(strstr(r->out, "\"ok\":false"));
    assert_non_null(strstr(r->out, "\"sw\":\"6D00\""));
    assert_int_equal(run(r, NULL, "hsm", "--reader=x", "status", NULL), FK_TOOL_EXIT_FAIL);
    assert_err_has(r, "no SmartCard-HSM applet");
    done(r);
}

/* ---- encrypt ------------------------------------------------------------------------------------ */

/* A card whose CE01 is a CV certificate of pub (the signature a placeholder:
 * encrypt reads the key, it does not check the issuer). */
static void card_with_ce01(run_t *r, const fk_pk_public_t *pub, const uint8_t *oid, size_t oid_len)
{
    uint8_t cert[600];
    fk_rbuf_t b = {cert, 0, sizeof cert};
    const fk_cvc_fields_t f = {
        .car = {(const uint8_t *)"UTCA00001", 9},
        .chr = {(const uint8_t *)"UTTM00001", 9},
        .key_oid = {oid, oid_len},
        .domain_params = pub->type == FK_PK_EC, /* as a card's own requests carry them */
    };
    const fk_cvc_signer_t placeholder = {NULL, NULL, 64};
    assert_int_equal(fk_cvc_build_cert(&b, &f, pub, &placeholder), FK_CVC_OK);
    const uint8_t fcp[] = {0x62, 0x04, 0x81, 0x02, (uint8_t)(b.len >> 8), (uint8_t)b.len};
    reset(r);
    rule(&r->card, 0xA4, 0x04, -1, k_fcp, sizeof k_fcp, 0x9000);
    rule(&r->card, 0xA4, 0x00, -1, fcp, sizeof fcp, 0x9000);
    rule(&r->card, 0xB1, -1, -1, cert, b.len, 0x9000);
}

/* The ciphertext the tool printed as hex (its last line). */
static size_t printed_hex(const run_t *r, uint8_t *out, size_t cap)
{
    assert_non_null(r->out);
    const char *last = r->out, *nl;
    while ((nl = strchr(last, '\n')) != NULL && nl[1] != '\0') last = nl + 1;
    char line[1024];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(last, "\n"), last);
    size_t n = 0;
    assert_int_equal(hsm_unhex(line, out, cap, &n), 0);
    return n;
}

static void test_encrypt(void **state)
{
    (void)state;
    static const uint8_t oid_rsa[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02};
    static const uint8_t oid_ec[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03};
    run_t *r = new_run();

    /* The command line, before any card. */
    assert_int_equal(run(r, NULL, "hsm", "encrypt", "1", "--data", "00", NULL), FK_TOOL_EXIT_USAGE);
    assert_err_has(r, "--alg takes rsa-pkcs1");
    assert_int_equal(run(r, NULL, "hsm", "encrypt", "1", "--alg", "rsa-raw", "--data", "00", NULL),
                     FK_TOOL_EXIT_USAGE);
    assert_int_equal(run(r, NULL, "hsm", "encrypt", "1", "--alg", "rsa-oaep-sha224", "--data", "00", NULL),
                     FK_TOOL_EXIT_USAGE);
    assert_int_equal(run(r, NULL, "hsm", "encrypt", "1", "--alg", "rsa-pkcs1", "--label", "x", "--data", "00",
                         NULL),
                     FK_TOOL_EXIT_USAGE);
    assert_err_has(r, "--label is OAEP's");
    assert_int_equal(run(r, NULL, "hsm", "encrypt", "1", "--alg", "rsa-oaep", "--data", "00", "--pin", "648219",
                         NULL),
                     FK_TOOL_EXIT_USAGE);
    assert_err_has(r, "does not apply");
    assert_int_equal(run(r, NULL, "hsm", "encrypt", "0", "--alg", "rsa-oaep", "--data", "00", NULL),
                     FK_TOOL_EXIT_USAGE);
    assert_int_equal(run(r, NULL, "hsm", "encrypt", "--alg", "rsa-oaep", "--data", "00", NULL), FK_TOOL_EXIT_USAGE);
    assert_int_equal(r->card.n_sent, 0);

    /* An RSA-1024 key: what the tool writes decrypts with its private half. */
    static uint8_t blob[FK_PK_BLOB_MAX];
    size_t blob_len = 0;
    fk_pk_key_t key;
    fk_pk_public_t pub;
    assert_int_equal(fk_pk_rsa_generate(1024, 65537, NULL, NULL, blob, sizeof blob, &blob_len), FK_CRYPTO_OK);
    assert_int_equal(fk_pk_parse(blob, blob_len, &key), FK_CRYPTO_OK);
    fk_pk_public_of(&key, &pub);
    uint8_t ct[256], pt[256];
    size_t ct_len = 0, pt_len = 0;

    card_with_ce01(r, &pub, oid_rsa, sizeof oid_rsa);
    assert_int_equal(run(r, NULL, "hsm", "encrypt", "1", "--alg", "rsa-pkcs1", "--data", "48656c6c6f", NULL), 0);
    ct_len = printed_hex(r, ct, sizeof ct);
    assert_int_equal(ct_len, 128);
    assert_int_equal(fk_pk_rsa_decrypt_pkcs1(&key, ct, ct_len, pt, sizeof pt, &pt_len), FK_CRYPTO_OK);
    assert_int_equal(pt_len, 5);
    assert_memory_equal(pt, "Hello", 5);
    size_t n = 0;
    assert_null(sent(r, 0x20, -1, &n)); /* no PIN: a public-key operation */
    assert_null(sent(r, 0x62, -1, &n)); /* and nothing computed by the card */

    /* OAEP with SHA-384 and a label, to a file, with the note that a card's
     * DECIPHER does not unpad that. */
    char path[] = "/tmp/fk-enc-XXXXXX";
    const int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(run(r, NULL, "hsm", "encrypt", "1", "--alg", "rsa-oaep-sha384", "--label", "lbl", "--data",
                         "0102030405", "--out", path, NULL),
                     0);
    assert_err_has(r, "SHA-256 and an empty label only");
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    ct_len = fread(ct, 1, sizeof ct, f);
    fclose(f);
    unlink(path);
    assert_int_equal(ct_len, 128);
    assert_int_equal(fk_pk_rsa_decrypt_oaep(&key, FK_HASH_SHA384, (const uint8_t *)"lbl", 3, ct, ct_len, pt,
                                            sizeof pt, &pt_len),
                     FK_CRYPTO_OK);
    assert_int_equal(pt_len, 5);
    assert_memory_equal(pt, "\x01\x02\x03\x04\x05", 5);

    /* rsa-oaep is SHA-256, as decrypt's rsa-oaep; JSON carries the ciphertext. */
    assert_int_equal(run(r, NULL, "hsm", "--json", "encrypt", "1", "--alg", "rsa-oaep", "--data", "aa", NULL), 0);
    const char *hex = strstr(r->out, "\"ciphertext\":\"");
    assert_non_null(hex);
    char hexbuf[300];
    snprintf(hexbuf, sizeof hexbuf, "%.256s", hex + 14);
    assert_int_equal(hsm_unhex(hexbuf, ct, sizeof ct, &ct_len), 0);
    assert_int_equal(ct_len, 128);
    assert_int_equal(fk_pk_rsa_decrypt_oaep(&key, FK_HASH_SHA256, NULL, 0, ct, ct_len, pt, sizeof pt, &pt_len),
                     FK_CRYPTO_OK);
    assert_int_equal(pt_len, 1);
    assert_int_equal(pt[0], 0xAA);

    /* The padding's room: 1024 bits take 117 bytes in PKCS#1 v1.5, 62 in
     * OAEP-SHA-256, and nothing in OAEP-SHA-512 (2 * 64 + 2 > 128). */
    char data[2 * 130 + 1];
    memset(data, 'a', sizeof data - 1u);
    data[2 * 117] = '\0';
    assert_int_equal(run(r, NULL, "hsm", "encrypt", "1", "--alg", "rsa-pkcs1", "--data", data, NULL), 0);
    data[2 * 117] = 'a';
    data[2 * 118] = '\0';
    assert_int_equal(run(r, NULL, "hsm", "encrypt", "1", "--alg", "rsa-pkcs1", "--data", data, NULL),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(r, "at most 117");
    data[2 * 63] = '\0';
    assert_int_equal(run(r, NULL, "hsm", "encrypt", "1", "--alg", "rsa-oaep-sha256", "--data", data, NULL),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(r, "at most 62");
    assert_int_equal(run(r, NULL, "hsm", "encrypt", "1", "--alg", "rsa-oaep-sha512", "--data", "", NULL),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(r, "needs a modulus");

    /* An EC key: refused as a wrong argument, pointing at derive. */
    {
        uint8_t ec_blob[200];
        size_t ec_len = 0;
        fk_pk_key_t ec;
        fk_pk_public_t ec_pub;
        assert_int_equal(fk_pk_ec_generate(FK_CURVE_SECP256R1, ec_blob, sizeof ec_blob, &ec_len), FK_CRYPTO_OK);
        assert_int_equal(fk_pk_parse(ec_blob, ec_len, &ec), FK_CRYPTO_OK);
        fk_pk_public_of(&ec, &ec_pub);
        card_with_ce01(r, &ec_pub, oid_ec, sizeof oid_ec);
        assert_int_equal(run(r, NULL, "hsm", "encrypt", "1", "--alg", "rsa-oaep", "--data", "00", NULL),
                         FK_TOOL_EXIT_USAGE);
        assert_err_has(r, "EC keys do not encrypt");
        assert_err_has(r, "derive");
        assert_int_equal(r->out_len, 0);
    }
    /* No CE01 (an AES key, or none). */
    reset(r);
    rule(&r->card, 0xA4, 0x04, -1, k_fcp, sizeof k_fcp, 0x9000);
    rule(&r->card, 0xA4, 0x00, -1, NULL, 0, 0x6A82);
    assert_int_equal(run(r, NULL, "hsm", "encrypt", "1", "--alg", "rsa-oaep", "--data", "00", NULL),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(r, "no public key on the card");
    fk_wipe(blob, sizeof blob);
    done(r);
}

/* ---- Hostile files --------------------------------------------------------------------------------- */

static const char *g_data_dir = ".";

static uint8_t *data_file(const char *name, size_t *len)
{
    char path[512];
    (void)snprintf(path, sizeof path, "%s/%s", g_data_dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(70000);
    assert_non_null(buf);
    *len = fread(buf, 1, 70000, f);
    fclose(f);
    return buf;
}

static uint32_t g_seed = 12345;
static uint32_t next(void)
{
    g_seed = g_seed * 1664525u + 1013904223u;
    return g_seed >> 8;
}

/* Random byte changes of every file format the tool reads: errors, never a
 * crash (the sanitizer build runs this too). */
static void test_mutated_files(void **state)
{
    (void)state;
    static const char *const p12s[] = {"ec.p12", "rsa-3des.p12", "ed25519.p12", "x25519.p12"};
    fk_p12_t *p = malloc(sizeof *p);
    assert_non_null(p);
    for (size_t f = 0; f < 4u; f++) {
        size_t len = 0;
        uint8_t *orig = data_file(p12s[f], &len);
        uint8_t *m = malloc(len);
        assert_non_null(m);
        for (unsigned round = 0; round < 150u; round++) {
            memcpy(m, orig, len);
            const unsigned flips = 1u + next() % 4u;
            for (unsigned k = 0; k < flips; k++) m[next() % len] ^= (uint8_t)(1u + next() % 255u);
            (void)fk_p12_read(m, len, (const uint8_t *)"p12-pass", 8, p);
            fk_host_pub_t pub;
            (void)fk_host_pub_from_spki(m, len, &pub);
            (void)fk_host_pub_from_x509(m, len, &pub);
        }
        free(m);
        free(orig);
    }
    free(p);
    /* Wrap files, descriptions and CE files. */
    uint8_t blob[64], *file = NULL;
    size_t flen = 0;
    memset(blob, 7, sizeof blob);
    static const uint8_t prkd[] = {0xA0, 0x0C, 0x30, 0x02, 0x0C, 0x00, 0x30, 0x03, 0x04, 0x01, 0x31,
                                   0xA1, 0x00, 0x00};
    assert_int_equal(hsm_wrap_file_build(blob, sizeof blob, prkd, 13, NULL, 0, &file, &flen), 0);
    for (unsigned round = 0; round < 3000u; round++) {
        uint8_t m[200];
        memcpy(m, file, flen);
        m[next() % flen] ^= (uint8_t)(1u + next() % 255u);
        const size_t cut = next() % (flen + 1u);
        hsm_wrap_file_t w;
        hsm_prkd_t d;
        fk_host_pub_t pub;
        char err[160];
        (void)hsm_wrap_file_parse(m, cut, &w, err, sizeof err);
        (void)hsm_prkd_parse(m + 4, cut > 4u ? cut - 4u : 0u, &d);
        (void)hsm_ce_public(m, cut, &pub, err, sizeof err);
        m[0] = 0x67;
        (void)hsm_ce_public(m, cut, &pub, err, sizeof err);
    }
    free(file);
    /* Random share files: the padding check refuses them (a random block
     * ends in 16 x 0x10 with probability 2^-128). */
    uint8_t share[32], sf[64];
    for (unsigned round = 0; round < 200u; round++) {
        for (size_t i = 0; i < sizeof sf; i++) sf[i] = (uint8_t)next();
        memcpy(sf, "Salted__", 8);
        assert_int_equal(fk_dkek_file_open((const uint8_t *)"pw", 2, sf, sizeof sf, 1, NULL, NULL, share),
                         FK_CRYPTO_EAUTH);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1) g_data_dir = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initialize_as_sc_hsm_tool),
        cmocka_unit_test(test_unwrap_forms),
        cmocka_unit_test(test_kdf_lengths),
        cmocka_unit_test(test_hostile_answers),
        cmocka_unit_test(test_command_line),
        cmocka_unit_test(test_encrypt),
        cmocka_unit_test(test_mutated_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
