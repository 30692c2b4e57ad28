/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_m33.c - the cost of the crypto module's operations on a Cortex-M33,
 * in instructions, under QEMU's mps2-an505 with -icount (bench/m33/run.sh).
 *
 * With -icount shift=S every instruction advances QEMU's virtual clock by
 * 2^S ns, and the board's CMSDK timer 0 counts that clock (icount.h). The ratio of
 * timer ticks to instructions is calibrated first, on a loop of known
 * length (two instructions per iteration; the difference of two lengths
 * cancels the call overhead), and printed. Each operation then runs
 * several times and reports the median in instructions, and an estimate in
 * ms at 150 MHz assuming one cycle per instruction: a lower bound, since
 * the RP2350 pays flash (XIP) wait states and multi-cycle instructions.
 * Every result is checked (a signature verifies, a decryption gives the
 * plaintext back, a digest equals its known value); a wrong one fails the
 * program.
 *
 * Everything goes through core/crypto's own interface, as the applets use
 * it. pk.c keeps the curve groups of the last curves used warm (pk.h): the
 * "warm" figures are an operation on the curve used just before, the "cold"
 * ones drop the warm groups first (fk_pk_ec_forget), as after a reset or
 * after other curves were used. RSA contexts are built for every operation.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/ed.h"
#include "crypto/pk.h"
#include "crypto/rsa_gen.h"
#include "crypto/sym.h"
#include "icount.h"
#include "m33_port.h"

#define RUNS FK_ICOUNT_RUNS
#define KEYGEN_SEEDS 16u

static void check(int ok, const char *what)
{
    if (!ok) {
        printf("FAILED: %s\n", what);
        exit(1);
    }
}

/* ---- The operations ------------------------------------------------------ */

static uint8_t g_hash[32] = {0x5f, 0x70, 0xbf};
static uint8_t g_blob[FK_PK_BLOB_MAX], g_blob2[FK_PK_BLOB_MAX];
static fk_pk_key_t g_key, g_key2;
static uint8_t g_sig[FK_PK_RSA_MAX_LEN];
static size_t g_sig_len;
static uint8_t g_msg[1024], g_out[1024], g_back[1024], g_tag[16];
static uint8_t g_seed[57], g_pub[57];

static void ecdsa_sign(void)
{
    check(fk_pk_ecdsa_sign(&g_key, g_hash, 32, FK_SIG_DER, g_sig, sizeof g_sig, &g_sig_len) ==
              FK_CRYPTO_OK,
          "ECDSA sign");
}

static void ecdsa_sign_cold(void)
{
    fk_pk_ec_forget();
    ecdsa_sign();
}

static void ecdsa_verify(void)
{
    fk_pk_public_t pub;
    fk_pk_public_of(&g_key, &pub);
    check(fk_pk_ecdsa_verify(&pub, g_hash, 32, FK_SIG_DER, g_sig, g_sig_len) == FK_CRYPTO_OK,
          "ECDSA verify");
}

static void ecdsa_verify_cold(void)
{
    fk_pk_ec_forget();
    ecdsa_verify();
}

static void rsa_sign(void)
{
    check(fk_pk_rsa_sign_pkcs1(&g_key, FK_HASH_SHA256, g_hash, 32, g_sig, sizeof g_sig,
                               &g_sig_len) == FK_CRYPTO_OK,
          "RSA sign");
}

static void rsa_verify(void)
{
    fk_pk_public_t pub;
    fk_pk_public_of(&g_key, &pub);
    check(fk_pk_rsa_verify_pkcs1(&pub, FK_HASH_SHA256, g_hash, 32, g_sig, g_sig_len) ==
              FK_CRYPTO_OK,
          "RSA verify");
}

static void x25519(void)
{
    uint8_t a[32], b[32];
    size_t la = 0, lb = 0;
    check(fk_pk_ecdh(&g_key, g_key2.pub.p, g_key2.pub.len, a, sizeof a, &la) == FK_CRYPTO_OK &&
              fk_pk_ecdh(&g_key2, g_key.pub.p, g_key.pub.len, b, sizeof b, &lb) == FK_CRYPTO_OK &&
              la == 32 && lb == 32 && memcmp(a, b, 32) == 0,
          "X25519 agreement");
}

