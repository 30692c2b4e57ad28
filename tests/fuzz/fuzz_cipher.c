/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the HSM's CIPHER command without a card. The input
 * chooses a command and a key shape; hsm_cipher_prepare must answer a status
 * word and, when it accepts, promise an output that fits the room it was
 * given; hsm_cipher_run then runs with a key of that shape into a heap
 * buffer of exactly that many bytes (so ASan sees any overrun), and every
 * encryption is decrypted again and must give back its input. A tag or a
 * padding that does not verify must leave the output all zero.
 *
 * Input: P2 selector, key selector, flags, Le (2 bytes, big-endian), room
 * selector, then the command data (copied into a buffer of exactly its
 * length).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apdu.h"
#include "hsm_internal.h"
#include "services/keyobj.h"

#define HEADER_LEN 6u
#define PBKDF2_FUZZ_MAX_ITER 2000u /* more is correct but too slow to fuzz */

static const uint8_t k_p2[] = {HSM_ALG_AES_CBC_ENCRYPT, HSM_ALG_AES_CBC_DECRYPT, HSM_ALG_AES_CMAC,
                               HSM_ALG_AES_DERIVE,      HSM_ALG_EXT_ENCRYPT,     HSM_ALG_EXT_DECRYPT};

static uint8_t g_key[128];

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

/* Decrypt what c produced (out_len bytes) and compare with c's input. */
static void check_roundtrip(const hsm_cipher_t *c, const uint8_t *out, size_t out_len,
                            size_t key_len)
{
    hsm_cipher_t d = *c;
    if (c->iv.p == c->iv_buf) d.iv.p = d.iv_buf; /* the copy's own zero IV */
    d.encrypt = false;
    d.in = (fk_bytes_t){out, out_len};
    d.out_len = c->alg == HSM_CIPHER_PBES2 ? out_len : c->in.len; /* PBES2: at most */
    uint8_t *back = malloc(d.out_len ? d.out_len : 1);
    if (back == NULL) abort();
    size_t n = 0;
    if (hsm_cipher_run(&d, g_key, key_len, NULL, NULL, back, &n) != FK_SW_OK) abort();
    if (n != c->in.len || (n && memcmp(back, c->in.p, n) != 0)) abort();
    free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER_LEN) return 0;
    const uint8_t p2sel = data[0], keysel = data[1], flags = data[2], roomsel = data[5];
    const size_t le = ((size_t)data[3] << 8) | data[4];

    /* The key: AES of 16/24/32/64 bytes, a generic secret of 1-128 bytes,
     * or an EC key (which CIPHER must refuse). */
    uint8_t kind;
    size_t key_len;
    switch (keysel & 0x07u) {
    case 0: kind = FK_KEY_AES, key_len = 16; break;
    case 1: kind = FK_KEY_AES, key_len = 24; break;
    case 2: kind = FK_KEY_AES, key_len = 32; break;
    case 3: kind = FK_KEY_AES, key_len = 64; break;
    case 4:
    case 5: kind = FK_KEY_HMAC, key_len = 1u + (keysel >> 1); break;
    default: kind = FK_KEY_EC, key_len = 32; break;
    }
    for (size_t i = 0; i < sizeof(g_key); i++) g_key[i] = (uint8_t)(i * 29u + keysel);

    const size_t nc = size - HEADER_LEN;
    uint8_t *body = nc ? malloc(nc) : NULL;
    if (nc && body == NULL) return 0;
    if (nc) memcpy(body, data + HEADER_LEN, nc);
    fk_apdu_t cmd = {
        .cla = 0x80,
        .ins = 0x78,
        .p1 = 0x01,
        .p2 = (p2sel & 0x80u) ? p2sel : k_p2[p2sel % sizeof(k_p2)],
        .data = body,
        .nc = nc,
        .ne = (flags & 1u) ? (le ? le : 65536u) : (flags & 2u) ? (le & 0xFFu ? le & 0xFFu : 256u) : 0,
        .extended = (flags & 1u) != 0,
    };
    const size_t room = (roomsel & 0x80u) ? roomsel & 0x7Fu : 65536u;

    hsm_cipher_t c;
    const fk_sw_t sw = hsm_cipher_prepare(&cmd, kind, key_len, room, &c);
    if (sw != FK_SW_OK) {
        if (sw != FK_SW_WRONG_DATA && sw != FK_SW_FUNC_NOT_SUPPORTED && sw != FK_SW_WRONG_LENGTH &&
            sw != FK_SW_INCORRECT_P1P2)
            abort();
        free(body);
        return 0;
    }
    if (c.out_len > room) abort();
    if (kind == FK_KEY_EC) abort(); /* never for a key pair */
    if ((c.alg == HSM_CIPHER_PBKDF2 || c.alg == HSM_CIPHER_PBES2) &&
        c.iterations > PBKDF2_FUZZ_MAX_ITER) {
        free(body);
        return 0;
    }

    uint8_t *out = malloc(c.out_len ? c.out_len : 1);
    if (out == NULL) abort();
    size_t n = 0;
    const fk_sw_t run = hsm_cipher_run(&c, g_key, key_len, NULL, NULL, out, &n);
    if (run == FK_SW_WRONG_DATA) {
        /* Only a tag or a padding that does not verify, and then nothing is left. */
        if (c.encrypt ||
            (c.alg != HSM_CIPHER_AEAD && c.alg != HSM_CIPHER_CHACHAPOLY && c.alg != HSM_CIPHER_PBES2))
            abort();
        if (n != 0 || !all_zero(out, c.out_len)) abort();
    } else if (run != FK_SW_OK || n > c.out_len ||
               (n != c.out_len && (c.alg != HSM_CIPHER_PBES2 || c.encrypt))) {
        abort();
    } else if (c.encrypt && (c.alg == HSM_CIPHER_AES || c.alg == HSM_CIPHER_AEAD ||
                             c.alg == HSM_CIPHER_CHACHAPOLY || c.alg == HSM_CIPHER_PBES2)) {
        check_roundtrip(&c, out, n, key_len);
    }
    free(out);
    free(body);
    return 0;
}
