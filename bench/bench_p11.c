/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_p11.c - fk-bench-p11: fusekey-sim as a PKCS#11 application sees it,
 * through OpenSC's PKCS#11 module, pcscd and vpcd, against SoftHSM2 (an
 * in-process software token) as the reference, in one process and one run.
 *
 * Both modules are loaded with dlopen and driven through the PKCS#11 C API
 * alike: log in, generate RSA-2048 key pairs (C_GenerateKeyPair, a few runs,
 * interleaved, median time) and an EC P-256 key pair, then sign in
 * interleaved rounds (the token measured first alternates): CKM_ECDSA over
 * a 32-byte digest and CKM_SHA256_RSA_PKCS over a short message, one
 * C_SignInit + C_Sign per signature. It prints both tokens' figures and the
 * ratios fusekey / SoftHSM2. Every call is checked and the first signature
 * of each kind is verified with C_Verify where the module offers it; there
 * is no threshold.
 *
 * The fusekey card must be initialized and the SoftHSM2 token (found by its
 * label, SOFTHSM2_CONF in the environment) created with the same user PIN
 * beforehand: bench/run_keys.sh does both.
 *
 * Usage: fk-bench-p11 --opensc MODULE --softhsm MODULE [--pin PIN]
 *                     [--softhsm-label LABEL] [--keygen-runs N] [--rounds N]
 *                     [--ec-count N] [--rsa-count N]
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

#include "bench_util.h"

#define DEFAULT_PIN "648219"
#define DEFAULT_SOFTHSM_LABEL "fk-bench"
#define DEFAULT_KEYGEN_RUNS 5u
#define DEFAULT_ROUNDS 7u
#define DEFAULT_EC_COUNT 200u
#define DEFAULT_RSA_COUNT 60u
#define NS_PER_MS 1e6
#define MAX_SLOTS 64u
#define TOKEN_LABEL_LEN 32u /* CK_TOKEN_INFO label: blank padded, no NUL */
#define RSA_BITS 2048u
#define RSA_SIG_LEN (RSA_BITS / 8u)
#define EC_SIG_LEN 64u /* r || s of P-256 */
#define SIG_MAX 512u
#define DIGEST_LEN 32u
#define MESSAGE_LEN 64u
#define EC_KEY_ID 0x01u
#define RSA_KEY_ID_FIRST 0x10u

/* DER of the named curve prime256v1 (CKA_EC_PARAMS). */
static const CK_BYTE k_p256_params[] = {0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
static const CK_BYTE k_rsa_e[] = {0x01, 0x00, 0x01};

typedef struct token {
    const char *name; /* "fusekey" or "softhsm" in the output */
    const char *module;
    const char *want_label; /* NULL: the first initialized token */
    void *dl;
    CK_FUNCTION_LIST_PTR fn;
    bool initialized, open, logged_in;
    CK_SESSION_HANDLE session;
    CK_OBJECT_HANDLE rsa_priv, rsa_pub, ec_priv, ec_pub;
    double *keygen_ms;           /* RSA-2048, per run */
    double ec_keygen_ms;         /* EC P-256, one run */
    double *ec_rate, *rsa_rate;  /* signatures per second, per round */
} token_t;

typedef struct options {
    const char *opensc, *softhsm, *pin, *softhsm_label;
    unsigned keygen_runs, rounds, ec_count, rsa_count;
} options_t;

/* Sanitizer builds: leaks inside the loaded modules are not this program's
 * (OpenSC 0.23 loses a few bytes per EC key generation). LeakSanitizer calls
 * this; other builds ignore it. The modules stay loaded (no dlclose) so that
 * their frames can be matched. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libopensc.so\nleak:opensc-pkcs11.so\nleak:libsofthsm2.so\n";
}

/* True for CKR_OK; otherwise prints which call of which token failed. */
static bool ok(const token_t *t, const char *call, CK_RV rv)
{
    if (rv == CKR_OK) return true;
    fprintf(stderr, "fk-bench-p11: %s: %s returned CKR 0x%08lX\n", t->name, call,
            (unsigned long)rv);
    return false;
}

/* The slot whose token label is t->want_label (blank padded), or with no
 * label wanted the first slot with an initialized token. */
static bool find_slot(token_t *t, CK_SLOT_ID *slot)
{
    CK_SLOT_ID slots[MAX_SLOTS];
    CK_ULONG n = MAX_SLOTS;
    if (!ok(t, "C_GetSlotList", t->fn->C_GetSlotList(CK_TRUE, slots, &n))) return false;
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO info;
        if (t->fn->C_GetTokenInfo(slots[i], &info) != CKR_OK) continue;
        if (!(info.flags & CKF_TOKEN_INITIALIZED)) continue;
        if (t->want_label != NULL) {
            char padded[TOKEN_LABEL_LEN];
            size_t len = strlen(t->want_label);
            if (len > TOKEN_LABEL_LEN) continue;
            memset(padded, ' ', sizeof(padded));
            memcpy(padded, t->want_label, len);
            if (memcmp(info.label, padded, sizeof(padded)) != 0) continue;
        }
        *slot = slots[i];
        return true;
    }
    fprintf(stderr, "fk-bench-p11: %s: no initialized token%s%s in %s\n", t->name,
            t->want_label ? " labelled " : "", t->want_label ? t->want_label : "", t->module);
    return false;
}

