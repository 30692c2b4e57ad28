/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_card.c - talking to a SmartCard-HSM-compatible card: the applet's
 * selection, APDUs in short or extended form, every status word as a
 * sentence, the user PIN, and the file commands (SELECT, READ BINARY,
 * UPDATE BINARY, DELETE FILE, ENUMERATE OBJECTS) as the protocol has them
 * (/work/shared/spec/sc-hsm.md, docs/hsm-files.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apdu.h"
#include "hsm_tool.h"
#include "tlv.h"
#include "util.h"

#define SHORT_MAX_LC 255u
#define SHORT_MAX_LE 256u
#define EXT_MAX_LE 65536u
#define CHUNK 1024u /* UPDATE BINARY data per APDU (the card takes >= 2048) */
#define READ_CHUNK 65535u

#define INS_ENUMERATE 0x58u
#define PIN_USER 0x81u
#define FCP_TAG 0x62u
#define FCP_SIZE 0x81u
#define FCP_PROPRIETARY 0x85u
#define FCP_PROPRIETARY_LEN 5u
#define TAG_OFFSET 0x54u
#define TAG_DATA 0x53u

static const uint8_t k_hsm_aid[] = {0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01};

/* ---- Status words --------------------------------------------------------------- */

const char *hsm_sw_text(uint16_t sw, char *buf, size_t cap)
{
    const char *t;
    if ((sw & 0xFFF0u) == 0x63C0u) {
        (void)snprintf(buf, cap, "%04X: verification failed, %u tries left", sw, sw & 0x0Fu);
        return buf;
    }
    if ((sw & 0xFF00u) == 0x6100u) {
        (void)snprintf(buf, cap, "%04X: more response data (not collected)", sw);
        return buf;
    }
    switch (sw) {
    case 0x9000: t = "success"; break;
    case 0x6282: t = "end of file reached"; break;
    case 0x6400: t = "execution error (the card's operation failed)"; break;
    case 0x6581: t = "memory failure (the card could not write its flash)"; break;
    case 0x6600: t = "no user presence in time (press-to-confirm)"; break;
    case 0x6700: t = "wrong length"; break;
    case 0x6883: t = "last command of the chain expected"; break;
    case 0x6982: t = "security status not satisfied (PIN not verified)"; break;
    case 0x6983: t = "authentication method blocked (PIN blocked)"; break;
    case 0x6984: t = "reference data not usable (a transport PIN to change first, or a use counter run out)"; break;
    case 0x6985: t = "conditions of use not satisfied (algorithm not allowed for the key, or presence declined)"; break;
    case 0x6986: t = "command not allowed (nothing outstanding, or an option of the device not set)"; break;
    case 0x6A80: t = "incorrect data (e.g. a wrong padding, or a wrapped key that does not match the DKEK)"; break;
    case 0x6A81: t = "function not supported (an algorithm or curve the card does not have)"; break;
    case 0x6A82: t = "file or key not found"; break;
    case 0x6A84: t = "not enough memory (or the key's use counter is exhausted)"; break;
    case 0x6A86: t = "incorrect parameters P1/P2"; break;
    case 0x6A88: t = "referenced data not found (not initialized, or no such key domain)"; break;
    case 0x6A89: t = "already exists (or still in use)"; break;
    case 0x6B00: t = "wrong parameters P1/P2"; break;
    case 0x6D00: t = "instruction not supported (the firmware does not have this command)"; break;
    case 0x6E00: t = "class not supported"; break;
    case 0x6F00: t = "unknown error in the card"; break;
    default: t = "unexpected status"; break;
    }
    (void)snprintf(buf, cap, "%04X: %s", sw, t);
    return buf;
}

int hsm_sw_fail(hsm_run_t *h, const char *what)
{
    char b[160];
    h->error_sw = h->sw;
    return hsm_fail(h, "%s failed: %s", what, hsm_sw_text(h->sw, b, sizeof b));
}

/* ---- APDUs ------------------------------------------------------------------------- */

/* An input whose command would not fit one reader frame (FK_HSM_WIRE_MAX). */
static int too_long(hsm_run_t *h)
{
    return hsm_fail(h, "the input makes a command longer than %u bytes, the most a reader "
                       "carries in one APDU: give less input",
                    FK_HSM_WIRE_MAX);
}

/* Send a built APDU; the answer lands in h->resp. */
static int transmit(hsm_run_t *h, const uint8_t *apdu, size_t n)
{
    char err[FK_RUN_ERR_CAP];
    const fk_tool_t *t = h->base.t;
    h->resp_len = 0;
    h->sw = 0;
    if (n > FK_HSM_WIRE_MAX) return too_long(h);
    if (t->card->transmit(t->card_arg, apdu, n, h->resp, FK_HSM_RESP_MAX, &h->resp_len, &h->sw, err,
                          sizeof err) != 0)
        return hsm_fail(h, "talking to the card failed: %s", err);
    return FK_TOOL_EXIT_OK;
}

static int apdu(hsm_run_t *h, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data, size_t len,
                size_t ne, bool exact)
{
    if (len > 0xFFFFu) return too_long(h);
    if (ne > EXT_MAX_LE) return hsm_fail(h, "internal: Le too long");
    uint8_t *a = malloc(FK_HSM_APDU_MAX);
    if (a == NULL) return hsm_fail(h, "out of memory");
    size_t n = 0;
    a[n++] = cla;
    a[n++] = ins;
    a[n++] = p1;
    a[n++] = p2;
    if (len <= SHORT_MAX_LC && (ne < SHORT_MAX_LE || (ne == SHORT_MAX_LE && !exact))) {
        if (len > 0u) {
            a[n++] = (uint8_t)len;
            memcpy(a + n, data, len);
            n += len;
        }
        if (ne > 0u) a[n++] = (uint8_t)(ne == SHORT_MAX_LE ? 0u : ne);
    } else {
        a[n++] = 0x00;
        if (len > 0u) {
            a[n++] = (uint8_t)(len >> 8);
            a[n++] = (uint8_t)len;
            memcpy(a + n, data, len);
            n += len;
        }
        if (ne > 0u) {
            a[n++] = (uint8_t)(ne == EXT_MAX_LE ? 0u : ne >> 8);
            a[n++] = (uint8_t)(ne == EXT_MAX_LE ? 0u : ne);
        }
    }
    const int rc = transmit(h, a, n);
    fk_wipe(a, n); /* PINs, plaintexts */
    free(a);
    return rc;
}

int hsm_apdu(hsm_run_t *h, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
             size_t len, size_t ne)
{
    return apdu(h, cla, ins, p1, p2, data, len, ne, false);
}

int hsm_apdu_exact(hsm_run_t *h, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
                   size_t len, size_t ne)
{
    return apdu(h, cla, ins, p1, p2, data, len, ne, true);
}

int hsm_apdu_ext_nole(hsm_run_t *h, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
                      const uint8_t *data, size_t len)
{
    if (len > 0xFFFFu) return too_long(h);
    if (len == 0u) return hsm_fail(h, "internal: empty extended APDU");
    uint8_t *a = malloc(FK_HSM_APDU_MAX);
    if (a == NULL) return hsm_fail(h, "out of memory");
    const uint8_t head[] = {cla, ins, p1, p2, 0x00, (uint8_t)(len >> 8), (uint8_t)len};
    memcpy(a, head, sizeof head);
    memcpy(a + sizeof head, data, len);
    const int rc = transmit(h, a, sizeof head + len);
    fk_wipe(a, sizeof head + len);
    free(a);
    return rc;
}

/* ---- The applet ----------------------------------------------------------------------- */

int hsm_open(hsm_run_t *h)
{
    char err[FK_RUN_ERR_CAP];
    const fk_tool_t *t = h->base.t;
    if (h->card_open) return FK_TOOL_EXIT_OK;
    if (t->card->connect(t->card_arg, h->base.reader, err, sizeof err) != 0) {
        return hsm_fail(h, "%s. '%s' talks to a SmartCard-HSM card through pcscd (the emulated "
                           "device: fusekey-sim); is one present%s?",
                        err, h->base.cmd, h->base.reader ? " in that reader" : "");
    }
    h->card_open = true;
    if (hsm_apdu(h, 0x00, FK_INS_SELECT, FK_SELECT_P1_AID, FK_SELECT_P2_FCI, k_hsm_aid,
                 sizeof k_hsm_aid, SHORT_MAX_LE) != FK_TOOL_EXIT_OK)
        return FK_TOOL_EXIT_FAIL;
    if (h->sw != FK_SW_OK) {
        char b[160];
        h->error_sw = h->sw;
        return hsm_fail(h, "the card has no SmartCard-HSM applet: SELECT answered %s",
                        hsm_sw_text(h->sw, b, sizeof b));
    }
    /* 62 { ... 85 05 <options hi lo> <type> <major> <minor> } */
    fk_tlv_t fcp, prop;
    if (h->resp_len > 0u && fk_tlv_find(h->resp, h->resp_len, FCP_TAG, &fcp) == FK_TLV_OK &&
        fk_tlv_find(fcp.value, fcp.len, FCP_PROPRIETARY, &prop) == FK_TLV_OK && prop.len >= 2u) {
        /* Clients index from the end: options, type, major, minor. */
        if (prop.len >= FCP_PROPRIETARY_LEN) {
            h->options = fk_be16(prop.value + prop.len - FCP_PROPRIETARY_LEN);
        } else if (prop.len == FCP_PROPRIETARY_LEN - 1u) {
            h->options = prop.value[0];
        }
        h->major = prop.value[prop.len - 2u];
        h->minor = prop.value[prop.len - 1u];
    }
    return FK_TOOL_EXIT_OK;
}

/* ---- PINs ------------------------------------------------------------------------------- */

int hsm_pin_state(hsm_run_t *h, uint8_t ref, hsm_pin_state_t *st)
{
    memset(st, 0, sizeof *st);
    st->tries = -1;
    if (hsm_apdu(h, 0x00, FK_INS_VERIFY, 0x00, ref, NULL, 0, 0) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    st->sw = h->sw;
    st->initialized = h->sw != FK_SW_REF_NOT_FOUND;
    if (h->sw == FK_SW_OK) st->verified = true;
    if ((h->sw & 0xFFF0u) == 0x63C0u) st->tries = h->sw & 0x0F;
    if (h->sw == FK_SW_AUTH_BLOCKED) {
        st->blocked = true;
        st->tries = 0;
    }
    if (h->sw == FK_SW_REF_DATA_NOT_USABLE) st->transport = true;
    return FK_TOOL_EXIT_OK;
}

int hsm_login(hsm_run_t *h)
{
    if (h->logged_in) return FK_TOOL_EXIT_OK;
    char *pin = hsm_secret(h, HO_PIN, "FUSEKEY_PIN", "User PIN: ", false);
    if (pin == NULL) return FK_TOOL_EXIT_FAIL;
    const int rc = hsm_apdu(h, 0x00, FK_INS_VERIFY, 0x00, PIN_USER, (const uint8_t *)pin, strlen(pin), 0);
    hsm_forget(pin);
    if (rc != FK_TOOL_EXIT_OK) return rc;
    h->error_sw = h->sw;
    switch (h->sw) {
    case FK_SW_OK:
        h->error_sw = 0;
        h->logged_in = true;
        return FK_TOOL_EXIT_OK;
    case FK_SW_AUTH_BLOCKED:
        return hsm_fail(h, "6983: the user PIN is blocked; `fusekey hsm pin unblock` sets a new one "
                           "with the SO-PIN");
    case FK_SW_REF_DATA_NOT_USABLE:
        return hsm_fail(h, "6984: the user PIN is a transport PIN; set your own first with "
                           "`fusekey hsm pin change`");
    case FK_SW_REF_NOT_FOUND:
        return hsm_fail(h, "6A88: the device is not initialized (`fusekey hsm initialize`)");
    case FK_SW_WRONG_LENGTH:
        return hsm_fail(h, "6700: a user PIN has 6 to 16 characters");
    default:
        if ((h->sw & 0xFFF0u) == 0x63C0u) {
            return hsm_fail(h, "%04X: wrong user PIN, %u tries left%s", h->sw, h->sw & 0x0Fu,
                            (h->sw & 0x0Fu) == 0u ? " (blocked)" : "");
        }
        return hsm_sw_fail(h, "VERIFY of the user PIN");
    }
}

/* ---- Files -------------------------------------------------------------------------------- */

/* 54 L <offset> with the fewest bytes (at least 2, as OpenSC sends it). */
static size_t put_offset(uint8_t *p, size_t off)
{
    size_t n = off > 0xFFFFFFu ? 4u : off > 0xFFFFu ? 3u : 2u;
    p[0] = TAG_OFFSET;
    p[1] = (uint8_t)n;
    for (size_t i = 0; i < n; i++) p[2u + i] = (uint8_t)(off >> (8u * (n - 1u - i)));
    return 2u + n;
}

int hsm_file_read(hsm_run_t *h, uint16_t fid, uint8_t **data, size_t *len)
{
    const uint8_t f[2] = {(uint8_t)(fid >> 8), (uint8_t)fid};
    *data = NULL;
    *len = 0;
    if (hsm_apdu(h, 0x00, FK_INS_SELECT, FK_SELECT_P1_FID, FK_SELECT_P2_FCI, f, sizeof f,
                 SHORT_MAX_LE) != FK_TOOL_EXIT_OK)
        return FK_TOOL_EXIT_FAIL;
    if (h->sw == FK_SW_FILE_NOT_FOUND) return HSM_FILE_ABSENT;
    if (h->sw != FK_SW_OK) {
        char what[48];
        (void)snprintf(what, sizeof what, "SELECT of file %04X", fid);
        return hsm_sw_fail(h, what);
    }
    size_t size = SIZE_MAX;
    fk_tlv_t fcp, sz;
    if (fk_tlv_find(h->resp, h->resp_len, FCP_TAG, &fcp) == FK_TLV_OK &&
        fk_tlv_find(fcp.value, fcp.len, FCP_SIZE, &sz) == FK_TLV_OK && sz.len >= 1u && sz.len <= 4u) {
        size = 0;
        for (size_t i = 0; i < sz.len; i++) size = size << 8 | sz.value[i];
    }
    const size_t cap = size == SIZE_MAX ? 256u * 1024u : size;
    uint8_t *buf = malloc(cap + 1u);
    if (buf == NULL) return hsm_fail(h, "out of memory");
    size_t have = 0;
    while (have < cap) {
        uint8_t cmd[6];
        const size_t n = put_offset(cmd, have);
        const size_t want = FK_MIN(cap - have, READ_CHUNK);
        if (hsm_apdu(h, 0x00, FK_INS_READ_BINARY_ODD, 0x00, 0x00, cmd, n, want) != FK_TOOL_EXIT_OK) {
            free(buf);
            return FK_TOOL_EXIT_FAIL;
        }
        if (h->sw == FK_SW_END_OF_FILE || (h->sw == FK_SW_OK && h->resp_len == 0u)) break;
        if (h->sw != FK_SW_OK) {
            char what[48];
            (void)snprintf(what, sizeof what, "READ BINARY of file %04X", fid);
            free(buf);
            return hsm_sw_fail(h, what);
        }
        if (h->resp_len > cap - have) {
            free(buf);
            return hsm_fail(h, "the card sent more of file %04X than its size", fid);
        }
        memcpy(buf + have, h->resp, h->resp_len);
        have += h->resp_len;
        if (size == SIZE_MAX && h->resp_len < want) break;
    }
    if (size != SIZE_MAX && have != size) {
        free(buf);
        return hsm_fail(h, "file %04X: read %zu of %zu bytes", fid, have, size);
    }
    *data = buf;
    *len = have;
    return FK_TOOL_EXIT_OK;
}

int hsm_file_write(hsm_run_t *h, uint16_t fid, const uint8_t *data, size_t len)
{
    uint8_t *cmd = malloc(CHUNK + 16u);
    if (cmd == NULL) return hsm_fail(h, "out of memory");
    size_t off = 0;
    int rc = FK_TOOL_EXIT_OK;
    do {
        const size_t n = FK_MIN(len - off, CHUNK);
        size_t k = put_offset(cmd, off);
        cmd[k++] = TAG_DATA;
        if (n >= 0x100u) {
            cmd[k++] = 0x82;
            cmd[k++] = (uint8_t)(n >> 8);
        } else if (n >= 0x80u) {
            cmd[k++] = 0x81;
        }
        cmd[k++] = (uint8_t)n;
        if (n > 0u) memcpy(cmd + k, data + off, n);
        k += n;
        rc = hsm_apdu(h, 0x00, FK_INS_UPDATE_BINARY_ODD, (uint8_t)(fid >> 8), (uint8_t)fid, cmd, k, 0);
        fk_wipe(cmd, k);
        if (rc == FK_TOOL_EXIT_OK && h->sw != FK_SW_OK) {
            char what[48];
            (void)snprintf(what, sizeof what, "UPDATE BINARY of file %04X", fid);
            rc = hsm_sw_fail(h, what);
        }
        off += n;
    } while (rc == FK_TOOL_EXIT_OK && off < len);
    free(cmd);
    return rc;
}

int hsm_file_delete(hsm_run_t *h, uint16_t fid)
{
    const uint8_t f[2] = {(uint8_t)(fid >> 8), (uint8_t)fid};
    if (hsm_apdu(h, 0x00, FK_INS_DELETE_FILE, 0x02, 0x00, f, sizeof f, 0) != FK_TOOL_EXIT_OK)
        return FK_TOOL_EXIT_FAIL;
    if (h->sw == FK_SW_FILE_NOT_FOUND) return HSM_FILE_ABSENT;
    if (h->sw != FK_SW_OK) {
        char what[48];
        (void)snprintf(what, sizeof what, "DELETE FILE %04X", fid);
        return hsm_sw_fail(h, what);
    }
    return FK_TOOL_EXIT_OK;
}

int hsm_enumerate(hsm_run_t *h, uint16_t **fids, size_t *n)
{
    *fids = NULL;
    *n = 0;
    if (hsm_apdu(h, 0x80, INS_ENUMERATE, 0x00, 0x00, NULL, 0, EXT_MAX_LE) != FK_TOOL_EXIT_OK)
        return FK_TOOL_EXIT_FAIL;
    if (h->sw != FK_SW_OK) return hsm_sw_fail(h, "ENUMERATE OBJECTS");
    if (h->resp_len % 2u != 0u) return hsm_fail(h, "the card's object list has an odd length (%zu bytes)", h->resp_len);
    uint16_t *list = malloc(FK_MAX(h->resp_len, 2u) / 2u * sizeof *list);
    if (list == NULL) return hsm_fail(h, "out of memory");
    for (size_t i = 0; i < h->resp_len / 2u; i++) list[i] = fk_be16(h->resp + 2u * i);
    *fids = list;
    *n = h->resp_len / 2u;
    return FK_TOOL_EXIT_OK;
}
