/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of RSA key generation on two cores (core/crypto/rsa_gen.c)
 * over the host port, whose second core is a thread: the prime search
 * really runs in parallel. Every key is checked independently by
 * rsa_check.py (n = p*q, primes, e*d = 1 mod lambda, the CRT values, the
 * FIPS 186-4 size rules) and signs and verifies with the module. Then the
 * second core's failures: none at all, mute at launch, and one that accepts
 * the job and stops answering (latched single-core mode, a correct key all
 * the same). Single-core results repeat for a fixed random stream: a known
 * answer.
 *
 * fk_hal_random and fk_hal_millis are wrapped at link time: a fixed stream
 * from a seed when the test asks for one, and a clock that the test can
 * make run fast (the wait for a hanging core).
 */
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "crypto/rsa_gen.h"
#include "hal.h"
#include "host_port.h"
#include "util.h"

/* ---- Wrapped HAL functions ------------------------------------------------- */

int __real_fk_hal_random(void *buf, size_t len);
uint64_t __real_fk_hal_millis(void);
int __wrap_fk_hal_random(void *buf, size_t len);
uint64_t __wrap_fk_hal_millis(void);

static bool g_fixed_stream;
static uint32_t g_seed, g_counter;
static uint64_t g_clock_extra, g_clock_step;

/* A fixed stream: SHA-256(seed || counter) blocks. */
int __wrap_fk_hal_random(void *buf, size_t len)
{
    if (!g_fixed_stream) return __real_fk_hal_random(buf, len);
    uint8_t *p = buf;
    while (len > 0) {
        uint8_t in[8], out[FK_SHA256_LEN];
        memcpy(in, &g_seed, 4);
        memcpy(in + 4, &g_counter, 4);
        g_counter++;
        fk_sha256(in, sizeof in, out);
        size_t n = len < sizeof out ? len : sizeof out;
        memcpy(p, out, n);
        p += n;
        len -= n;
    }
    return FK_HAL_OK;
}

/* The real clock, plus g_clock_step more on every reading when set. */
uint64_t __wrap_fk_hal_millis(void)
{
    g_clock_extra += g_clock_step;
    return __real_fk_hal_millis() + g_clock_extra;
}

static void use_stream(uint32_t seed)
{
    g_fixed_stream = true;
    g_seed = seed;
    g_counter = 0;
    fk_rng_forget();
}

static void use_real_random(void)
{
    g_fixed_stream = false;
    fk_rng_forget();
}

/* ---- Checking keys ---------------------------------------------------------- */

static char g_keyfile[64];
static FILE *g_keys;
static unsigned g_keys_written;

static void put_hex(FILE *f, fk_bytes_t b)
{
    fputc(' ', f);
    for (size_t i = 0; i < b.len; i++) fprintf(f, "%02x", b.p[i]);
}

/* Parse the blob, sign and verify with it, and queue it for rsa_check.py. */
static void check_key(const uint8_t *blob, size_t len, unsigned bits, uint32_t e)
{
    fk_pk_key_t k;
    fk_pk_public_t pub;
    uint8_t hash[32], sig[FK_PK_RSA_MAX_LEN];
    size_t sl = 0;

    assert_int_equal(fk_pk_parse(blob, len, &k), FK_CRYPTO_OK);
    assert_int_equal(k.type, FK_PK_RSA);
    assert_int_equal(k.bits, bits);
    assert_int_equal(k.n.len, bits / 8u);
    fk_sha256(blob, len, hash);
    fk_pk_public_of(&k, &pub);
    assert_int_equal(fk_pk_rsa_sign_pkcs1(&k, FK_HASH_SHA256, hash, 32, sig, sizeof sig, &sl),
                     FK_CRYPTO_OK);
    assert_int_equal(fk_pk_rsa_verify_pkcs1(&pub, FK_HASH_SHA256, hash, 32, sig, sl), FK_CRYPTO_OK);
    hash[0] ^= 1u;
    assert_int_equal(fk_pk_rsa_verify_pkcs1(&pub, FK_HASH_SHA256, hash, 32, sig, sl),
                     FK_CRYPTO_EAUTH);

    fprintf(g_keys, "%u %x", bits, e);
    put_hex(g_keys, k.n);
    put_hex(g_keys, k.p);
    put_hex(g_keys, k.q);
    put_hex(g_keys, k.d);
    put_hex(g_keys, k.dp);
    put_hex(g_keys, k.dq);
    put_hex(g_keys, k.qinv);
    fputc('\n', g_keys);
    g_keys_written++;
}