/* Load the module, initialize it, open a read-write session and log in. */
static bool token_open(token_t *t, const char *pin)
{
    CK_C_GetFunctionList get_list;
    CK_SLOT_ID slot;

    t->dl = dlopen(t->module, RTLD_NOW | RTLD_LOCAL);
    if (t->dl == NULL) {
        fprintf(stderr, "fk-bench-p11: %s: %s\n", t->name, dlerror());
        return false;
    }
    get_list = (CK_C_GetFunctionList)dlsym(t->dl, "C_GetFunctionList");
    if (get_list == NULL) {
        fprintf(stderr, "fk-bench-p11: %s: no C_GetFunctionList in %s\n", t->name, t->module);
        return false;
    }
    if (!ok(t, "C_GetFunctionList", get_list(&t->fn))) return false;
    if (!ok(t, "C_Initialize", t->fn->C_Initialize(NULL))) return false;
    t->initialized = true;
    if (!find_slot(t, &slot)) return false;
    if (!ok(t, "C_OpenSession", t->fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
                                                      NULL, NULL, &t->session)))
        return false;
    t->open = true;
    CK_RV rv = t->fn->C_Login(t->session, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
    if (rv == CKR_USER_ALREADY_LOGGED_IN) rv = CKR_OK;
    if (!ok(t, "C_Login", rv)) return false;
    t->logged_in = true;
    return true;
}

static void token_close(token_t *t)
{
    if (t->logged_in) (void)t->fn->C_Logout(t->session);
    if (t->open) (void)t->fn->C_CloseSession(t->session);
    if (t->initialized) (void)t->fn->C_Finalize(NULL);
    t->logged_in = t->open = t->initialized = false;
}

/* Generate an RSA-2048 (rsa) or EC P-256 key pair with id `id` on the
 * token; the handles go to t->rsa_* / t->ec_*. *ms is the time it took. */