static void ed25519_sign(void)
{
    check(fk_ed_sign(FK_CURVE_X25519, g_seed, g_pub, g_hash, 32, g_sig) == FK_CRYPTO_OK,
          "Ed25519 sign");
}

static void ed25519_verify(void)
{
    check(fk_ed_verify(FK_CURVE_X25519, g_pub, g_hash, 32, g_sig, 64) == FK_CRYPTO_OK,
          "Ed25519 verify");
}

static void gcm_seal(void)
{
    static const uint8_t key[32] = {1}, nonce[12] = {2};
    check(fk_aes_aead_seal(FK_AES_GCM, key, 32, nonce, 12, NULL, 0, g_msg, sizeof g_msg, g_out,
                           g_tag, 16) == FK_CRYPTO_OK,
          "AES-GCM seal");
}

static void gcm_open(void)
{
    static const uint8_t key[32] = {1}, nonce[12] = {2};
    check(fk_aes_aead_open(FK_AES_GCM, key, 32, nonce, 12, NULL, 0, g_out, sizeof g_out, g_tag,
                           16, g_back) == FK_CRYPTO_OK &&
              memcmp(g_back, g_msg, sizeof g_msg) == 0,
          "AES-GCM open");
}

static void sha256_1k(void)
{
    static const uint8_t k_zero_1k[32] = {
        0x5f, 0x70, 0xbf, 0x18, 0xa0, 0x86, 0x00, 0x70, 0x16, 0xe9, 0x48, 0xb0, 0x4a, 0xed, 0x3b, 0x82,
        0x10, 0x3a, 0x36, 0xbe, 0xa4, 0x17, 0x55, 0xb6, 0xcd, 0xdf, 0xaf, 0x10, 0xac, 0xe3, 0xc6, 0xef};
    static const uint8_t zeros[1024];
    uint8_t out[32];
    fk_sha256(zeros, sizeof zeros, out);
    check(memcmp(out, k_zero_1k, 32) == 0, "SHA-256 of 1 KiB of zeros");
}

/* RSA-2048 key generation, mean over KEYGEN_SEEDS runs with the test
 * generator (and so the DRBG) seeded 1, 2, ...: the prime search's length
 * varies with the candidates, so one run says little. */
static double rsa_keygen_mean(void)
{
    double sum = 0.0, lo = 0.0, hi = 0.0;
    char how[64];
    size_t len = 0;
    for (uint32_t seed = 1; seed <= KEYGEN_SEEDS; seed++) {
        fk_m33_seed(seed);
        fk_rng_forget();
        const uint32_t t0 = fk_icount_now();
        check(fk_pk_rsa_generate(2048, 65537, NULL, NULL, g_blob, sizeof g_blob, &len) ==
                  FK_CRYPTO_OK,
              "RSA-2048 key generation");
        const double insns = fk_icount_insns(t0, fk_icount_now());
        sum += insns;
        if (seed == 1u || insns < lo) lo = insns;
        if (seed == 1u || insns > hi) hi = insns;
    }
    snprintf(how, sizeof how, "mean of %u seeds; %.1f M to %.1f M", KEYGEN_SEEDS, lo / 1e6,
             hi / 1e6);
    fk_icount_print("RSA-2048 key generation", sum / KEYGEN_SEEDS, how);
    return sum / KEYGEN_SEEDS;
}

/* The lockstep run's clock: instructions since the key's start. */
static uint32_t g_key_start;

static uint64_t key_clock(void)
{
    return (uint64_t)fk_icount_insns(g_key_start, fk_icount_now());
}

/* RSA-2048 key generation with the prime search on two cores, over the same
 * seeds: the board has one core, so rsa_gen.c steps the second core's job
 * on this one in a deterministic interleaving (fk_rsa_gen_lockstep: two
 * cores of equal speed, each side's instructions counted), and the figure
 * is core 0's instructions until the key is complete. */