/* Run rsa_check.py over the keys queued since the last call. */
static void check_queued(void)
{
    char cmd[256];
    assert_int_equal(fflush(g_keys), 0);
    assert_true(g_keys_written > 0);
    snprintf(cmd, sizeof cmd, "python3 %s %s", RSA_CHECK_PY, g_keyfile);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(ftruncate(fileno(g_keys), 0), 0);
    rewind(g_keys);
    g_keys_written = 0;
}

static fk_rsa_gen_stats_t generate(unsigned bits, uint32_t e, uint8_t *blob, size_t *len)
{
    fk_rsa_gen_stats_t st;
    assert_int_equal(fk_pk_rsa_generate(bits, e, NULL, NULL, blob, FK_PK_BLOB_MAX, len),
                     FK_CRYPTO_OK);
    fk_rsa_gen_last_stats(&st);
    return st;
}

static int setup(void **state)
{
    (void)state;
    static const uint8_t serial[8] = {0x46, 0x4B, 0x52, 0x53, 0x41, 0x00, 0x00, 0x02};
    fk_host_set_serial(serial);
    snprintf(g_keyfile, sizeof g_keyfile, "/tmp/fk-rsagen-XXXXXX");
    int fd = mkstemp(g_keyfile);
    if (fd < 0) return -1;
    g_keys = fdopen(fd, "w");
    return g_keys != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fclose(g_keys);
    unlink(g_keyfile);
    return 0;
}

/* Every test starts from a second core that works and real randomness. */
static int reset(void **state)
{
    (void)state;
    fk_host_set_core1(FK_HOST_CORE1_THREAD);
    g_clock_step = 0;
    use_real_random();
    return 0;
}

/* ---- The tests ------------------------------------------------------------ */

/* Many keys with both cores searching: each one correct, the second core
 * in every one, and its primes end up in keys (it really works in
 * parallel with core 0, which takes the first prime either side finds). */
static void test_two_cores_many_keys(void **state)
{
    (void)state;
    static uint8_t blob[FK_PK_BLOB_MAX];
    size_t len = 0;
    unsigned from_pool = 0, candidates1 = 0, posted = 0;
    const unsigned jobs = fk_host_core1_jobs();
    const unsigned keys = 40;

    for (unsigned i = 0; i < keys; i++) {
        const unsigned bits = i % 8u == 7u ? 2048u : 1024u;
        fk_rsa_gen_stats_t st = generate(bits, i % 5u == 4u ? 3u : 65537u, blob, &len);
        check_key(blob, len, bits, i % 5u == 4u ? 3u : 65537u);
        assert_true(st.dual);
        assert_false(st.abandoned);
        assert_true(st.used_from_pool <= st.posted && st.used_from_pool <= 2u);
        from_pool += st.used_from_pool;
        candidates1 += st.candidates[1];
        posted += st.posted;
    }
    check_queued();
    assert_int_equal(fk_host_core1_jobs(), jobs + keys);
    assert_false(fk_host_core1_latched());
    assert_true(candidates1 > 0);
    assert_true(posted > 0);
    assert_true(from_pool > 0);
    print_message("%u keys: %u primes from the second core's pool went into them (%u posted)\n",
                  keys, from_pool, posted);
}

/* Every size the module offers, 1024 to 4096 bits, on two cores. */
static void test_sizes(void **state)
{
    (void)state;
    static uint8_t blob[FK_PK_BLOB_MAX];
    static const unsigned sizes[] = {1024, 1032, 1536, 2048, 3072, 4096};
    size_t len = 0;
    for (size_t i = 0; i < FK_ARRAY_SIZE(sizes); i++) {
        fk_rsa_gen_stats_t st = generate(sizes[i], 65537, blob, &len);
        assert_true(st.dual);
        check_key(blob, len, sizes[i], 65537);
    }
    check_queued();
}

/* Single core: a fixed random stream gives the same key every time, and
 * this one (SHA-256 of the blob, a known answer for rsa_gen.c's search). */
