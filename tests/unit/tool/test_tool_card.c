/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_tool_card.c - the fusekey tool's firmware commands (otp lock-page58,
 * otp rollback-require, reboot, the device's status) against a fake card:
 * the exact APDUs, nothing sent on a dry run or a wrong token, and a
 * precise message for every status word.
 */
#include "harness.h"

#define INS_OTP 0x1B
#define INS_READ 0x1E
#define INS_REBOOT 0x1F
#define P1_LOCK58 0x58
#define P1_ROLLBACK 0x48

static const uint8_t k_lock58[] = {0x80, 0x1B, 0x58, 0x00, 0x06, 'L', 'O', 'C', 'K', '5', '8', 0x00};
static const uint8_t k_rollbk[] = {0x80, 0x1B, 0x48, 0x00, 0x06, 'R', 'O', 'L', 'L', 'B', 'K', 0x00};
static const uint8_t k_select[] = {0x00, 0xA4, 0x04, 0x04, 0x08, 0xA0, 0x58, 0x3F,
                                   0xC1, 0x9B, 0x7E, 0x4F, 0x21, 0x00};

static harness_t *card_harness(void)
{
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    h->tool.chip = NULL; /* the firmware commands never open the OTP */
    return h;
}

static void assert_sent(const harness_t *h, unsigned i, const uint8_t *apdu, size_t n)
{
    assert_true(i < h->card.n_sent);
    assert_int_equal(h->card.sent_len[i], n);
    assert_memory_equal(h->card.sent[i], apdu, n);
}

static void test_lock58_dry_run_and_tokens(void **state)
{
    (void)state;
    harness_t *h = card_harness();
    fake_reply(h, INS_OTP, P1_LOCK58, 0x9000, NULL, 0);
    assert_int_equal(RUN(h, "LOCK-PAGE58\n", "otp", "lock-page58", "--dry-run"), FK_TOOL_EXIT_OK);
    assert_sent(h, 0, k_select, sizeof k_select);
    assert_false(card_sent(h, INS_OTP, P1_LOCK58));
    assert_out_has(h, "   APDU 80 1B 58 00 06 4C 4F 43 4B 35 38 00");
    assert_out_has(h, "serial F05E0B1E5E21A1C0");
    assert_int_equal(RUN(h, "LOCK-PAGE-58\n", "otp", "lock-page58"), FK_TOOL_EXIT_FAIL);
    assert_int_equal(RUN(h, NULL, "otp", "lock-page58", "--yes-i-understand", "BURN-OTP-PAGE58"),
                     FK_TOOL_EXIT_FAIL);
    assert_int_equal(RUN(h, "", "otp", "lock-page58"), FK_TOOL_EXIT_FAIL);
    assert_false(card_sent(h, INS_OTP, P1_LOCK58));
    assert_int_equal(RUN(h, "LOCK-PAGE58\n", "otp", "lock-page58"), FK_TOOL_EXIT_OK);
    assert_sent(h, h->card.n_sent - 1, k_lock58, sizeof k_lock58);
    assert_out_has(h, "takes effect at the device's next reset");
    h_free(h);
}

