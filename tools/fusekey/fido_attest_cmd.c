/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fido_attest_cmd.c - `fusekey fido attestation ...`: the FIDO applet's
 * attestation provisioning over PC/SC (docs/fido-attestation.md).
 *
 * Everything goes through the applet's vendor APDU (CLA 80, INS 50, P1 the
 * subcommand). The device checks what it is given (X.509 v3, P-256, CA
 * false, the key matching the certificate) and asks for presence before it
 * writes. The tool checks what it can without the device (a P-256 key file,
 * one DER certificate per file, the sizes), so that --dry-run, which never
 * connects, already refuses unusable files; the device's refusals are
 * explained by their status word.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "crypto/pk_pem.h"
#include "tool.h"
#include "util.h"

#define INS_ATTEST 0x50u
#define P1_INFO 0x01u
#define P1_PUBLIC 0x02u
#define P1_BATCH_CHAIN 0x03u
#define P1_EP_CHAIN 0x04u
#define P1_IMPORT_BATCH 0x10u
#define P1_INSTALL_EP 0x11u
#define P1_SET_RPIDS 0x12u
#define FLAG_BATCH 0x01u
#define FLAG_EP_CERT 0x02u
#define FLAG_EP_ON 0x04u

#define CHAIN_MAX 3072u     /* the device's limit for a chain */
#define RPIDS_MAX 512u      /* and for the RP id list */
#define RPIDS_COUNT 16u
#define RESP_MAX 8192u
#define APDU_MAX (7u + 32u + CHAIN_MAX + 2u)

static const uint8_t k_fido_aid[] = {0xA0, 0x00, 0x00, 0x06, 0x47, 0x2F, 0x00, 0x01};

typedef struct fa_run {
    fk_tool_t *t;
    const char *reader;
    bool dry_run;
    bool connected;
    uint8_t resp[RESP_MAX];
    size_t resp_len;
    uint16_t sw;
} fa_run_t;

static const char k_usage[] =
    "usage: fusekey [--reader NAME] fido attestation COMMAND\n"
    "  show                               what is installed (batch chain, device chain,\n"
    "                                     enterprise attestation, its RP ids)\n"
    "  public-key                         the device's attestation public key (PEM)\n"
    "  import-batch KEY.pem CERT.der [CHAIN.der...] [--dry-run]\n"
    "                                     a batch key and its chain from your CA\n"
    "  install-device CERT.der [CHAIN.der...] [--dry-run]\n"
    "                                     your CA's certificate for the device key\n"
    "                                     (enterprise attestation)\n"
    "  set-ep-rpids [RPID...] [--dry-run] the RP ids of enterprise attestation mode 1\n"
    "                                     (none: clear the list)\n"
    "Writes need a touch on the device. See docs/fido-attestation.md.\n";

/* "fusekey: fido attestation: " a b c, a line on stderr. */
static int fail3(fa_run_t *r, const char *a, const char *b, const char *c)
{
    (void)fprintf(r->t->err, "fusekey: fido attestation: %s%s%s\n", a, b, c);
    return FK_TOOL_EXIT_FAIL;
}

static const char *sw_text(uint16_t sw)
{
    switch (sw) {
    case 0x6600: return "no touch in time";
    case 0x6700: return "wrong length (the input is too large)";
    case 0x6985: return "refused: presence was declined";
    case 0x6A80: return "refused: not an X.509 v3 P-256 attestation certificate with CA false";
    case 0x6984: return "refused: the key does not match the certificate";
    case 0x6A88: return "nothing of that kind on the device";
    case 0x6581: return "the device could not read or write its flash";
    case 0x6D00: return "the firmware has no attestation provisioning";
    default: return "unexpected status";
    }
}

/* ---- Talking to the applet ----------------------------------------------------- */

static int xmit(fa_run_t *r, const uint8_t *apdu, size_t n)
{
    char err[160];
    if (r->t->card->transmit(r->t->card_arg, apdu, n, r->resp, sizeof r->resp, &r->resp_len, &r->sw,
                             err, sizeof err) != 0)
        return fail3(r, "", "", err);
    return 0;
}

static int connect_card(fa_run_t *r)
{
    char err[160];
    if (r->t->card->connect(r->t->card_arg, r->reader, err, sizeof err) != 0)
        return fail3(r, "", "", err);
    r->connected = true;
    uint8_t sel[5 + sizeof k_fido_aid + 1] = {0x00, 0xA4, 0x04, 0x00, (uint8_t)sizeof k_fido_aid};
    memcpy(sel + 5, k_fido_aid, sizeof k_fido_aid);
    sel[sizeof sel - 1u] = 0x00;
    if (xmit(r, sel, sizeof sel) != 0) return FK_TOOL_EXIT_FAIL;
    if (r->sw != 0x9000u) return fail3(r, "", "", "the device has no FIDO applet");
    return 0;
}