static bool generate(token_t *t, bool rsa, CK_BYTE id, double *ms)
{
    CK_BBOOL yes = CK_TRUE;
    CK_ULONG bits = RSA_BITS;
    CK_BYTE key_id[] = {id};
    char name[16];
    snprintf(name, sizeof(name), "fkbench%02X", id);
    CK_MECHANISM mech = {rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK_ATTRIBUTE pub_rsa[] = {
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_VERIFY, &yes, sizeof(yes)},
        {CKA_MODULUS_BITS, &bits, sizeof(bits)},
        {CKA_PUBLIC_EXPONENT, (void *)k_rsa_e, sizeof(k_rsa_e)},
        {CKA_ID, key_id, sizeof(key_id)},
        {CKA_LABEL, name, strlen(name)},
    };
    CK_ATTRIBUTE pub_ec[] = {
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_VERIFY, &yes, sizeof(yes)},
        {CKA_EC_PARAMS, (void *)k_p256_params, sizeof(k_p256_params)},
        {CKA_ID, key_id, sizeof(key_id)},
        {CKA_LABEL, name, strlen(name)},
    };
    CK_ATTRIBUTE priv[] = {
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_PRIVATE, &yes, sizeof(yes)},
        {CKA_SENSITIVE, &yes, sizeof(yes)},
        {CKA_SIGN, &yes, sizeof(yes)},
        {CKA_ID, key_id, sizeof(key_id)},
        {CKA_LABEL, name, strlen(name)},
    };
    CK_OBJECT_HANDLE *pub = rsa ? &t->rsa_pub : &t->ec_pub;
    CK_OBJECT_HANDLE *prv = rsa ? &t->rsa_priv : &t->ec_priv;

    uint64_t t0 = now_ns();
    CK_RV rv = t->fn->C_GenerateKeyPair(
        t->session, &mech, rsa ? pub_rsa : pub_ec,
        rsa ? sizeof(pub_rsa) / sizeof(pub_rsa[0]) : sizeof(pub_ec) / sizeof(pub_ec[0]), priv,
        sizeof(priv) / sizeof(priv[0]), pub, prv);
    *ms = (double)(now_ns() - t0) / NS_PER_MS;
    return ok(t, rsa ? "C_GenerateKeyPair (RSA-2048)" : "C_GenerateKeyPair (EC P-256)", rv);
}

/* One signature: C_SignInit + C_Sign; checks the length. */
static bool sign_once(token_t *t, bool rsa, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *sig,
                      CK_ULONG *sig_len)
{
    CK_MECHANISM mech = {rsa ? CKM_SHA256_RSA_PKCS : CKM_ECDSA, NULL, 0};
    const CK_ULONG want = rsa ? RSA_SIG_LEN : EC_SIG_LEN;
    *sig_len = SIG_MAX;
    if (!ok(t, "C_SignInit", t->fn->C_SignInit(t->session, &mech, rsa ? t->rsa_priv : t->ec_priv)))
        return false;
    if (!ok(t, "C_Sign", t->fn->C_Sign(t->session, (CK_BYTE_PTR)in, in_len, sig, sig_len)))
        return false;
    if (*sig_len != want) {
        fprintf(stderr, "fk-bench-p11: %s: %s signature of %lu bytes, expected %lu\n", t->name,
                rsa ? "RSA" : "ECDSA", (unsigned long)*sig_len, (unsigned long)want);
        return false;
    }
    return true;
}

/* Sign once and verify the signature with the public key on the token
 * (skipped with a note when the module does not verify). */
static bool sign_and_verify(token_t *t, bool rsa, const CK_BYTE *in, CK_ULONG in_len)
{
    CK_BYTE sig[SIG_MAX];
    CK_ULONG sig_len;
    CK_MECHANISM mech = {rsa ? CKM_SHA256_RSA_PKCS : CKM_ECDSA, NULL, 0};
    if (!sign_once(t, rsa, in, in_len, sig, &sig_len)) return false;
    CK_RV rv = t->fn->C_VerifyInit(t->session, &mech, rsa ? t->rsa_pub : t->ec_pub);
    if (rv == CKR_FUNCTION_NOT_SUPPORTED || rv == CKR_MECHANISM_INVALID) {
        printf("fk-bench-p11: %s: C_Verify not offered; %s signature not verified\n", t->name,
               rsa ? "RSA" : "ECDSA");
        return true;
    }
    if (!ok(t, "C_VerifyInit", rv)) return false;
    return ok(t, rsa ? "C_Verify (RSA)" : "C_Verify (ECDSA)",
              t->fn->C_Verify(t->session, (CK_BYTE_PTR)in, in_len, sig, sig_len));
}

