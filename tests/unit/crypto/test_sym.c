/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of core/crypto/sym: published known-answer vectors for every
 * primitive (NIST SP 800-38A ECB/CBC/CFB128/OFB/CTR, IEEE 1619 and NIST
 * XTSVS XTS-AES, the GCM test cases of McGrew and Viega, RFC 3610 and
 * SP 800-38C CCM, RFC 4493 / SP 800-38B CMAC, RFC 8439 ChaCha20-Poly1305,
 * RFC 2202 / RFC 4231 HMAC, RFC 5869 HKDF, RFC 6070 and RFC 7914 PBKDF2,
 * NIST CAVS ANSI X9.63 KDF), decryption and in-place operation of each
 * mode, every length rule, tampered tags (FK_CRYPTO_EAUTH, output wiped),
 * PBKDF2's keepalive, and random inputs of every primitive compared with
 * python3-cryptography (OpenSSL), which must be installed: a missing
 * interpreter or module fails the test.
 *
 * The HAL functions the crypto module calls are provided here (real
 * entropy from the OS).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_hex.h"

#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "crypto/sym.h"
#include "fileio.h"
#include "hal.h"

/* ---- The test's HAL ----------------------------------------------------- */

int fk_hal_random(void *buf, size_t len)
{
    return fk_file_random(buf, len) == 0 ? FK_HAL_OK : FK_HAL_EIO;
}

void fk_hal_serial(uint8_t serial[8])
{
    static const uint8_t k_serial[8] = {0x46, 0x4b, 0x53, 0x59, 0x00, 0x00, 0x00, 0x01};
    memcpy(serial, k_serial, sizeof(k_serial));
}

uint64_t fk_hal_millis(void) { return 0; }

void fk_hal_panic(const char *file, int line)
{
    fprintf(stderr, "panic at %s:%d\n", file, line);
    abort();
}

/* ---- Helpers ------------------------------------------------------------ */

#define BUF_MAX 600

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0) return false;
    return true;
}

static void fill_range(uint8_t *p, size_t n, uint8_t first)
{
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(first + i);
}

static void random_bytes(void *p, size_t n) { assert_int_equal(fk_file_random(p, n), 0); }

static size_t random_below(size_t n)
{
    uint32_t r;
    random_bytes(&r, sizeof(r));
    return r % n;
}

/* ---- AES, non-AEAD modes: NIST SP 800-38A appendix F -------------------- */

static const char k_sp38a_pt[] =
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
static const char *const k_sp38a_keys[3] = {
    "2b7e151628aed2a6abf7158809cf4f3c",
    "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
    "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
};
static const char k_sp38a_iv[] = "000102030405060708090a0b0c0d0e0f";
static const char k_sp38a_ctr[] = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

typedef struct mode_vectors {
    fk_aes_mode_t mode;
    const char *ct[3]; /* AES-128, -192, -256 */
} mode_vectors_t;

static const mode_vectors_t k_sp38a[] = {
    {FK_AES_ECB,
     {"3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf"
      "43b1cd7f598ece23881b00e3ed0306887b0c785e27e8ad3f8223207104725dd4",
      "bd334f1d6e45f25ff712a214571fa5cc974104846d0ad3ad7734ecb3ecee4eef"
      "ef7afd2270e2e60adce0ba2face6444e9a4b41ba738d6c72fb16691603c18e0e",
      "f3eed1bdb5d2a03c064b5a7e3db181f8591ccb10d410ed26dc5ba74a31362870"
      "b6ed21b99ca6f4f9f153e7b1beafed1d23304b7a39f9f3ff067d8d8f9e24ecc7"}},
    {FK_AES_CBC,
     {"7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
      "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7",
      "4f021db243bc633d7178183a9fa071e8b4d9ada9ad7dedf4e5e738763f69145a"
      "571b242012fb7ae07fa9baac3df102e008b0e27988598881d920a9e64f5615cd",
      "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
      "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b"}},
    {FK_AES_CFB128,
     {"3b3fd92eb72dad20333449f8e83cfb4ac8a64537a0b3a93fcde3cdad9f1ce58b"
      "26751f67a3cbb140b1808cf187a4f4dfc04b05357c5d1c0eeac4c66f9ff7f2e6",
      "cdc80d6fddf18cab34c25909c99a417467ce7f7f81173621961a2b70171d3d7a"
      "2e1e8a1dd59b88b1c8e60fed1efac4c9c05f9f9ca9834fa042ae8fba584b09ff",
      "dc7e84bfda79164b7ecd8486985d386039ffed143b28b1c832113c6331e5407b"
      "df10132415e54b92a13ed0a8267ae2f975a385741ab9cef82031623d55b1e471"}},
    {FK_AES_OFB,
     {"3b3fd92eb72dad20333449f8e83cfb4a7789508d16918f03f53c52dac54ed825"
      "9740051e9c5fecf64344f7a82260edcc304c6528f659c77866a510d9c1d6ae5e",
      "cdc80d6fddf18cab34c25909c99a4174fcc28b8d4c63837c09e81700c1100401"
      "8d9a9aeac0f6596f559c6d4daf59a5f26d9f200857ca6c3e9cac524bd9acc92a",
      "dc7e84bfda79164b7ecd8486985d38604febdc6740d20b3ac88f6ad82a4fb08d"
      "71ab47a086e86eedf39d1c5bba97c4080126141d67f37be8538f5a8be740e484"}},
    {FK_AES_CTR,
     {"874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
      "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee",
      "1abc932417521ca24f2b0459fe7e6e0b090339ec0aa6faefd5ccc2c6f4ce8e94"
      "1e36b26bd1ebc670d1bd1d665620abf74f78a7f6d29809585a97daec58c6b050",
      "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
      "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6"}},
};

/* Encrypt and decrypt, out of place and in place, against one vector. */
static void check_mode(fk_aes_mode_t mode, const uint8_t *key, size_t key_len, const uint8_t *iv,
                       size_t iv_len, const uint8_t *pt, const uint8_t *ct, size_t len)
{
    uint8_t out[BUF_MAX], work[BUF_MAX];
    assert_true(len <= BUF_MAX);

    assert_int_equal(fk_aes_crypt(mode, true, key, key_len, iv, iv_len, pt, len, out), FK_CRYPTO_OK);
    assert_memory_equal(out, ct, len);
    assert_int_equal(fk_aes_crypt(mode, false, key, key_len, iv, iv_len, ct, len, out), FK_CRYPTO_OK);
    assert_memory_equal(out, pt, len);

    memcpy(work, pt, len);
    assert_int_equal(fk_aes_crypt(mode, true, key, key_len, iv, iv_len, work, len, work), FK_CRYPTO_OK);
    assert_memory_equal(work, ct, len);
    assert_int_equal(fk_aes_crypt(mode, false, key, key_len, iv, iv_len, work, len, work), FK_CRYPTO_OK);
    assert_memory_equal(work, pt, len);
}

static void test_aes_sp800_38a(void **state)
{
    uint8_t pt[64], ct[64], key[32], iv[16];
    (void)state;

    assert_int_equal(fk_test_unhex(k_sp38a_pt, pt, sizeof(pt)), 64);
    for (size_t m = 0; m < sizeof(k_sp38a) / sizeof(k_sp38a[0]); m++) {
        const mode_vectors_t *v = &k_sp38a[m];
        for (size_t k = 0; k < 3; k++) {
            size_t key_len = fk_test_unhex(k_sp38a_keys[k], key, sizeof(key));
            assert_int_equal(fk_test_unhex(v->ct[k], ct, sizeof(ct)), 64);
            size_t iv_len = 0;
            if (v->mode != FK_AES_ECB)
                iv_len = fk_test_unhex(v->mode == FK_AES_CTR ? k_sp38a_ctr : k_sp38a_iv, iv, sizeof(iv));
            check_mode(v->mode, key, key_len, v->mode == FK_AES_ECB ? NULL : iv, iv_len, pt, ct, 64);
            /* The stream modes also take a partial last block. */
            if (v->mode == FK_AES_CFB128 || v->mode == FK_AES_OFB || v->mode == FK_AES_CTR)
                check_mode(v->mode, key, key_len, iv, iv_len, pt, ct, 37);
        }
    }
}