/* One extended APDU: CLA 80, INS 50, P1, data; Le 65536. */
static int attest_apdu(fa_run_t *r, uint8_t p1, const uint8_t *data, size_t len)
{
    static uint8_t a[APDU_MAX];
    size_t n = 0;
    a[n++] = 0x80;
    a[n++] = INS_ATTEST;
    a[n++] = p1;
    a[n++] = 0x00;
    a[n++] = 0x00;
    if (len != 0u) {
        if (len > APDU_MAX - 9u) return fail3(r, "", "", "the input is too large");
        fk_put_be16(a + n, (uint16_t)len);
        n += 2u;
        memcpy(a + n, data, len);
        n += len;
    }
    a[n++] = 0x00;
    a[n++] = 0x00;
    const int rc = xmit(r, a, n);
    fk_wipe(a, sizeof a);
    if (rc != 0) return rc;
    if (r->sw != 0x9000u) {
        char b[32];
        (void)snprintf(b, sizeof b, "%04X", r->sw);
        (void)fprintf(r->t->err, "fusekey: fido attestation: the device answered %s: %s\n", b,
                      sw_text(r->sw));
        return FK_TOOL_EXIT_FAIL;
    }
    return 0;
}

/* ---- Files and their checks ----------------------------------------------------- */

static int read_file(fa_run_t *r, const char *path, uint8_t *buf, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return fail3(r, "cannot open ", path, "");
    const size_t n = fread(buf, 1, cap, f);
    const bool more = fgetc(f) != EOF;
    (void)fclose(f);
    if (more) return fail3(r, "", path, " is too large");
    *len = n;
    return 0;
}

/* The length of the DER element at p (0: not one whose header we take). */
static size_t der_total(const uint8_t *p, size_t len)
{
    if (len < 2u || p[0] != 0x30u) return 0;
    size_t n = p[1], h = 2u;
    if (n == 0x81u && len >= 3u) {
        n = p[2];
        h = 3u;
    } else if (n == 0x82u && len >= 4u) {
        n = fk_be16(p + 2);
        h = 4u;
    } else if (n >= 0x80u) {
        return 0;
    }
    return h + n <= len ? h + n : 0u;
}

/* Certificates (DER files) back to back into chain; each file one certificate. */
static int load_chain(fa_run_t *r, char **paths, unsigned n, uint8_t *chain, size_t *len)
{
    size_t at = 0;
    for (unsigned i = 0; i < n; i++) {
        size_t l = 0;
        if (read_file(r, paths[i], chain + at, CHAIN_MAX - at, &l) != 0) return FK_TOOL_EXIT_FAIL;
        if (l == 0u || der_total(chain + at, l) != l)
            return fail3(r, "", paths[i], " is not one DER certificate");
        at += l;
    }
    *len = at;
    return 0;
}

static void print_fingerprint(fa_run_t *r, const char *what, const uint8_t *chain, size_t len)
{
    const size_t leaf = der_total(chain, len);
    unsigned count = 0;
    for (size_t o = 0, l; o < len && (l = der_total(chain + o, len - o)) != 0u; o += l) count++;
    uint8_t h[FK_SHA256_LEN];
    fk_sha256(chain, leaf, h);
    (void)fprintf(r->t->out, "%s: %u certificate%s, leaf SHA-256 ", what, count,
                  count == 1u ? "" : "s");
    for (size_t i = 0; i < sizeof h; i++) (void)fprintf(r->t->out, "%02x", h[i]);
    (void)fputc('\n', r->t->out);
}

/* ---- Commands ------------------------------------------------------------------- */

static int cmd_show(fa_run_t *r)
{
    int rc = connect_card(r);
    if (rc == 0) rc = attest_apdu(r, P1_INFO, NULL, 0);
    if (rc != 0) return rc;
    const uint8_t flags = r->resp_len ? r->resp[0] : 0u;
    uint8_t list[RPIDS_MAX];
    const size_t list_len = r->resp_len > 1u ? r->resp_len - 1u : 0u;
    if (list_len > sizeof list) return fail3(r, "", "", "the device's answer is too long");
    memcpy(list, r->resp + 1, list_len);
    FILE *o = r->t->out;
    if ((flags & FLAG_BATCH) != 0u) {
        if ((rc = attest_apdu(r, P1_BATCH_CHAIN, NULL, 0)) != 0) return rc;
        print_fingerprint(r, "batch attestation", r->resp, r->resp_len);
    } else {
        (void)fputs("batch attestation: none (self attestation)\n", o);
    }
    if ((flags & FLAG_EP_CERT) != 0u) {
        if ((rc = attest_apdu(r, P1_EP_CHAIN, NULL, 0)) != 0) return rc;
        print_fingerprint(r, "device certificate", r->resp, r->resp_len);
    } else {
        (void)fputs("device certificate: none (no enterprise attestation)\n", o);
    }
    (void)fprintf(o, "enterprise attestation: %s\n", (flags & FLAG_EP_ON) ? "enabled" : "disabled");
    (void)fputs("enterprise RP ids:", o);
    if (list_len == 0u) (void)fputs(" none", o);
    for (size_t at = 0; at < list_len && list[at] <= list_len - at - 1u; at += 1u + list[at])
        (void)fprintf(o, " %.*s", (int)list[at], (const char *)list + at + 1);
    (void)fputc('\n', o);
    return 0;
}