static void rsa_keygen_two_cores_mean(double single)
{
    double sum = 0.0, sum1 = 0.0, lo = 0.0, hi = 0.0;
    unsigned from_pool = 0;
    char how[96];
    for (uint32_t seed = 1; seed <= KEYGEN_SEEDS; seed++) {
        uint64_t t0 = 0, t1 = 0;
        fk_rsa_gen_stats_t st;
        fk_m33_seed(seed);
        fk_rng_forget();
        g_key_start = fk_icount_now();
        check(fk_rsa_gen_lockstep(2048, 65537, key_clock, &t0, &t1) == FK_CRYPTO_OK,
              "RSA-2048 key generation on two cores");
        fk_rsa_gen_last_stats(&st);
        from_pool += st.used_from_pool;
        sum += (double)t0;
        sum1 += (double)t1;
        if (seed == 1u || (double)t0 < lo) lo = (double)t0;
        if (seed == 1u || (double)t0 > hi) hi = (double)t0;
    }
    snprintf(how, sizeof how, "core 0, mean of %u seeds; %.1f M to %.1f M", KEYGEN_SEEDS,
             lo / 1e6, hi / 1e6);
    fk_icount_print("RSA-2048 key generation, 2 cores", sum / KEYGEN_SEEDS, how);
    printf("  two cores: speed-up %.2fx over one core (same seeds); the second core worked "
           "%.1f M per key, %u of %u primes came from its pool\n",
           single / (sum / KEYGEN_SEEDS), sum1 / KEYGEN_SEEDS / 1e6, from_pool, 2u * KEYGEN_SEEDS);
}

static void load_ec(fk_curve_t c, uint8_t *blob, fk_pk_key_t *key)
{
    size_t len = 0;
    check(fk_pk_ec_generate(c, blob, FK_PK_BLOB_MAX, &len) == FK_CRYPTO_OK &&
              fk_pk_parse(blob, len, key) == FK_CRYPTO_OK,
          "EC key generation");
}

int main(void)
{
    size_t len = 0;
    fk_icount_calibrate();
    for (size_t i = 0; i < sizeof g_msg; i++) g_msg[i] = (uint8_t)i;

    load_ec(FK_CURVE_SECP256R1, g_blob, &g_key);
    fk_icount_measure("ECDSA P-256 sign (cold group)", ecdsa_sign_cold, RUNS);
    fk_icount_measure("ECDSA P-256 sign (warm group)", ecdsa_sign, RUNS);
    fk_icount_measure("ECDSA P-256 verify (cold group)", ecdsa_verify_cold, RUNS);
    fk_icount_measure("ECDSA P-256 verify (warm group)", ecdsa_verify, RUNS);
    load_ec(FK_CURVE_SECP256K1, g_blob, &g_key);
    fk_icount_measure("ECDSA secp256k1 sign (cold)", ecdsa_sign_cold, RUNS);
    fk_icount_measure("ECDSA secp256k1 sign (warm)", ecdsa_sign, RUNS);
    fk_icount_measure("ECDSA secp256k1 verify (warm)", ecdsa_verify, RUNS);
    load_ec(FK_CURVE_X25519, g_blob, &g_key);
    load_ec(FK_CURVE_X25519, g_blob2, &g_key2);
    fk_icount_measure("X25519 (two agreements)", x25519, RUNS);
    check(fk_ed_generate(FK_CURVE_X25519, g_seed, g_pub) == FK_CRYPTO_OK, "Ed25519 key");
    fk_icount_measure("Ed25519 sign (32 bytes)", ed25519_sign, RUNS);
    fk_icount_measure("Ed25519 verify (32 bytes)", ed25519_verify, RUNS);
    check(fk_pk_rsa_generate(2048, 65537, NULL, NULL, g_blob, sizeof g_blob, &len) ==
                  FK_CRYPTO_OK &&
              fk_pk_parse(g_blob, len, &g_key) == FK_CRYPTO_OK,
          "RSA-2048 key generation");
    fk_icount_measure("RSA-2048 PKCS#1 v1.5 sign (CRT)", rsa_sign, RUNS);
    fk_icount_measure("RSA-2048 verify (e = 65537)", rsa_verify, RUNS);
    fk_icount_measure("AES-256-GCM seal 1 KiB", gcm_seal, RUNS);
    fk_icount_measure("AES-256-GCM open 1 KiB", gcm_open, RUNS);
    fk_icount_measure("SHA-256 of 1 KiB", sha256_1k, RUNS);
    rsa_keygen_two_cores_mean(rsa_keygen_mean());
    return 0;
}