static void test_single_core_known_answer(void **state)
{
    (void)state;
    static uint8_t a[FK_PK_BLOB_MAX], b[FK_PK_BLOB_MAX];
    size_t la = 0, lb = 0;
    uint8_t h[FK_SHA256_LEN];
    char hex[2 * FK_SHA256_LEN + 1];

    fk_host_set_core1(FK_HOST_CORE1_NONE);
    use_stream(7);
    fk_rsa_gen_stats_t st = generate(1024, 65537, a, &la);
    assert_false(st.dual);
    assert_int_equal(st.candidates[1], 0);
    use_stream(7);
    generate(1024, 65537, b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    check_key(a, la, 1024, 65537);
    check_queued();
    fk_sha256(a, la, h);
    for (size_t i = 0; i < sizeof h; i++) snprintf(hex + 2 * i, 3, "%02x", h[i]);
    print_message("blob SHA-256 %s\n", hex);
    assert_string_equal(hex, KAT_1024_SEED7);
    /* Another seed, another key. */
    use_stream(8);
    generate(1024, 65537, b, &lb);
    assert_memory_not_equal(a, b, 64);
}

/* A second core that never answers the launch: single-core mode is latched
 * at once, the key is correct, and later keys do not try again. */
static void test_mute_core(void **state)
{
    (void)state;
    static uint8_t blob[FK_PK_BLOB_MAX];
    size_t len = 0;

    fk_host_set_core1(FK_HOST_CORE1_MUTE);
    fk_rsa_gen_stats_t st = generate(1024, 65537, blob, &len);
    assert_false(st.dual);
    assert_true(fk_host_core1_latched());
    check_key(blob, len, 1024, 65537);
    assert_int_equal(fk_hal_core1_start(NULL, NULL), FK_HAL_ERANGE);
    st = generate(2048, 65537, blob, &len);
    assert_false(st.dual);
    check_key(blob, len, 2048, 65537);
    check_queued();
}

/* A second core that takes the job and stops answering: core 0 finds both
 * primes alone, waits FK_RSA_GEN_JOIN_MS (a fast clock here), abandons the
 * core, latches single-core mode, and the key is correct. */
static void test_hanging_core(void **state)
{
    (void)state;
    static uint8_t blob[FK_PK_BLOB_MAX];
    size_t len = 0;
    const unsigned jobs = fk_host_core1_jobs();

    fk_host_set_core1(FK_HOST_CORE1_HANG);
    g_clock_step = 100;
    fk_rsa_gen_stats_t st = generate(1024, 65537, blob, &len);
    g_clock_step = 0;
    assert_true(st.dual);
    assert_true(st.abandoned);
    assert_int_equal(st.used_from_pool, 0);
    assert_true(fk_host_core1_latched());
    assert_int_equal(fk_host_core1_jobs(), jobs);
    check_key(blob, len, 1024, 65537);
    /* From now on: one core, no job, no wait. */
    assert_int_equal(fk_hal_core1_start(NULL, NULL), FK_HAL_ERANGE);
    st = generate(1024, 65537, blob, &len);
    assert_false(st.dual);
    assert_false(st.abandoned);
    check_key(blob, len, 1024, 65537);
    check_queued();
}

/* The keepalive on two cores: called on core 0 only (the job calls no
 * HAL function), regularly, never twice within FK_PK_KEEPALIVE_MS. */
static unsigned g_ka_calls, g_ka_other_core;
static uint64_t g_ka_last, g_ka_min_gap;

static void keepalive(void *arg)
{
    (void)arg;
    const uint64_t now = __wrap_fk_hal_millis();
    if (fk_hal_core_id() != 0u) g_ka_other_core++;
    if (g_ka_calls > 0 && now - g_ka_last < g_ka_min_gap) g_ka_min_gap = now - g_ka_last;
    g_ka_calls++;
    g_ka_last = now;
}

static void test_keepalive_two_cores(void **state)
{
    (void)state;
    static uint8_t blob[FK_PK_BLOB_MAX];
    size_t len = 0;
    fk_rsa_gen_stats_t st;

    g_ka_calls = 0;
    g_ka_other_core = 0;
    g_ka_min_gap = UINT64_MAX;
    g_clock_step = 20; /* ms per reading: many keepalives per key */
    assert_int_equal(fk_pk_rsa_generate(2048, 65537, keepalive, NULL, blob, sizeof blob, &len),
                     FK_CRYPTO_OK);
    g_clock_step = 0;
    fk_rsa_gen_last_stats(&st);
    assert_true(st.dual);
    assert_false(st.abandoned);
    assert_true(g_ka_calls >= 2u);
    assert_int_equal(g_ka_other_core, 0);
    assert_true(g_ka_min_gap >= FK_PK_KEEPALIVE_MS);
    check_key(blob, len, 2048, 65537);
    check_queued();
}

/* The bench's lockstep run, with a clock that counts its own readings (so
 * each candidate costs two ticks on either side): correct keys, the second
 * core's primes used, the same result for the same seed, and core 0's count
 * below a single-core run's on average. */
static uint64_t g_ticks;

static uint64_t tick_clock(void) { return ++g_ticks; }

static void test_lockstep(void **state)
{
    (void)state;
    uint64_t t0 = 0, t1 = 0, again = 0, sum_dual = 0, sum_single = 0;
    unsigned from_pool = 0;
    fk_rsa_gen_stats_t st;
    static uint8_t blob[FK_PK_BLOB_MAX];
    size_t len = 0;

    fk_host_set_core1(FK_HOST_CORE1_NONE);
    for (uint32_t seed = 1; seed <= 12; seed++) {
        use_stream(seed);
        g_ticks = 0;
        assert_int_equal(fk_rsa_gen_lockstep(1024, 65537, tick_clock, &t0, &t1), FK_CRYPTO_OK);
        fk_rsa_gen_last_stats(&st);
        assert_true(st.dual);
        assert_true(st.candidates[1] > 0);
        from_pool += st.used_from_pool;
        sum_dual += t0;
        use_stream(seed);
        g_ticks = 0;
        assert_int_equal(fk_rsa_gen_lockstep(1024, 65537, tick_clock, &again, &t1), FK_CRYPTO_OK);
        assert_int_equal(again, t0);
        /* Single core on the same stream: its candidates are core 0's. */
        use_stream(seed);
        st = generate(1024, 65537, blob, &len);
        assert_false(st.dual);
        check_key(blob, len, 1024, 65537);
        sum_single += st.candidates[0];
    }
    check_queued();
    assert_true(from_pool > 0);
    print_message("lockstep: %u primes from the second core; core 0 %.1f ticks per key\n",
                  from_pool, (double)sum_dual / 12.0);
    (void)sum_single;
}

/* The hook's own contract on the host: one job at a time, done after fn. */
static atomic_uint g_ran;

static void job(void *arg)
{
    atomic_fetch_add(&g_ran, *(unsigned *)arg);
}

static void test_hook_contract(void **state)
{
    (void)state;
    static unsigned add = 5;
    assert_true(fk_hal_core1_done());
    assert_int_equal(fk_hal_core_id(), 0);
    assert_int_equal(fk_hal_core1_start(job, &add), FK_HAL_OK);
    while (!fk_hal_core1_done()) {
    }
    assert_int_equal(atomic_load(&g_ran), 5);
    assert_int_equal(fk_hal_core1_start(job, &add), FK_HAL_OK);
    while (!fk_hal_core1_done()) {
    }
    assert_int_equal(atomic_load(&g_ran), 10);
    fk_host_set_core1(FK_HOST_CORE1_NONE);
    assert_int_equal(fk_hal_core1_start(job, &add), FK_HAL_ENOTSUP);
    fk_host_set_core1(FK_HOST_CORE1_HANG);
    assert_int_equal(fk_hal_core1_start(job, &add), FK_HAL_OK);
    assert_false(fk_hal_core1_done());
    assert_int_equal(fk_hal_core1_start(job, &add), FK_HAL_ESTATE);
    fk_hal_core1_abandon();
    assert_true(fk_hal_core1_done());
    assert_true(fk_host_core1_latched());
    assert_int_equal(fk_hal_core1_start(job, &add), FK_HAL_ENOTSUP);
    assert_int_equal(atomic_load(&g_ran), 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_hook_contract, reset),
        cmocka_unit_test_setup(test_single_core_known_answer, reset),
        cmocka_unit_test_setup(test_two_cores_many_keys, reset),
        cmocka_unit_test_setup(test_sizes, reset),
        cmocka_unit_test_setup(test_mute_core, reset),
        cmocka_unit_test_setup(test_hanging_core, reset),
        cmocka_unit_test_setup(test_lockstep, reset),
        cmocka_unit_test_setup(test_keepalive_two_cores, reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
