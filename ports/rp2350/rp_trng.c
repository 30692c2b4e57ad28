/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_trng.c - fk_hal_random from the TRNG's raw ring-oscillator samples
 * (docs/rp2350.md, "Random numbers").
 *
 * The block's own health tests are bypassed (as the ROM does: they reject
 * too much of this source), so this file runs its own on every raw word
 * it uses, and fails closed - FK_HAL_EIO, the caller's buffer wiped -
 * rather than hand out anything from a source that looks broken:
 *   - repetition count: the same 32-bit word RCT_CUTOFF times in a row;
 *   - adaptive proportion: in each window of APT_WORDS words (1024 bits)
 *     the number of one bits must lie in [APT_MIN_ONES, APT_MAX_ONES],
 *     i.e. no worse than a 3:1 bias;
 *   - stuck bit: over each block of raw words every one of the 32 bit
 *     positions must have been seen both 0 and 1.
 * Conditioning: each 32-byte output block is SHA-256 over a block counter
 * and RAW_WORDS_PER_BLOCK raw words (3072 bits: 12 raw bits per output
 * bit). The hash is the crypto module's (core/crypto, tested with known
 * answers on the host and the Cortex-M33), not the SHA-256 accelerator:
 * one implementation less to prove, at ~100 us per output block.
 * Between reads the oscillator chain length follows two raw bits, as the
 * ROM does against injection locking.
 */
#include <string.h>

#include "crypto/crypto.h"
#include "hal.h"
#include "rp_mmio.h"
#include "rp_port.h"
#include "rp_regs.h"
#include "util.h"

#define EHR_READS_PER_BLOCK 16u
#define RAW_WORDS_PER_BLOCK (EHR_READS_PER_BLOCK * RP_TRNG_EHR_WORDS)
#define RCT_CUTOFF 3u
#define APT_WORDS 32u
#define APT_BITS (APT_WORDS * 32u)
#define APT_MIN_ONES (APT_BITS / 4u)
#define APT_MAX_ONES (APT_BITS - APT_BITS / 4u)
#define BUSY_POLL_LIMIT 1000000u

_Static_assert(RAW_WORDS_PER_BLOCK % APT_WORDS == 0u, "APT windows tile a block");
_Static_assert(RAW_WORDS_PER_BLOCK * 32u >= 8u * 8u * FK_SHA256_LEN, ">= 8 raw bits per bit");

static bool trng_ready;

typedef struct health {
    uint32_t last;
    unsigned run;       /* times `last` was seen in a row */
    unsigned apt_words; /* words in the current window */
    unsigned apt_ones;
    uint32_t seen_one;  /* OR of the block's words */
    uint32_t seen_zero; /* OR of their complements */
    bool failed;
} health_t;

void rp_trng_init(void)
{
    rp_resets_cycle(RP_RESET_TRNG);
    rp_wr32(RP_TRNG_SW_RESET, 1u);
    (void)rp_rd32(RP_TRNG_SW_RESET);
    (void)rp_rd32(RP_TRNG_SW_RESET);
    rp_wr32(RP_TRNG_DEBUG_CONTROL, RP_TRNG_DEBUG_BYPASS_ALL);
    rp_wr32(RP_TRNG_SAMPLE_CNT1, 0u);
    rp_wr32(RP_TRNG_RNG_ICR, RP_TRNG_ICR_ALL);
    rp_wr32(RP_TRNG_RND_SOURCE_ENABLE, 0u);
    trng_ready = true;
}

static unsigned popcount32(uint32_t v)
{
    v = v - ((v >> 1) & 0x55555555u);
    v = (v & 0x33333333u) + ((v >> 2) & 0x33333333u);
    v = (v + (v >> 4)) & 0x0F0F0F0Fu;
    return (v * 0x01010101u) >> 24;
}

static void health_word(health_t *h, uint32_t w)
{
    if (h->run > 0u && w == h->last) {
        if (++h->run >= RCT_CUTOFF) h->failed = true;
    } else {
        h->last = w;
        h->run = 1u;
    }
    h->apt_ones += popcount32(w);
    if (++h->apt_words == APT_WORDS) {
        if (h->apt_ones < APT_MIN_ONES || h->apt_ones > APT_MAX_ONES) h->failed = true;
        h->apt_words = 0;
        h->apt_ones = 0;
    }
    h->seen_one |= w;
    h->seen_zero |= ~w;
}

/* End of a block: every bit position must have toggled. */
static void health_block(health_t *h)
{
    if (h->seen_one != 0xFFFFFFFFu || h->seen_zero != 0xFFFFFFFFu) h->failed = true;
    h->seen_one = 0;
    h->seen_zero = 0;
}

/* One EHR of raw words; false when the block never finishes sampling. */
static bool read_ehr(uint32_t w[RP_TRNG_EHR_WORDS])
{
    uint32_t n = 0;
    while (rp_rd32(RP_TRNG_BUSY) != 0u) {
        if (++n >= BUSY_POLL_LIMIT) return false;
    }
    for (uint32_t i = 0; i < RP_TRNG_EHR_WORDS; i++) w[i] = rp_rd32(RP_TRNG_EHR_DATA0 + 4u * i);
    rp_wr32(RP_TRNG_CONFIG, w[0] & RP_TRNG_CONFIG_CHAIN_MASK);
    return true;
}

/* One conditioned block into out; false on a health or sampling failure. */
static bool block(health_t *h, uint32_t counter, uint8_t out[FK_SHA256_LEN])
{
    fk_sha256_ctx_t ctx;
    uint32_t raw[RP_TRNG_EHR_WORDS];
    uint8_t be[4];
    bool ok = true;
    fk_sha256_start(&ctx);
    fk_put_be32(be, counter);
    fk_sha256_update(&ctx, be, sizeof be);
    for (uint32_t r = 0; ok && r < EHR_READS_PER_BLOCK; r++) {
        ok = read_ehr(raw);
        for (uint32_t i = 0; ok && i < RP_TRNG_EHR_WORDS; i++) health_word(h, raw[i]);
        if (ok) fk_sha256_update(&ctx, raw, sizeof raw);
    }
    if (ok) health_block(h);
    fk_sha256_finish(&ctx, out);
    fk_wipe(raw, sizeof raw);
    return ok && !h->failed;
}

int fk_hal_random(void *buf, size_t len)
{
    uint8_t *p = (uint8_t *)buf;
    uint8_t out[FK_SHA256_LEN];
    health_t h;
    bool ok = trng_ready;
    memset(&h, 0, sizeof h);
    if (ok) rp_wr32(RP_TRNG_RND_SOURCE_ENABLE, 1u);
    for (size_t done = 0, counter = 0; ok && done < len; counter++) {
        ok = block(&h, (uint32_t)counter, out);
        if (!ok) break;
        const size_t n = FK_MIN(len - done, sizeof out);
        memcpy(p + done, out, n);
        done += n;
    }
    if (trng_ready) rp_wr32(RP_TRNG_RND_SOURCE_ENABLE, 0u);
    fk_wipe(out, sizeof out);
    fk_wipe(&h, sizeof h);
    if (!ok) {
        fk_wipe(buf, len);
        return FK_HAL_EIO;
    }
    return FK_HAL_OK;
}