/* n signatures; the rate in signatures per second, or a negative value. */
static double sign_rate(token_t *t, bool rsa, const CK_BYTE *in, CK_ULONG in_len, unsigned n)
{
    CK_BYTE sig[SIG_MAX];
    CK_ULONG sig_len;
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < n; i++) {
        if (!sign_once(t, rsa, in, in_len, sig, &sig_len)) return -1.0;
    }
    return (double)n * (double)NS_PER_S / (double)(now_ns() - t0);
}

static bool parse_args(int argc, char **argv, options_t *o)
{
    *o = (options_t){NULL, NULL, DEFAULT_PIN, DEFAULT_SOFTHSM_LABEL, DEFAULT_KEYGEN_RUNS,
                     DEFAULT_ROUNDS, DEFAULT_EC_COUNT, DEFAULT_RSA_COUNT};
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool good = v != NULL;
        if (good && strcmp(a, "--opensc") == 0) {
            o->opensc = v;
        } else if (good && strcmp(a, "--softhsm") == 0) {
            o->softhsm = v;
        } else if (good && strcmp(a, "--pin") == 0) {
            o->pin = v;
        } else if (good && strcmp(a, "--softhsm-label") == 0) {
            o->softhsm_label = v;
        } else if (good && strcmp(a, "--keygen-runs") == 0) {
            good = parse_count(v, &o->keygen_runs);
        } else if (good && strcmp(a, "--rounds") == 0) {
            good = parse_count(v, &o->rounds);
        } else if (good && strcmp(a, "--ec-count") == 0) {
            good = parse_count(v, &o->ec_count);
        } else if (good && strcmp(a, "--rsa-count") == 0) {
            good = parse_count(v, &o->rsa_count);
        } else {
            good = false;
        }
        if (!good) return false;
    }
    return o->opensc != NULL && o->softhsm != NULL;
}

static int usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s --opensc MODULE --softhsm MODULE [--pin PIN] [--softhsm-label LABEL]\n"
            "          [--keygen-runs N] [--rounds N] [--ec-count N] [--rsa-count N]\n",
            prog);
    return 2;
}

/* Print one line of per-run or per-round values and their median. */
static void print_series(const char *name, const double *v, unsigned n, const char *unit)
{
    printf("  %-8s", name);
    for (unsigned i = 0; i < n; i++) printf(" %8.1f", v[i]);
    printf("   median %9.1f %s\n", median(v, n), unit);
}