static void test_lock58_status_words(void **state)
{
    (void)state;
    static const struct {
        uint16_t sw;
        const char *msg;
    } cases[] = {
        {0x6985, "no OTP master key is provisioned"},
        {0x6400, "OTP write or its read-back failed"},
        {0x6984, "did not accept the confirmation payload"},
        {0x6A86, "P1/P2"},
        {0x6D00, "does not have this command"},
        {0x6A80, "unexpected status"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        harness_t *h = card_harness();
        fake_reply(h, INS_OTP, P1_LOCK58, cases[i].sw, NULL, 0);
        assert_int_equal(RUN(h, NULL, "otp", "lock-page58", "--yes-i-understand", "LOCK-PAGE58"),
                         FK_TOOL_EXIT_FAIL);
        assert_err_has(h, cases[i].msg);
        h_free(h);
    }
    harness_t *h = card_harness();
    h->card.refuse_connect = true;
    assert_int_equal(RUN(h, NULL, "otp", "lock-page58", "--yes-i-understand", "LOCK-PAGE58"),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "is it running");
    h_free(h);
}

static void test_rollback_require(void **state)
{
    (void)state;
    static const uint8_t not_required[3] = {0, 0, 48}, required[3] = {1, 2, 48};
    static const uint8_t sb_off[3] = {0, 0, 0xFF}, sb_on[3] = {1, 0, 0};

    /* Already required (the bootrom's first versioned boot): nothing sent, "already". */
    harness_t *h = card_harness();
    fake_reply(h, INS_READ, 0x06, 0x9000, required, 3);
    assert_int_equal(RUN(h, NULL, "otp", "rollback-require", "--yes-i-understand",
                         "ROLLBACK-REQUIRED"),
                     FK_TOOL_EXIT_OK);
    assert_out_has(h, "already set");
    assert_false(card_sent(h, INS_OTP, P1_ROLLBACK));
    h_free(h);

    /* Secure boot off: the device refuses; the message says which step comes first. */
    h = card_harness();
    fake_reply(h, INS_READ, 0x06, 0x9000, not_required, 3);
    fake_reply(h, INS_READ, 0x03, 0x9000, sb_off, 3);
    fake_reply(h, INS_OTP, P1_ROLLBACK, 0x6985, NULL, 0);
    assert_int_equal(RUN(h, NULL, "otp", "rollback-require", "--dry-run"), FK_TOOL_EXIT_OK);
    assert_out_has(h, "   APDU 80 1B 48 00 06 52 4F 4C 4C 42 4B 00");
    assert_out_has(h, "will refuse");
    assert_false(card_sent(h, INS_OTP, P1_ROLLBACK));
    assert_int_equal(RUN(h, "ROLLBACK\n", "otp", "rollback-require"), FK_TOOL_EXIT_FAIL);
    assert_false(card_sent(h, INS_OTP, P1_ROLLBACK));
    assert_int_equal(RUN(h, "ROLLBACK-REQUIRED\n", "otp", "rollback-require"), FK_TOOL_EXIT_FAIL);
    assert_true(card_sent(h, INS_OTP, P1_ROLLBACK));
    assert_err_has(h, "secure boot is not enabled");
    assert_err_has(h, "secure-boot enable` comes first");
    h_free(h);

    /* Secure boot on, presence declined. */
    h = card_harness();
    fake_reply(h, INS_READ, 0x06, 0x9000, not_required, 3);
    fake_reply(h, INS_READ, 0x03, 0x9000, sb_on, 3);
    fake_reply(h, INS_OTP, P1_ROLLBACK, 0x6985, NULL, 0);
    assert_int_equal(RUN(h, "ROLLBACK-REQUIRED\n", "otp", "rollback-require"), FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "presence was declined");
    h_free(h);

    /* 9000 but the device still reports not required: a failed verify. */
    h = card_harness();
    fake_reply(h, INS_READ, 0x06, 0x9000, not_required, 3);
    fake_reply(h, INS_READ, 0x03, 0x9000, sb_on, 3);
    fake_reply(h, INS_OTP, P1_ROLLBACK, 0x9000, NULL, 0);
    assert_int_equal(RUN(h, "ROLLBACK-REQUIRED\n", "otp", "rollback-require"), FK_TOOL_EXIT_FAIL);
    assert_sent(h, h->card.n_sent - 2, k_rollbk, sizeof k_rollbk);
    assert_err_has(h, "does not report ROLLBACK_REQUIRED");
    h_free(h);

    /* No rollback status at all (old firmware): refused before anything. */
    h = card_harness();
    assert_int_equal(RUN(h, "ROLLBACK-REQUIRED\n", "otp", "rollback-require"), FK_TOOL_EXIT_FAIL);
    assert_false(card_sent(h, INS_OTP, P1_ROLLBACK));
    h_free(h);
}

static void test_reboot_and_device_status(void **state)
{
    (void)state;
    harness_t *h = card_harness();
    fake_reply(h, INS_REBOOT, 0x01, 0x9000, NULL, 0);
    assert_int_equal(RUN(h, NULL, "reboot", "--bootsel"), FK_TOOL_EXIT_OK);
    assert_true(card_sent(h, INS_REBOOT, 0x01));
    assert_out_has(h, "BOOTSEL");
    h_free(h);
    h = card_harness();
    fake_reply(h, INS_REBOOT, 0x01, 0x6985, NULL, 0);
    assert_int_equal(RUN(h, NULL, "reboot", "--bootsel"), FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "presence was declined");
    h_free(h);

    h = card_harness();
    static const uint8_t sb[3] = {1, 1, 2}, rb[3] = {1, 5, 48};
    fake_reply(h, INS_READ, 0x03, 0x9000, sb, 3);
    fake_reply(h, INS_READ, 0x06, 0x9000, rb, 3);
    assert_int_equal(RUN(h, NULL, "secure-boot", "status"), FK_TOOL_EXIT_OK);
    assert_out_has(h, "secure boot: enabled yes, locked yes, boot key slot 2");
    assert_out_has(h, "rollback: required yes, floor 5 of 48");
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock58_dry_run_and_tokens),
        cmocka_unit_test(test_lock58_status_words),
        cmocka_unit_test(test_rollback_require),
        cmocka_unit_test(test_reboot_and_device_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