static void put_b64(FILE *o, const uint8_t *p, size_t n)
{
    static const char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned col = 0;
    for (size_t i = 0; i < n; i += 3) {
        const uint32_t v = ((uint32_t)p[i] << 16) | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0u) |
                           (i + 2 < n ? p[i + 2] : 0u);
        char q[4] = {k[(v >> 18) & 63u], k[(v >> 12) & 63u], i + 1 < n ? k[(v >> 6) & 63u] : '=',
                     i + 2 < n ? k[v & 63u] : '='};
        (void)fwrite(q, 1, 4, o);
        if ((col += 4u) == 64u) {
            (void)fputc('\n', o);
            col = 0;
        }
    }
    if (col != 0u) (void)fputc('\n', o);
}

static int cmd_public_key(fa_run_t *r)
{
    int rc = connect_card(r);
    if (rc == 0) rc = attest_apdu(r, P1_PUBLIC, NULL, 0);
    if (rc != 0) return rc;
    if (r->resp_len != 65u || r->resp[0] != 0x04u)
        return fail3(r, "", "", "the device's public key is not a P-256 point");
    /* SubjectPublicKeyInfo: id-ecPublicKey, prime256v1, the point. */
    static const uint8_t head[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48,
                                   0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A, 0x86, 0x48,
                                   0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
    uint8_t spki[sizeof head + 65];
    memcpy(spki, head, sizeof head);
    memcpy(spki + sizeof head, r->resp, 65);
    (void)fputs("-----BEGIN PUBLIC KEY-----\n", r->t->out);
    put_b64(r->t->out, spki, sizeof spki);
    (void)fputs("-----END PUBLIC KEY-----\n", r->t->out);
    return 0;
}

static int cmd_import_batch(fa_run_t *r, char **args, unsigned n)
{
    static uint8_t data[32u + CHAIN_MAX];
    static uint8_t pem[FK_PK_PEM_MAX_LEN];
    uint8_t blob[256];
    size_t pem_len = 0, blob_len = 0, chain_len = 0;
    fk_pk_key_t key;
    memset(&key, 0, sizeof key);
    int rc = read_file(r, args[0], pem, sizeof pem, &pem_len);
    if (rc == 0 && (fk_pk_pem_load_ec(pem, pem_len, NULL, 0, blob, sizeof blob, &blob_len) !=
                        FK_CRYPTO_OK ||
                    fk_pk_parse(blob, blob_len, &key) != FK_CRYPTO_OK ||
                    key.curve != FK_CURVE_SECP256R1 || key.d.len > 32u))
        rc = fail3(r, "", args[0], " is not an unencrypted P-256 private key");
    if (rc == 0) {
        memset(data, 0, 32);
        memcpy(data + 32u - key.d.len, key.d.p, key.d.len);
        rc = load_chain(r, args + 1, n - 1u, data + 32, &chain_len);
    }
    fk_wipe(pem, sizeof pem);
    fk_wipe(blob, sizeof blob);
    fk_wipe(&key, sizeof key);
    if (rc == 0 && r->dry_run) {
        (void)fprintf(r->t->out, "dry run: would import the batch key of %s with %u certificate%s"
                                 " (%zu bytes); nothing written\n",
                      args[0], n - 1u, n == 2u ? "" : "s", chain_len);
    } else if (rc == 0) {
        (void)fputs("touch the device to import the batch attestation key\n", r->t->err);
        rc = connect_card(r);
        if (rc == 0) rc = attest_apdu(r, P1_IMPORT_BATCH, data, 32u + chain_len);
        if (rc == 0) (void)fputs("batch attestation key and chain imported\n", r->t->out);
    }
    fk_wipe(data, sizeof data);
    return rc;
}

static int cmd_install_device(fa_run_t *r, char **args, unsigned n)
{
    static uint8_t chain[CHAIN_MAX];
    size_t len = 0;
    int rc = load_chain(r, args, n, chain, &len);
    if (rc != 0) return rc;
    if (r->dry_run) {
        (void)fprintf(r->t->out, "dry run: would install %u certificate%s (%zu bytes) for the"
                                 " device key; nothing written\n",
                      n, n == 1u ? "" : "s", len);
        return 0;
    }
    (void)fputs("touch the device to install its attestation certificate\n", r->t->err);
    rc = connect_card(r);
    if (rc == 0) rc = attest_apdu(r, P1_INSTALL_EP, chain, len);
    if (rc == 0) (void)fputs("device attestation certificate installed\n", r->t->out);
    return rc;
}

static int cmd_set_rpids(fa_run_t *r, char **args, unsigned n)
{
    uint8_t list[RPIDS_MAX];
    size_t len = 0;
    if (n > RPIDS_COUNT) return fail3(r, "", "", "at most 16 RP ids");
    for (unsigned i = 0; i < n; i++) {
        const size_t l = strlen(args[i]);
        if (l == 0u || l > 255u || len + 1u + l > sizeof list)
            return fail3(r, "RP id '", args[i], "' is empty or the list is too long");
        list[len++] = (uint8_t)l;
        memcpy(list + len, args[i], l);
        len += l;
    }
    if (r->dry_run) {
        (void)fprintf(r->t->out, "dry run: would set %u enterprise RP id%s; nothing written\n", n,
                      n == 1u ? "" : "s");
        return 0;
    }
    (void)fputs("touch the device to set the enterprise RP ids\n", r->t->err);
    int rc = connect_card(r);
    if (rc == 0) rc = attest_apdu(r, P1_SET_RPIDS, list, len);
    if (rc == 0) (void)fprintf(r->t->out, "enterprise RP ids set (%u)\n", n);
    return rc;
}

/* ---- Entry ------------------------------------------------------------------------ */

#define ARGS_MAX 24u

int fk_fido_main(fk_tool_t *t, int argc, char **argv)
{
    fa_run_t *r = calloc(1, sizeof *r);
    if (r == NULL) {
        (void)fputs("fusekey: out of memory\n", t->err);
        return FK_TOOL_EXIT_FAIL;
    }
    r->t = t;
    char *pos[ARGS_MAX];
    unsigned npos = 0;
    bool help = false;
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--reader") == 0 && i + 1 < argc) r->reader = argv[++i];
        else if (strcmp(a, "--dry-run") == 0) r->dry_run = true;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) help = true;
        else if (a[0] == '-' && a[1] != '\0') {
            (void)fprintf(t->err, "fusekey: fido: unknown option %s\n%s", a, k_usage);
            rc = FK_TOOL_EXIT_USAGE;
        } else if (npos == ARGS_MAX) {
            (void)fputs("fusekey: fido: too many arguments\n", t->err);
            rc = FK_TOOL_EXIT_USAGE;
        } else {
            pos[npos++] = argv[i];
        }
    }
    if (rc == 0 && (help || (npos == 2u && strcmp(pos[1], "help") == 0))) {
        (void)fputs(k_usage, t->out);
    } else if (rc == 0) {
        /* pos[0] is "fido". */
        const char *sub = npos > 2u ? pos[2] : "";
        char **args = pos + 3;
        const unsigned n = npos > 3u ? npos - 3u : 0u;
        const bool writes = strcmp(sub, "import-batch") == 0 ||
                            strcmp(sub, "install-device") == 0 || strcmp(sub, "set-ep-rpids") == 0;
        if (npos < 3u || strcmp(pos[1], "attestation") != 0) rc = FK_TOOL_EXIT_USAGE;
        else if (r->dry_run && !writes) rc = FK_TOOL_EXIT_USAGE;
        else if (strcmp(sub, "show") == 0 && n == 0u) rc = cmd_show(r);
        else if (strcmp(sub, "public-key") == 0 && n == 0u) rc = cmd_public_key(r);
        else if (strcmp(sub, "import-batch") == 0 && n >= 2u && n <= 5u)
            rc = cmd_import_batch(r, args, n);
        else if (strcmp(sub, "install-device") == 0 && n >= 1u && n <= 4u)
            rc = cmd_install_device(r, args, n);
        else if (strcmp(sub, "set-ep-rpids") == 0) rc = cmd_set_rpids(r, args, n);
        else rc = FK_TOOL_EXIT_USAGE;
        if (rc == FK_TOOL_EXIT_USAGE) (void)fputs(k_usage, t->err);
    }
    if (r->connected) t->card->disconnect(t->card_arg);
    fk_wipe(r, sizeof *r);
    free(r);
    return rc;
}