int main(int argc, char **argv)
{
    options_t o;
    if (!parse_args(argc, argv, &o)) return usage(argv[0]);
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress shows while the rounds run */

    token_t fk = {.name = "fusekey", .module = o.opensc};
    token_t soft = {.name = "softhsm", .module = o.softhsm, .want_label = o.softhsm_label};
    token_t *tokens[] = {&fk, &soft};
    const size_t n_tokens = sizeof(tokens) / sizeof(tokens[0]);
    CK_BYTE digest[DIGEST_LEN], message[MESSAGE_LEN];
    int status = 1;

    for (size_t i = 0; i < sizeof(digest); i++) digest[i] = (CK_BYTE)(0xA5u ^ (i * 7u));
    for (size_t i = 0; i < sizeof(message); i++) message[i] = (CK_BYTE)('a' + i % 26u);
    for (size_t i = 0; i < n_tokens; i++) {
        tokens[i]->keygen_ms = calloc(o.keygen_runs, sizeof(double));
        tokens[i]->ec_rate = calloc(o.rounds, sizeof(double));
        tokens[i]->rsa_rate = calloc(o.rounds, sizeof(double));
        if (!tokens[i]->keygen_ms || !tokens[i]->ec_rate || !tokens[i]->rsa_rate) {
            fprintf(stderr, "fk-bench-p11: out of memory\n");
            goto out;
        }
    }
    for (size_t i = 0; i < n_tokens; i++) {
        if (!token_open(tokens[i], o.pin)) goto out;
    }

    printf("fk-bench-p11: fusekey-sim (OpenSC PKCS#11, pcscd, vpcd) vs SoftHSM2, one process\n");
    /* RSA-2048 generation, interleaved; the last key of each token signs. */
    for (unsigned r = 0; r < o.keygen_runs; r++) {
        const CK_BYTE id = (CK_BYTE)(RSA_KEY_ID_FIRST + r);
        for (size_t k = 0; k < n_tokens; k++) {
            token_t *t = tokens[(k + r) % n_tokens];
            if (!generate(t, true, id, &t->keygen_ms[r])) goto out;
        }
    }
    for (size_t k = 0; k < n_tokens; k++) {
        if (!generate(tokens[k], false, EC_KEY_ID, &tokens[k]->ec_keygen_ms)) goto out;
    }
    printf("RSA-2048 key generation (C_GenerateKeyPair), ms per run:\n");
    for (size_t k = 0; k < n_tokens; k++)
        print_series(tokens[k]->name, tokens[k]->keygen_ms, o.keygen_runs, "ms");
    double gen_fk = median(fk.keygen_ms, o.keygen_runs);
    double gen_soft = median(soft.keygen_ms, o.keygen_runs);
    printf("  ratio fusekey/softhsm (medians): %.2f (RSA generation time varies widely from run "
           "to run)\n",
           gen_soft > 0 ? gen_fk / gen_soft : 0.0);
    printf("EC P-256 key generation: fusekey %.1f ms, softhsm %.1f ms (one run)\n",
           fk.ec_keygen_ms, soft.ec_keygen_ms);

    for (size_t k = 0; k < n_tokens; k++) {
        if (!sign_and_verify(tokens[k], false, digest, sizeof(digest)) ||
            !sign_and_verify(tokens[k], true, message, sizeof(message)))
            goto out;
    }
    printf("signatures per second, %u rounds x %u ECDSA / %u RSA per token, interleaved:\n",
           o.rounds, o.ec_count, o.rsa_count);
    for (unsigned r = 0; r < o.rounds; r++) {
        for (size_t k = 0; k < n_tokens; k++) {
            token_t *t = tokens[(k + r) % n_tokens];
            t->ec_rate[r] = sign_rate(t, false, digest, sizeof(digest), o.ec_count);
            t->rsa_rate[r] = sign_rate(t, true, message, sizeof(message), o.rsa_count);
            if (t->ec_rate[r] < 0 || t->rsa_rate[r] < 0) goto out;
        }
    }
    printf(" ECDSA P-256 (CKM_ECDSA, 32-byte digest), signatures/s per round:\n");
    for (size_t k = 0; k < n_tokens; k++)
        print_series(tokens[k]->name, tokens[k]->ec_rate, o.rounds, "sig/s");
    printf(" RSA-2048 (CKM_SHA256_RSA_PKCS), signatures/s per round:\n");
    for (size_t k = 0; k < n_tokens; k++)
        print_series(tokens[k]->name, tokens[k]->rsa_rate, o.rounds, "sig/s");

    double ec_fk = median(fk.ec_rate, o.rounds), ec_soft = median(soft.ec_rate, o.rounds);
    double rsa_fk = median(fk.rsa_rate, o.rounds), rsa_soft = median(soft.rsa_rate, o.rounds);
    printf("%-36s %10s %10s %16s\n", "summary (medians)", "fusekey", "softhsm",
           "fusekey/softhsm");
    printf("%-36s %10.1f %10.1f %16.3f\n", "RSA-2048 key generation, ms", gen_fk, gen_soft,
           gen_soft > 0 ? gen_fk / gen_soft : 0.0);
    printf("%-36s %10.1f %10.1f %16.3f\n", "ECDSA P-256 signatures/s", ec_fk, ec_soft,
           ec_fk / ec_soft);
    printf("%-36s %10.1f %10.1f %16.3f\n", "RSA-2048 SHA256-PKCS signatures/s", rsa_fk, rsa_soft,
           rsa_fk / rsa_soft);
    status = 0;

out:
    for (size_t i = 0; i < n_tokens; i++) {
        token_close(tokens[i]);
        free(tokens[i]->keygen_ms);
        free(tokens[i]->ec_rate);
        free(tokens[i]->rsa_rate);
    }
    return status;
}