/* ---- XTS-AES: IEEE 1619-2007 annex B and NIST XTSVS --------------------- */

typedef struct xts_vector {
    const char *key, *tweak, *pt, *ct;
} xts_vector_t;

static const xts_vector_t k_xts[] = {
    /* IEEE 1619 vectors 1-3 (XTS-AES-128, 32 bytes). */
    {"00000000000000000000000000000000" "00000000000000000000000000000000",
     "00000000000000000000000000000000",
     "0000000000000000000000000000000000000000000000000000000000000000",
     "917cf69ebd68b2ec9b9fe9a3eadda692cd43d2f59598ed858c02c2652fbf922e"},
    {"11111111111111111111111111111111" "22222222222222222222222222222222",
     "33333333330000000000000000000000",
     "4444444444444444444444444444444444444444444444444444444444444444",
     "c454185e6a16936e39334038acef838bfb186fff7480adc4289382ecd6d394f0"},
    {"fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0" "22222222222222222222222222222222",
     "33333333330000000000000000000000",
     "4444444444444444444444444444444444444444444444444444444444444444",
     "af85336b597afc1a900b2eb21ec949d292df4c047e0b21532186a5971a227a89"},
    /* IEEE 1619 vectors 15-18: ciphertext stealing, 17-20 bytes. */
    {"fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0" "bfbebdbcbbbab9b8b7b6b5b4b3b2b1b0",
     "9a785634120000000000000000000000", "000102030405060708090a0b0c0d0e0f10",
     "6c1625db4671522d3d7599601de7ca09ed"},
    {"fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0" "bfbebdbcbbbab9b8b7b6b5b4b3b2b1b0",
     "9a785634120000000000000000000000", "000102030405060708090a0b0c0d0e0f1011",
     "d069444b7a7e0cab09e24447d24deb1fedbf"},
    {"fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0" "bfbebdbcbbbab9b8b7b6b5b4b3b2b1b0",
     "9a785634120000000000000000000000", "000102030405060708090a0b0c0d0e0f101112",
     "e5df1351c0544ba1350b3363cd8ef4beedbf9d"},
    {"fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0" "bfbebdbcbbbab9b8b7b6b5b4b3b2b1b0",
     "9a785634120000000000000000000000", "000102030405060708090a0b0c0d0e0f10111213",
     "9d84c813f719aa2c7be3f66171c7c5c2edbf9dac"},
    /* NIST XTSVS XTSGenAES256, 384-bit data units (counts 113, 114). */
    {"a8647d60a8d1bec3305178f11fd3e193ef0bd62354815bb1d9b3fcc555a7a8ae"
     "dc7861a9a7242348a1890498e845bd4101d75899db5087205f9f3386a82dd63d",
     "878013b84337862ee5fe8558ec03ce8e",
     "ff5574a4a0e796c53d2fb8b859401fe624c26d6c9ad53adfcb0bf5b5deda9745"
     "e06133c5477f51e9ccc2e2294abf3107",
     "0d555965bf178dea351710b48e9d88005a2b4c26439c923ea2a4e5124da610d3"
     "5f7bbdd3e0495b5ea52807bc726ba72c"},
    {"e7d31c5668b67c871e58ac0bd79f75b89022be1c83c6ff43dfcbd6c5bbb103f0"
     "415f51a13a70dfcd1f24617ecadff10c22968c5282bef4437e68899b4f87b526",
     "6aaa85b7315188155627a060aa77df05",
     "0ae75a94eba76a33c6a0cf761f0a0e4788f17876d295362ac42a3531ebbc27dc"
     "5a59ae929ff0a7fa91c249aaab7e95ee",
     "888a69890cfeac26cc053126872f7be70213ccfcceb42585211e89ef9c2ca8f2"
     "e4dd529d2da88df4cfb6833cbcaab896"},
};

static void test_aes_xts(void **state)
{
    uint8_t key[64], tweak[16], pt[64], ct[64];
    (void)state;

    for (size_t i = 0; i < sizeof(k_xts) / sizeof(k_xts[0]); i++) {
        size_t key_len = fk_test_unhex(k_xts[i].key, key, sizeof(key));
        assert_int_equal(fk_test_unhex(k_xts[i].tweak, tweak, sizeof(tweak)), 16);
        size_t len = fk_test_unhex(k_xts[i].pt, pt, sizeof(pt));
        assert_int_equal(fk_test_unhex(k_xts[i].ct, ct, sizeof(ct)), len);
        /* check_mode also runs each vector in place: mbedTLS's own XTS gets
         * the stealing wrong in place (sym.c). */
        check_mode(FK_AES_XTS, key, key_len, tweak, 16, pt, ct, len);
    }
}

/* ---- AES-GCM: the test cases of McGrew and Viega ------------------------ */

typedef struct aead_vector {
    fk_aes_mode_t mode;
    const char *key, *nonce, *aad, *pt, *ct, *tag;
} aead_vector_t;

#define GCM_K "feffe9928665731c6d6a8f9467308308"
#define GCM_P60                                                               \
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"        \
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
#define GCM_P64 GCM_P60 "1aafd255"
#define GCM_A "feedfacedeadbeeffeedfacedeadbeefabaddad2"

static const aead_vector_t k_aead[] = {
    /* GCM test cases 1-6 (AES-128), 7-9 (AES-192), 13-16 (AES-256). */
    {FK_AES_GCM, "00000000000000000000000000000000", "000000000000000000000000", "", "", "",
     "58e2fccefa7e3061367f1d57a4e7455a"},
    {FK_AES_GCM, "00000000000000000000000000000000", "000000000000000000000000", "",
     "00000000000000000000000000000000", "0388dace60b6a392f328c2b971b2fe78",
     "ab6e47d42cec13bdf53a67b21257bddf"},
    {FK_AES_GCM, GCM_K, "cafebabefacedbaddecaf888", "", GCM_P64,
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
     "4d5c2af327cd64a62cf35abd2ba6fab4"},
    {FK_AES_GCM, GCM_K, "cafebabefacedbaddecaf888", GCM_A, GCM_P60,
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47"},
    {FK_AES_GCM, GCM_K, "cafebabefacedbad", GCM_A, GCM_P60,
     "61353b4c2806934a777ff51fa22a4755699b2a714fcdc6f83766e5f97b6c7423"
     "73806900e49f24b22b097544d4896b424989b5e1ebac0f07c23f4598",
     "3612d2e79e3b0785561be14aaca2fccb"},
    {FK_AES_GCM, GCM_K,
     "9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728"
     "c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b",
     GCM_A, GCM_P60,
     "8ce24998625615b603a033aca13fb894be9112a5c3a211a8ba262a3cca7e2ca7"
     "01e4a9a4fba43c90ccdcb281d48c7c6fd62875d2aca417034c34aee5",
     "619cc5aefffe0bfa462af43c1699d050"},
    {FK_AES_GCM, "000000000000000000000000000000000000000000000000", "000000000000000000000000", "",
     "", "", "cd33b28ac773f74ba00ed1f312572435"},
    {FK_AES_GCM, "000000000000000000000000000000000000000000000000", "000000000000000000000000", "",
     "00000000000000000000000000000000", "98e7247c07f0fe411c267e4384b0f600",
     "2ff58d80033927ab8ef4d4587514f0fb"},
    {FK_AES_GCM, GCM_K "feffe9928665731c", "cafebabefacedbaddecaf888", "", GCM_P64,
     "3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c"
     "7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710acade256",
     "9924a7c8587336bfb118024db8674a14"},
    {FK_AES_GCM, "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {FK_AES_GCM, "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "00000000000000000000000000000000",
     "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {FK_AES_GCM, GCM_K GCM_K, "cafebabefacedbaddecaf888", "", GCM_P64,
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {FK_AES_GCM, GCM_K GCM_K, "cafebabefacedbaddecaf888", GCM_A, GCM_P60,
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
    /* CCM: RFC 3610 packet vector 1, NIST SP 800-38C examples 1-3. */
    {FK_AES_CCM, "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf", "00000003020100a0a1a2a3a4a5", "0001020304050607",
     "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
     "588c979a61c663d2f066d0c2c0f989806d5f6b61dac384", "17e8d12cfdf926e0"},
    {FK_AES_CCM, "404142434445464748494a4b4c4d4e4f", "10111213141516", "0001020304050607", "20212223",
     "7162015b", "4dac255d"},
    {FK_AES_CCM, "404142434445464748494a4b4c4d4e4f", "1011121314151617",
     "000102030405060708090a0b0c0d0e0f", "202122232425262728292a2b2c2d2e2f",
     "d2a1f0e051ea5f62081a7792073d593d", "1fc64fbfaccd"},
    {FK_AES_CCM, "404142434445464748494a4b4c4d4e4f", "101112131415161718191a1b",
     "000102030405060708090a0b0c0d0e0f10111213",
     "202122232425262728292a2b2c2d2e2f3031323334353637",
     "e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5", "484392fbc1b09951"},
};

typedef struct aead_buf {
    uint8_t key[32], nonce[64], aad[32], pt[64], ct[64], tag[16];
    size_t key_len, nonce_len, aad_len, len, tag_len;
} aead_buf_t;

static void aead_load(const aead_vector_t *v, aead_buf_t *b)
{
    b->key_len = fk_test_unhex(v->key, b->key, sizeof(b->key));
    b->nonce_len = fk_test_unhex(v->nonce, b->nonce, sizeof(b->nonce));
    b->aad_len = fk_test_unhex(v->aad, b->aad, sizeof(b->aad));
    b->len = fk_test_unhex(v->pt, b->pt, sizeof(b->pt));
    assert_int_equal(fk_test_unhex(v->ct, b->ct, sizeof(b->ct)), b->len);
    b->tag_len = fk_test_unhex(v->tag, b->tag, sizeof(b->tag));
}

static void test_aes_aead_vectors(void **state)
{
    uint8_t out[64], tag[16], work[64];
    aead_buf_t b;
    (void)state;

    for (size_t i = 0; i < sizeof(k_aead) / sizeof(k_aead[0]); i++) {
        const aead_vector_t *v = &k_aead[i];
        aead_load(v, &b);
        assert_int_equal(fk_aes_aead_seal(v->mode, b.key, b.key_len, b.nonce, b.nonce_len, b.aad,
                                          b.aad_len, b.pt, b.len, out, tag, b.tag_len),
                         FK_CRYPTO_OK);
        assert_memory_equal(out, b.ct, b.len);
        assert_memory_equal(tag, b.tag, b.tag_len);
        assert_int_equal(fk_aes_aead_open(v->mode, b.key, b.key_len, b.nonce, b.nonce_len, b.aad,
                                          b.aad_len, b.ct, b.len, b.tag, b.tag_len, out),
                         FK_CRYPTO_OK);
        assert_memory_equal(out, b.pt, b.len);
        /* In place both ways. */
        memcpy(work, b.pt, b.len);
        assert_int_equal(fk_aes_aead_seal(v->mode, b.key, b.key_len, b.nonce, b.nonce_len, b.aad,
                                          b.aad_len, work, b.len, work, tag, b.tag_len),
                         FK_CRYPTO_OK);
        assert_memory_equal(work, b.ct, b.len);
        assert_int_equal(fk_aes_aead_open(v->mode, b.key, b.key_len, b.nonce, b.nonce_len, b.aad,
                                          b.aad_len, work, b.len, tag, b.tag_len, work),
                         FK_CRYPTO_OK);
        assert_memory_equal(work, b.pt, b.len);
    }
}

/* A GCM tag cut to t bytes is the first t bytes of the full tag. */
static void test_aes_gcm_short_tags(void **state)
{
    uint8_t out[64], tag[16];
    aead_buf_t b;
    (void)state;

    aead_load(&k_aead[3], &b);
    for (size_t t = 4; t <= 16; t++) {
        memset(tag, 0, sizeof(tag));
        assert_int_equal(fk_aes_aead_seal(FK_AES_GCM, b.key, b.key_len, b.nonce, b.nonce_len, b.aad,
                                          b.aad_len, b.pt, b.len, out, tag, t),
                         FK_CRYPTO_OK);
        assert_memory_equal(tag, b.tag, t);
        assert_int_equal(fk_aes_aead_open(FK_AES_GCM, b.key, b.key_len, b.nonce, b.nonce_len, b.aad,
                                          b.aad_len, b.ct, b.len, b.tag, t, out),
                         FK_CRYPTO_OK);
    }
}

/* Any flipped bit of ciphertext, tag, AAD or nonce: EAUTH, output wiped. */
static void test_aes_aead_tamper(void **state)
{
    const size_t picks[] = {0, 3, 4, 14};
    uint8_t out[64];
    aead_buf_t b;
    (void)state;

    for (size_t p = 0; p < sizeof(picks) / sizeof(picks[0]); p++) {
        const aead_vector_t *v = &k_aead[picks[p]];
        aead_load(v, &b);
        uint8_t *fields[] = {b.ct, b.tag, b.aad, b.nonce};
        size_t lens[] = {b.len, b.tag_len, b.aad_len, b.nonce_len};
        for (size_t f = 0; f < 4; f++) {
            for (size_t bit = 0; bit < lens[f] * 8; bit += 5) {
                fields[f][bit / 8] ^= (uint8_t)(1u << (bit % 8));
                memset(out, 0xA5, sizeof(out));
                assert_int_equal(fk_aes_aead_open(v->mode, b.key, b.key_len, b.nonce, b.nonce_len,
                                                  b.aad, b.aad_len, b.ct, b.len, b.tag, b.tag_len,
                                                  out),
                                 FK_CRYPTO_EAUTH);
                assert_true(all_zero(out, b.len));
                fields[f][bit / 8] ^= (uint8_t)(1u << (bit % 8));
            }
        }
        /* In place: the ciphertext is lost, nothing unauthenticated left. */
        uint8_t work[64];
        memcpy(work, b.ct, b.len);
        b.tag[0] ^= 1;
        assert_int_equal(fk_aes_aead_open(v->mode, b.key, b.key_len, b.nonce, b.nonce_len, b.aad,
                                          b.aad_len, work, b.len, b.tag, b.tag_len, work),
                         FK_CRYPTO_EAUTH);
        assert_true(all_zero(work, b.len));
    }
}

static void test_aes_aead_lengths(void **state)
{
    uint8_t key[32] = {0}, nonce[65] = {0}, in[32] = {0}, out[32], tag[17];
    (void)state;

#define SEAL(m, kl, nl, tl) fk_aes_aead_seal(m, key, kl, nonce, nl, NULL, 0, in, 16, out, tag, tl)
    assert_int_equal(SEAL(FK_AES_GCM, 16, 12, 16), FK_CRYPTO_OK);
    assert_int_equal(SEAL(FK_AES_GCM, 16, 1, 16), FK_CRYPTO_OK);
    assert_int_equal(SEAL(FK_AES_GCM, 16, 64, 4), FK_CRYPTO_OK);
    assert_int_equal(SEAL(FK_AES_GCM, 16, 0, 16), FK_CRYPTO_EINVAL);
    assert_int_equal(SEAL(FK_AES_GCM, 16, 65, 16), FK_CRYPTO_EINVAL);
    assert_int_equal(SEAL(FK_AES_GCM, 16, 12, 3), FK_CRYPTO_EINVAL);
    assert_int_equal(SEAL(FK_AES_GCM, 16, 12, 17), FK_CRYPTO_EINVAL);
    assert_int_equal(SEAL(FK_AES_GCM, 15, 12, 16), FK_CRYPTO_EINVAL);
    assert_int_equal(SEAL(FK_AES_GCM, 64, 12, 16), FK_CRYPTO_EINVAL);
    assert_int_equal(SEAL(FK_AES_CCM, 32, 7, 4), FK_CRYPTO_OK);
    assert_int_equal(SEAL(FK_AES_CCM, 24, 13, 16), FK_CRYPTO_OK);
    assert_int_equal(SEAL(FK_AES_CCM, 16, 6, 16), FK_CRYPTO_EINVAL);
    assert_int_equal(SEAL(FK_AES_CCM, 16, 14, 16), FK_CRYPTO_EINVAL);
    assert_int_equal(SEAL(FK_AES_CCM, 16, 12, 5), FK_CRYPTO_EINVAL);
    assert_int_equal(SEAL(FK_AES_CCM, 16, 12, 2), FK_CRYPTO_EINVAL);
    assert_int_equal(SEAL(FK_AES_CCM, 16, 12, 18), FK_CRYPTO_EINVAL);
    assert_int_equal(SEAL(FK_AES_CBC, 16, 12, 16), FK_CRYPTO_EINVAL);
    assert_int_equal(SEAL(FK_AES_XTS, 32, 12, 16), FK_CRYPTO_EINVAL);
#undef SEAL
    /* CCM with a 13-byte nonce has two bytes for the length: 65536 does not fit. */
    static uint8_t big[65536 + 16];
    assert_int_equal(fk_aes_aead_seal(FK_AES_CCM, key, 16, nonce, 13, NULL, 0, big, 65536, big, tag, 16),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(fk_aes_aead_seal(FK_AES_CCM, key, 16, nonce, 12, NULL, 0, big, 65536, big, tag, 16),
                     FK_CRYPTO_OK);
    /* NULL pointers and partial overlap. */
    assert_int_equal(fk_aes_aead_seal(FK_AES_GCM, NULL, 16, nonce, 12, NULL, 0, in, 16, out, tag, 16),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(fk_aes_aead_seal(FK_AES_GCM, key, 16, NULL, 12, NULL, 0, in, 16, out, tag, 16),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(fk_aes_aead_seal(FK_AES_GCM, key, 16, nonce, 12, NULL, 3, in, 16, out, tag, 16),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(fk_aes_aead_seal(FK_AES_GCM, key, 16, nonce, 12, NULL, 0, in, 16, in + 1, tag, 16),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(fk_aes_aead_open(FK_AES_GCM, key, 16, nonce, 12, NULL, 0, in, 16, NULL, 16, out),
                     FK_CRYPTO_EINVAL);
    /* Empty message and AAD with NULL pointers. */
    assert_int_equal(fk_aes_aead_seal(FK_AES_GCM, key, 16, nonce, 12, NULL, 0, NULL, 0, NULL, tag, 16),
                     FK_CRYPTO_OK);
    assert_int_equal(fk_aes_aead_open(FK_AES_GCM, key, 16, nonce, 12, NULL, 0, NULL, 0, tag, 16, NULL),
                     FK_CRYPTO_OK);
}

static void test_aes_crypt_lengths(void **state)
{
    uint8_t key[64] = {0}, iv[16] = {0}, in[48] = {0}, out[48];
    (void)state;

#define CRYPT(m, kl, v, vl, n) fk_aes_crypt(m, true, key, kl, v, vl, in, n, out)
    assert_int_equal(CRYPT(FK_AES_ECB, 16, NULL, 0, 32), FK_CRYPTO_OK);
    assert_int_equal(CRYPT(FK_AES_ECB, 16, iv, 16, 32), FK_CRYPTO_EINVAL);
    assert_int_equal(CRYPT(FK_AES_ECB, 16, NULL, 0, 17), FK_CRYPTO_EINVAL);
    assert_int_equal(CRYPT(FK_AES_ECB, 0, NULL, 0, 16), FK_CRYPTO_EINVAL);
    assert_int_equal(CRYPT(FK_AES_ECB, 17, NULL, 0, 16), FK_CRYPTO_EINVAL);
    assert_int_equal(CRYPT(FK_AES_ECB, 64, NULL, 0, 16), FK_CRYPTO_EINVAL);
    assert_int_equal(CRYPT(FK_AES_CBC, 24, iv, 16, 15), FK_CRYPTO_EINVAL);
    assert_int_equal(CRYPT(FK_AES_CBC, 24, iv, 15, 16), FK_CRYPTO_EINVAL);
    assert_int_equal(CRYPT(FK_AES_CBC, 24, NULL, 0, 16), FK_CRYPTO_EINVAL);
    assert_int_equal(CRYPT(FK_AES_CBC, 24, iv, 16, 0), FK_CRYPTO_OK);
    assert_int_equal(CRYPT(FK_AES_CFB128, 32, iv, 16, 1), FK_CRYPTO_OK);
    assert_int_equal(CRYPT(FK_AES_CFB128, 32, iv, 17, 1), FK_CRYPTO_EINVAL);
    assert_int_equal(CRYPT(FK_AES_OFB, 32, iv, 16, 47), FK_CRYPTO_OK);
    assert_int_equal(CRYPT(FK_AES_OFB, 32, iv, 8, 47), FK_CRYPTO_EINVAL);
    assert_int_equal(CRYPT(FK_AES_CTR, 16, iv, 16, 5), FK_CRYPTO_OK);
    assert_int_equal(CRYPT(FK_AES_CTR, 16, iv, 12, 5), FK_CRYPTO_EINVAL);
    assert_int_equal(CRYPT(FK_AES_XTS, 32, iv, 16, 16), FK_CRYPTO_OK);
    assert_int_equal(CRYPT(FK_AES_XTS, 64, iv, 16, 33), FK_CRYPTO_OK);
    assert_int_equal(CRYPT(FK_AES_XTS, 32, iv, 16, 15), FK_CRYPTO_EINVAL);
    assert_int_equal(CRYPT(FK_AES_XTS, 16, iv, 16, 16), FK_CRYPTO_EINVAL);
    assert_int_equal(CRYPT(FK_AES_XTS, 48, iv, 16, 16), FK_CRYPTO_EINVAL);
    assert_int_equal(CRYPT(FK_AES_XTS, 32, iv, 12, 16), FK_CRYPTO_EINVAL);
    assert_int_equal(CRYPT(FK_AES_GCM, 16, iv, 16, 16), FK_CRYPTO_EINVAL);
    assert_int_equal(CRYPT(FK_AES_CCM, 16, iv, 16, 16), FK_CRYPTO_EINVAL);
    assert_int_equal(CRYPT((fk_aes_mode_t)0, 16, iv, 16, 16), FK_CRYPTO_EINVAL);
#undef CRYPT
    assert_int_equal(fk_aes_crypt(FK_AES_CBC, true, NULL, 16, iv, 16, in, 16, out), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_aes_crypt(FK_AES_CBC, true, key, 16, iv, 16, NULL, 16, out), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_aes_crypt(FK_AES_CBC, true, key, 16, iv, 16, in, 32, in + 16), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_aes_crypt(FK_AES_CTR, true, key, 16, iv, 16, in + 1, 32, in), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_aes_crypt(FK_AES_CTR, true, key, 16, iv, 16, in, 16, in + 16), FK_CRYPTO_OK);
    /* XTS refuses more than 2^20 blocks in one data unit. */
    static uint8_t big[(1u << 24) + 16];
    assert_int_equal(fk_aes_crypt(FK_AES_XTS, true, key, 32, iv, 16, big, sizeof(big), big),
                     FK_CRYPTO_EINVAL);
}

/* Every mode's decryption inverts its encryption for random keys, IVs
 * and lengths, in place or not; the IV is not changed. */
static void test_aes_roundtrips(void **state)
{
    static const fk_aes_mode_t k_modes[] = {FK_AES_ECB, FK_AES_CBC, FK_AES_CFB128, FK_AES_OFB,
                                            FK_AES_CTR, FK_AES_XTS};
    uint8_t key[64], iv[16], iv_copy[16], pt[300], ct[300], back[300];
    (void)state;

    for (int round = 0; round < 200; round++) {
        fk_aes_mode_t mode = k_modes[random_below(6)];
        size_t key_len = mode == FK_AES_XTS ? (random_below(2) ? 64 : 32) : 16 + 8 * random_below(3);
        size_t len = random_below(sizeof(pt) + 1);
        if (mode == FK_AES_ECB || mode == FK_AES_CBC) len -= len % 16;
        if (mode == FK_AES_XTS && len < 16) len = 16;
        random_bytes(key, sizeof(key));
        random_bytes(iv, sizeof(iv));
        random_bytes(pt, sizeof(pt));
        memcpy(iv_copy, iv, sizeof(iv));
        const uint8_t *v = mode == FK_AES_ECB ? NULL : iv;
        size_t vl = mode == FK_AES_ECB ? 0 : 16;
        assert_int_equal(fk_aes_crypt(mode, true, key, key_len, v, vl, pt, len, ct), FK_CRYPTO_OK);
        assert_memory_equal(iv, iv_copy, 16);
        if (len >= 16) assert_memory_not_equal(ct, pt, len);
        memcpy(back, ct, len);
        assert_int_equal(fk_aes_crypt(mode, false, key, key_len, v, vl, back, len, back), FK_CRYPTO_OK);
        assert_memory_equal(back, pt, len);
        memcpy(back, pt, len);
        assert_int_equal(fk_aes_crypt(mode, true, key, key_len, v, vl, back, len, back), FK_CRYPTO_OK);
        assert_memory_equal(back, ct, len);
    }
}

/* ---- AES-CMAC: RFC 4493 and NIST SP 800-38B ----------------------------- */

static void test_aes_cmac(void **state)
{
    static const char *const want[3][4] = {
        {"bb1d6929e95937287fa37d129b756746", "070a16b46b4d4144f79bdd9dd04a287c",
         "dfa66747de9ae63030ca32611497c827", "51f0bebf7e3b9d92fc49741779363cfe"},
        {"d17ddf46adaacde531cac483de7a9367", "9e99a7bf31e710900662f65e617c5184",
         "8a1de5be2eb31aad089a82e6ee908b0e", "a1d5df0eed790f794d77589659f39a11"},
        {"028962f61b7bf89efc6b551f4667d983", "28a7023f452e8f82bd4bf28d8c37c35c",
         "aaf3d8f1de5640c232f5b169b9c911e6", "e1992190549f6ed5696a2c056c315410"},
    };
    static const size_t lens[4] = {0, 16, 40, 64};
    uint8_t msg[64], key[32], mac[16], exp[16];
    (void)state;

    fk_test_unhex(k_sp38a_pt, msg, sizeof(msg));
    for (size_t k = 0; k < 3; k++) {
        size_t key_len = fk_test_unhex(k_sp38a_keys[k], key, sizeof(key));
        for (size_t i = 0; i < 4; i++) {
            fk_test_unhex(want[k][i], exp, sizeof(exp));
            assert_int_equal(fk_aes_cmac(key, key_len, lens[i] ? msg : NULL, lens[i], mac), FK_CRYPTO_OK);
            assert_memory_equal(mac, exp, 16);
        }
    }
    assert_int_equal(fk_aes_cmac(key, 20, msg, 16, mac), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_aes_cmac(key, 64, msg, 16, mac), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_aes_cmac(NULL, 16, msg, 16, mac), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_aes_cmac(key, 16, NULL, 16, mac), FK_CRYPTO_EINVAL);
}

/* ---- ChaCha20-Poly1305: RFC 8439 section 2.8.2 -------------------------- */

static void test_chachapoly_rfc8439(void **state)
{
    static const char pt_text[] =
        "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
        "future, sunscreen would be it.";
    uint8_t key[32], nonce[12], aad[12], ct[114], tag[16], out[114], work[114], want_tag[16];
    const size_t len = sizeof(pt_text) - 1;
    (void)state;

    fill_range(key, 32, 0x80);
    fk_test_unhex("070000004041424344454647", nonce, sizeof(nonce));
    fk_test_unhex("50515253c0c1c2c3c4c5c6c7", aad, sizeof(aad));
    assert_int_equal(fk_test_unhex("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
                           "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
                           "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
                           "3ff4def08e4b7a9de576d26586cec64b6116",
                           ct, sizeof(ct)),
                     len);
    fk_test_unhex("1ae10b594f09e26a7e902ecbd0600691", want_tag, sizeof(want_tag));

    assert_int_equal(fk_chachapoly_seal(key, nonce, aad, 12, (const uint8_t *)pt_text, len, out, tag),
                     FK_CRYPTO_OK);
    assert_memory_equal(out, ct, len);
    assert_memory_equal(tag, want_tag, 16);
    assert_int_equal(fk_chachapoly_open(key, nonce, aad, 12, ct, len, want_tag, out), FK_CRYPTO_OK);
    assert_memory_equal(out, pt_text, len);
    memcpy(work, ct, len);
    assert_int_equal(fk_chachapoly_open(key, nonce, aad, 12, work, len, want_tag, work), FK_CRYPTO_OK);
    assert_memory_equal(work, pt_text, len);

    want_tag[15] ^= 0x80;
    memset(out, 0xA5, sizeof(out));
    assert_int_equal(fk_chachapoly_open(key, nonce, aad, 12, ct, len, want_tag, out), FK_CRYPTO_EAUTH);
    assert_true(all_zero(out, len));
    want_tag[15] ^= 0x80;
    aad[0] ^= 1;
    assert_int_equal(fk_chachapoly_open(key, nonce, aad, 12, ct, len, want_tag, out), FK_CRYPTO_EAUTH);
    assert_true(all_zero(out, len));
    assert_int_equal(fk_chachapoly_seal(key, nonce, NULL, 0, work, 32, work + 8, tag), FK_CRYPTO_EINVAL);
}

/* ---- HMAC: RFC 2202 (SHA-1) and RFC 4231 (SHA-2) ------------------------ */

static const char k_t7[] =
    "This is a test using a larger than block-size key and a larger than block-size data. The key "
    "needs to be hashed before being used by the HMAC algorithm.";

static void check_hmac(fk_hash_t h, const uint8_t *key, size_t key_len, const char *msg, size_t len,
                       const char *want)
{
    uint8_t mac[64], exp[64];
    size_t n = fk_test_unhex(want, exp, sizeof(exp));
    memset(mac, 0, sizeof(mac));
    assert_int_equal(fk_hmac(h, key, key_len, (const uint8_t *)msg, len, mac), FK_CRYPTO_OK);
    assert_memory_equal(mac, exp, n);
    assert_true(all_zero(mac + n, sizeof(mac) - n));
}

static void test_hmac_vectors(void **state)
{
    uint8_t k0b[20], kaa[131], ddd[50];
    (void)state;

    memset(k0b, 0x0b, sizeof(k0b));
    memset(kaa, 0xaa, sizeof(kaa));
    memset(ddd, 0xdd, sizeof(ddd));

    /* RFC 2202 test cases 1, 2, 3, 6, 7. */
    check_hmac(FK_HASH_SHA1, k0b, 20, "Hi There", 8, "b617318655057264e28bc0b6fb378c8ef146be00");
    check_hmac(FK_HASH_SHA1, (const uint8_t *)"Jefe", 4, "what do ya want for nothing?", 28,
               "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    check_hmac(FK_HASH_SHA1, kaa, 20, (const char *)ddd, 50, "125d7342b9ac11cd91a39af48aa17b4f63f175d3");
    check_hmac(FK_HASH_SHA1, kaa, 80, "Test Using Larger Than Block-Size Key - Hash Key First", 54,
               "aa4ae5e15272d00e95705637ce8a3b55ed402112");
    check_hmac(FK_HASH_SHA1, kaa, 80,
               "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data", 73,
               "e8e99d0f45237d786d6bbaa7965c7808bbff1a91");

    /* RFC 4231 test cases 1, 2, 6, 7 for each SHA-2 hash. */
    static const struct {
        fk_hash_t h;
        const char *want[4];
    } k_4231[] = {
        {FK_HASH_SHA224,
         {"896fb1128abbdf196832107cd49df33f47b4b1169912ba4f53684b22",
          "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44",
          "95e9a0db962095adaebe9b2d6f0dbce2d499f112f2d2b7273fa6870e",
          "3a854166ac5d9f023f54d517d0b39dbd946770db9c2b95c9f6f565d1"}},
        {FK_HASH_SHA256,
         {"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
          "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"}},
        {FK_HASH_SHA384,
         {"afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
          "faea9ea9076ede7f4af152e8b2fa9cb6",
          "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
          "8e2240ca5e69e2c78b3239ecfab21649",
          "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6"
          "0c2ef6ab4030fe8296248df163f44952",
          "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5"
          "a678cc31e799176d3860e6110c46523e"}},
        {FK_HASH_SHA512,
         {"87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
          "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
          "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
          "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
          "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
          "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
          "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
          "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"}},
    };
    for (size_t i = 0; i < sizeof(k_4231) / sizeof(k_4231[0]); i++) {
        check_hmac(k_4231[i].h, k0b, 20, "Hi There", 8, k_4231[i].want[0]);
        check_hmac(k_4231[i].h, (const uint8_t *)"Jefe", 4, "what do ya want for nothing?", 28,
                   k_4231[i].want[1]);
        check_hmac(k_4231[i].h, kaa, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54,
                   k_4231[i].want[2]);
        check_hmac(k_4231[i].h, kaa, 131, k_t7, sizeof(k_t7) - 1, k_4231[i].want[3]);
    }

    uint8_t mac[64];
    assert_int_equal(fk_hmac(FK_HASH_NONE, k0b, 20, k0b, 1, mac), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_hmac((fk_hash_t)6, k0b, 20, k0b, 1, mac), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_hmac(FK_HASH_SHA256, NULL, 20, k0b, 1, mac), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_hmac(FK_HASH_SHA256, k0b, 20, k0b, 1, NULL), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_hmac(FK_HASH_SHA256, NULL, 0, NULL, 0, mac), FK_CRYPTO_OK);
}

/* ---- HKDF: RFC 5869 appendix A ------------------------------------------ */

static void test_hkdf_rfc5869(void **state)
{
    uint8_t ikm[80], salt[80], info[80], okm[82], want[82];
    (void)state;

    /* A.1, A.2, A.3 (SHA-256) and A.4, A.5, A.6, A.7 (SHA-1). */
    static const struct {
        fk_hash_t h;
        int kind; /* 0: basic, 1: long inputs, 2: no salt and info, 3: no salt, IKM 0c */
        size_t ikm_len, len;
        const char *okm;
    } k_cases[] = {
        {FK_HASH_SHA256, 0, 22, 42,
         "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
        {FK_HASH_SHA256, 1, 80, 82,
         "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb"
         "41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"},
        {FK_HASH_SHA256, 2, 22, 42,
         "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
        {FK_HASH_SHA1, 0, 11, 42,
         "085a01ea1b10f36933068b56efa5ad81a4f14b822f5b091568a9cdd4f155fda2c22e422478d305f3f896"},
        {FK_HASH_SHA1, 1, 80, 82,
         "0bd770a74d1160f7c9f12cd5912a06ebff6adcae899d92191fe4305673ba2ffe8fa3f1a4e5ad79f3f334"
         "b3b202b2173c486ea37ce3d397ed034c7f9dfeb15c5e927336d0441f4c4300e2cff0d0900b52d3b4"},
        {FK_HASH_SHA1, 2, 22, 42,
         "0ac1af7002b3d761d1e55298da9d0506b9ae52057220a306e07b6b87e8df21d0ea00033de03984d34918"},
        {FK_HASH_SHA1, 3, 22, 42,
         "2c91117204d745f3500d636a62f64f0ab3bae548aa53d423b0d1f27ebba6f5e5673a081d70cce7acfc48"},
    };
    for (size_t i = 0; i < sizeof(k_cases) / sizeof(k_cases[0]); i++) {
        size_t salt_len = 0, info_len = 0;
        switch (k_cases[i].kind) {
        case 0:
            memset(ikm, 0x0b, k_cases[i].ikm_len);
            fill_range(salt, salt_len = 13, 0x00);
            fill_range(info, info_len = 10, 0xf0);
            break;
        case 1:
            fill_range(ikm, 80, 0x00);
            fill_range(salt, salt_len = 80, 0x60);
            fill_range(info, info_len = 80, 0xb0);
            break;
        case 2:
            memset(ikm, 0x0b, k_cases[i].ikm_len);
            break;
        default:
            memset(ikm, 0x0c, k_cases[i].ikm_len);
            break;
        }
        assert_int_equal(fk_test_unhex(k_cases[i].okm, want, sizeof(want)), k_cases[i].len);
        assert_int_equal(fk_hkdf(k_cases[i].h, salt_len ? salt : NULL, salt_len, ikm,
                                 k_cases[i].ikm_len, info_len ? info : NULL, info_len, okm,
                                 k_cases[i].len),
                         FK_CRYPTO_OK);
        assert_memory_equal(okm, want, k_cases[i].len);
    }
}

static void test_hkdf_limits(void **state)
{
    static uint8_t out[255 * 64 + 1];
    uint8_t ikm[16] = {1};
    (void)state;

    assert_int_equal(fk_hkdf(FK_HASH_SHA512, NULL, 0, ikm, 16, NULL, 0, out, 255 * 64), FK_CRYPTO_OK);
    assert_int_equal(fk_hkdf(FK_HASH_SHA512, NULL, 0, ikm, 16, NULL, 0, out, 255 * 64 + 1),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(fk_hkdf(FK_HASH_SHA1, NULL, 0, ikm, 16, NULL, 0, out, 255 * 20 + 1),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(fk_hkdf(FK_HASH_SHA256, NULL, 0, ikm, 16, NULL, 0, out, 0), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_hkdf(FK_HASH_NONE, NULL, 0, ikm, 16, NULL, 0, out, 32), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_hkdf(FK_HASH_SHA256, NULL, 1, ikm, 16, NULL, 0, out, 32), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_hkdf(FK_HASH_SHA256, NULL, 0, NULL, 16, NULL, 0, out, 32), FK_CRYPTO_EINVAL);
    /* The generic HKDF-SHA256 agrees with crypto.h's. */
    uint8_t a[100], b[100];
    assert_int_equal(fk_hkdf(FK_HASH_SHA256, ikm, 3, ikm, 16, ikm, 5, a, sizeof(a)), FK_CRYPTO_OK);
    assert_int_equal(fk_hkdf_sha256(ikm, 3, ikm, 16, ikm, 5, b, sizeof(b)), FK_CRYPTO_OK);
    assert_memory_equal(a, b, sizeof(a));
}

/* ---- PBKDF2: RFC 6070 (HMAC-SHA1), RFC 7914 section 11 (HMAC-SHA256) ---- */

static unsigned g_keepalives;
static void count_keepalive(void *arg)
{
    assert_ptr_equal(arg, &g_keepalives);
    g_keepalives++;
}

static void check_pbkdf2(fk_hash_t h, const char *pw, size_t pw_len, const char *salt,
                         size_t salt_len, uint32_t c, const char *want)
{
    uint8_t out[64], exp[64];
    size_t n = fk_test_unhex(want, exp, sizeof(exp));
    assert_int_equal(fk_pbkdf2(h, (const uint8_t *)pw, pw_len, (const uint8_t *)salt, salt_len, c,
                               NULL, NULL, out, n),
                     FK_CRYPTO_OK);
    assert_memory_equal(out, exp, n);
}

static void test_pbkdf2_vectors(void **state)
{
    (void)state;
    check_pbkdf2(FK_HASH_SHA1, "password", 8, "salt", 4, 1, "0c60c80f961f0e71f3a9b524af6012062fe037a6");
    check_pbkdf2(FK_HASH_SHA1, "password", 8, "salt", 4, 2, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
    check_pbkdf2(FK_HASH_SHA1, "password", 8, "salt", 4, 4096,
                 "4b007901b765489abead49d926f721d065a429c1");
    check_pbkdf2(FK_HASH_SHA1, "passwordPASSWORDpassword", 24, "saltSALTsaltSALTsaltSALTsaltSALTsalt",
                 36, 4096, "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038");
    check_pbkdf2(FK_HASH_SHA1, "pass\0word", 9, "sa\0lt", 5, 4096, "56fa6aa75548099dcc37d7f03425e0c3");
    check_pbkdf2(FK_HASH_SHA256, "passwd", 6, "salt", 4, 1,
                 "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
                 "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
    check_pbkdf2(FK_HASH_SHA256, "Password", 8, "NaCl", 4, 80000,
                 "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
                 "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d");

    /* The generic PBKDF2-SHA256 agrees with crypto.h's. */
    uint8_t a[40], b[40];
    assert_int_equal(fk_pbkdf2(FK_HASH_SHA256, (const uint8_t *)"pw", 2, (const uint8_t *)"s", 1, 33,
                               NULL, NULL, a, sizeof(a)),
                     FK_CRYPTO_OK);
    assert_int_equal(fk_pbkdf2_sha256("pw", 2, "s", 1, 33, b, sizeof(b)), FK_CRYPTO_OK);
    assert_memory_equal(a, b, sizeof(a));
}

static void test_pbkdf2_keepalive_and_limits(void **state)
{
    uint8_t out[25], ref[25];
    (void)state;

    /* 25 bytes of SHA-1: two blocks of 4096 iterations; one call per
     * FK_PBKDF2_KEEPALIVE iterations after the first of each block. */
    g_keepalives = 0;
    assert_int_equal(fk_pbkdf2(FK_HASH_SHA1, (const uint8_t *)"passwordPASSWORDpassword", 24,
                               (const uint8_t *)"saltSALTsaltSALTsaltSALTsaltSALTsalt", 36, 4096,
                               count_keepalive, &g_keepalives, out, sizeof(out)),
                     FK_CRYPTO_OK);
    assert_int_equal(g_keepalives, (2u * 4095u) / FK_PBKDF2_KEEPALIVE);
    fk_test_unhex("3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038", ref, sizeof(ref));
    assert_memory_equal(out, ref, sizeof(out));
    g_keepalives = 0;
    assert_int_equal(fk_pbkdf2(FK_HASH_SHA1, ref, 4, ref, 4, FK_PBKDF2_KEEPALIVE, count_keepalive,
                               &g_keepalives, out, 20),
                     FK_CRYPTO_OK);
    assert_int_equal(g_keepalives, 0);

    assert_int_equal(fk_pbkdf2(FK_HASH_SHA1, ref, 4, ref, 4, 0, NULL, NULL, out, 20), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pbkdf2(FK_HASH_SHA1, ref, 4, ref, 4, FK_PBKDF2_MAX_ITER + 1, NULL, NULL, out, 20),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pbkdf2(FK_HASH_SHA1, ref, 4, ref, 4, 1, NULL, NULL, out, 0), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pbkdf2(FK_HASH_NONE, ref, 4, ref, 4, 1, NULL, NULL, out, 20), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pbkdf2(FK_HASH_SHA1, NULL, 4, ref, 4, 1, NULL, NULL, out, 20), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pbkdf2(FK_HASH_SHA1, NULL, 0, NULL, 0, 1, NULL, NULL, out, 20), FK_CRYPTO_OK);
}

/* ---- ANSI X9.63 KDF: NIST CAVS (SP 800-135) ansx963_2001.rsp ------------ */

static void test_x963_vectors(void **state)
{
    uint8_t z[32], out[64], want[64];
    (void)state;

    /* [SHA-1], shared secret length 192, SharedInfo length 0, key data 128, COUNT 0. */
    size_t zl = fk_test_unhex("1c7d7b5f0597b03d06a018466ed1a93e30ed4b04dc64ccdd", z, sizeof(z));
    fk_test_unhex("bf71dffd8f4d99223936beb46fee8ccc", want, sizeof(want));
    assert_int_equal(fk_x963_kdf(FK_HASH_SHA1, z, zl, NULL, 0, out, 16), FK_CRYPTO_OK);
    assert_memory_equal(out, want, 16);
    /* [SHA-256], the same lengths, COUNT 0. */
    zl = fk_test_unhex("96c05619d56c328ab95fe84b18264b08725b85e33fd34f08", z, sizeof(z));
    fk_test_unhex("443024c3dae66b95e6f5670601558f71", want, sizeof(want));
    assert_int_equal(fk_x963_kdf(FK_HASH_SHA256, z, zl, NULL, 0, out, 16), FK_CRYPTO_OK);
    assert_memory_equal(out, want, 16);

    /* The definition over two blocks with shared info: each block is
     * H(Z || counter || info), here by pk.c's fk_hash (mbedtls_md). */
    uint8_t info[5] = {1, 2, 3, 4, 5}, block[64], buf[64];
    assert_int_equal(fk_x963_kdf(FK_HASH_SHA224, z, zl, info, 5, out, 50), FK_CRYPTO_OK);
    for (uint8_t counter = 1; counter <= 2; counter++) {
        const uint8_t ctr[4] = {0, 0, 0, counter};
        memcpy(buf, z, zl);
        memcpy(buf + zl, ctr, 4);
        memcpy(buf + zl + 4, info, 5);
        assert_int_equal(fk_hash(FK_HASH_SHA224, buf, zl + 9, block), FK_CRYPTO_OK);
        assert_memory_equal(out + 28u * (counter - 1u), block, counter == 1 ? 28 : 22);
    }
    /* Output prefix stability: a shorter request is a prefix of a longer one. */
    uint8_t shorter[30];
    assert_int_equal(fk_x963_kdf(FK_HASH_SHA224, z, zl, info, 5, shorter, 30), FK_CRYPTO_OK);
    assert_memory_equal(shorter, out, 30);

    assert_int_equal(fk_x963_kdf(FK_HASH_SHA256, z, zl, NULL, 0, out, 0), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_x963_kdf(FK_HASH_NONE, z, zl, NULL, 0, out, 16), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_x963_kdf(FK_HASH_SHA256, z, zl, NULL, 3, out, 16), FK_CRYPTO_EINVAL);
}

/* ---- Random inputs against python3-cryptography ------------------------- */

static void hexline(FILE *f, const uint8_t *p, size_t n)
{
    fputc(' ', f);
    if (n == 0) fputc('-', f);
    for (size_t i = 0; i < n; i++) fprintf(f, "%02x", p[i]);
}

static const char *const k_hash_names[] = {"", "sha1", "sha224", "sha256", "sha384", "sha512"};

/* Every primitive on random keys, IVs, lengths and data: each line of the
 * cases file names the primitive, its inputs and our output; the script
 * recomputes each with python3-cryptography and fails on a difference. */
static void test_cross_python(void **state)
{
    static const char *const k_modes[] = {"", "ecb", "cbc", "cfb", "ofb", "ctr", "xts"};
    char path[] = "/tmp/fk-sym-XXXXXX";
    uint8_t key[64], iv[64], aad[40], in[200], out[260], tag[16];
    (void)state;

    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    for (int round = 0; round < 40; round++) {
        random_bytes(key, sizeof(key));
        random_bytes(iv, sizeof(iv));
        random_bytes(aad, sizeof(aad));
        random_bytes(in, sizeof(in));
        for (int mode = FK_AES_ECB; mode <= FK_AES_XTS; mode++) {
            size_t kl = mode == FK_AES_XTS ? 32u * (1 + random_below(2)) : 16 + 8 * random_below(3);
            size_t len = random_below(sizeof(in) + 1);
            if (mode == FK_AES_ECB || mode == FK_AES_CBC) len -= len % 16;
            if (mode == FK_AES_XTS && len < 16) len = 16 + random_below(20);
            const bool ecb = mode == FK_AES_ECB;
            assert_int_equal(fk_aes_crypt((fk_aes_mode_t)mode, true, key, kl, ecb ? NULL : iv,
                                          ecb ? 0 : 16, in, len, out),
                             FK_CRYPTO_OK);
            fprintf(f, "%s", k_modes[mode]);
            hexline(f, key, kl);
            hexline(f, iv, ecb ? 0 : 16);
            hexline(f, in, len);
            hexline(f, out, len);
            fputc('\n', f);
        }
        /* GCM (nonce 8..64: the module's lower limits) and CCM. */
        size_t kl = 16 + 8 * random_below(3), len = random_below(sizeof(in) + 1);
        size_t nl = 8 + random_below(57), al = random_below(sizeof(aad) + 1), tl = 4 + random_below(13);
        assert_int_equal(fk_aes_aead_seal(FK_AES_GCM, key, kl, iv, nl, aad, al, in, len, out, tag, tl),
                         FK_CRYPTO_OK);
        fprintf(f, "gcm");
        hexline(f, key, kl), hexline(f, iv, nl), hexline(f, aad, al), hexline(f, in, len);
        hexline(f, out, len), hexline(f, tag, tl);
        fputc('\n', f);
        nl = 7 + random_below(7);
        tl = 4 + 2 * random_below(7);
        assert_int_equal(fk_aes_aead_seal(FK_AES_CCM, key, kl, iv, nl, aad, al, in, len, out, tag, tl),
                         FK_CRYPTO_OK);
        fprintf(f, "ccm");
        hexline(f, key, kl), hexline(f, iv, nl), hexline(f, aad, al), hexline(f, in, len);
        hexline(f, out, len), hexline(f, tag, tl);
        fputc('\n', f);
        assert_int_equal(fk_chachapoly_seal(key, iv, aad, al, in, len, out, tag), FK_CRYPTO_OK);
        fprintf(f, "chachapoly");
        hexline(f, key, 32), hexline(f, iv, 12), hexline(f, aad, al), hexline(f, in, len);
        hexline(f, out, len), hexline(f, tag, 16);
        fputc('\n', f);
        assert_int_equal(fk_aes_cmac(key, kl, in, len, out), FK_CRYPTO_OK);
        fprintf(f, "cmac");
        hexline(f, key, kl), hexline(f, in, len), hexline(f, out, 16);
        fputc('\n', f);
        for (int h = FK_HASH_SHA1; h <= FK_HASH_SHA512; h++) {
            static const size_t hl[] = {0, 20, 28, 32, 48, 64};
            size_t klen = random_below(sizeof(key) + 1), olen = 1 + random_below(sizeof(out));
            assert_int_equal(fk_hmac((fk_hash_t)h, key, klen, in, len, out), FK_CRYPTO_OK);
            fprintf(f, "hmac %s", k_hash_names[h]);
            hexline(f, key, klen), hexline(f, in, len), hexline(f, out, hl[h]);
            fputc('\n', f);
            assert_int_equal(fk_hkdf((fk_hash_t)h, iv, nl, key, klen, aad, al, out, olen), FK_CRYPTO_OK);
            fprintf(f, "hkdf %s", k_hash_names[h]);
            hexline(f, iv, nl), hexline(f, key, klen), hexline(f, aad, al), hexline(f, out, olen);
            fputc('\n', f);
            uint32_t iters = 1 + (uint32_t)random_below(300);
            assert_int_equal(fk_pbkdf2((fk_hash_t)h, key, klen, iv, nl, iters, NULL, NULL, out, olen),
                             FK_CRYPTO_OK);
            fprintf(f, "pbkdf2 %s %u", k_hash_names[h], (unsigned)iters);
            hexline(f, key, klen), hexline(f, iv, nl), hexline(f, out, olen);
            fputc('\n', f);
            assert_int_equal(fk_x963_kdf((fk_hash_t)h, key, klen, aad, al, out, olen), FK_CRYPTO_OK);
            fprintf(f, "x963 %s", k_hash_names[h]);
            hexline(f, key, klen), hexline(f, aad, al), hexline(f, out, olen);
            fputc('\n', f);
        }
    }
    assert_int_equal(fclose(f), 0);

    char cmd[512];
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s/tests/unit/crypto/sym_cross.py' '%s'",
             FK_SOURCE_DIR, path);
    int st = system(cmd);
    unlink(path);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aes_sp800_38a),
        cmocka_unit_test(test_aes_xts),
        cmocka_unit_test(test_aes_aead_vectors),
        cmocka_unit_test(test_aes_gcm_short_tags),
        cmocka_unit_test(test_aes_aead_tamper),
        cmocka_unit_test(test_aes_aead_lengths),
        cmocka_unit_test(test_aes_crypt_lengths),
        cmocka_unit_test(test_aes_roundtrips),
        cmocka_unit_test(test_aes_cmac),
        cmocka_unit_test(test_chachapoly_rfc8439),
        cmocka_unit_test(test_hmac_vectors),
        cmocka_unit_test(test_hkdf_rfc5869),
        cmocka_unit_test(test_hkdf_limits),
        cmocka_unit_test(test_pbkdf2_vectors),
        cmocka_unit_test(test_pbkdf2_keepalive_and_limits),
        cmocka_unit_test(test_x963_vectors),
        cmocka_unit_test(test_cross_python),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
