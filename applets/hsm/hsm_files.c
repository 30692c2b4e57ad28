/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_files.c - the applet's files: SELECT of the MF and of EFs, READ
 * BINARY (B0 and B1), UPDATE BINARY (D7), DELETE FILE, ENUMERATE OBJECTS,
 * and the access rule of each FID class. docs/hsm-files.md describes the
 * behaviour and the choices made where clients leave room.
 *
 * Every host-visible file is one record of the applet's main space whose id
 * is its FID:
 *
 *   2F00-2FFF       static EFs (2F02 device certificates, 2F03 TokenInfo,
 *                   2F10 unwrap transfer, ...)     read free, write PIN
 *                   (2F02: only a whole chain for the device key, never
 *                   deleted)
 *   C4 C8 C9 CA CE CF xx   PKCS#15 descriptions, certificates, public data
 *                                                  read free, write PIN
 *                   (CE00, the device's own request: never written or
 *                   deleted by the host)
 *   CD xx           private data objects           read PIN,  write PIN
 *   CC xx           key objects (hsm_keys.c writes them)
 *                                                  never read or written
 *   anything else   not a file: internal records (0x0000-0x1FFF) are never
 *                   selected, read or written (other applets' records are
 *                   out of the applet's reach altogether)
 *
 * IMPLEMENTATION NOTE: each writing command is exactly one store operation
 * (a write, a patch or a delete), so a power cut leaves the file as before
 * or as after that command, also in the middle of a 128 KiB file.
 * Everything is validated before that operation. DELETE of a key CCxx is
 * one record too: its policy is inside it (the key-object service).
 * Reads never bring a whole file into RAM: the asked-for slice goes from
 * the store straight into the response buffer.
 */
#include <string.h>

#include "hsm_internal.h"

#include "services/keyobj.h"
#include "store/space.h"
#include "tlv.h"
#include "util.h"

/* Largest file the applet stores (docs/hsm-files.md). */
#define HSM_FILE_MAX (128u * 1024u)

#define INS_ENUMERATE_OBJECTS 0x58u

#define FID_CURRENT 0x0000u /* P1P2 of B1/D7: the selected EF */
#define FID_MF 0x3F00u
#define FID_PREFIX_STATIC 0x2Fu

/* READ BINARY (B0): P1 bit 8 announces a short EF identifier. */
#define B0_P1_SFI 0x80u
#define B0_OFFSET_MASK 0x7FFFu

/* Odd-INS data objects */
#define TAG_OFFSET 0x54u
#define TAG_DISCRETIONARY 0x53u
#define OFFSET_MAX_BYTES 4u

/* FCP (ISO 7816-4 table 12) */
#define TAG_FCP 0x62u
#define TAG_FCP_SIZE 0x81u
#define TAG_FCP_DESCRIPTOR 0x82u
#define TAG_FCP_FID 0x83u
#define TAG_FCP_LIFECYCLE 0x8Au
#define FCP_DESCRIPTOR_EF 0x01u /* working EF, transparent */
#define FCP_DESCRIPTOR_DF 0x38u
#define LIFECYCLE_ACTIVATED 0x05u
/* OpenSC reads tag 81 as a signed integer: 2 bytes below 0x8000, else 3
 * (a leading 00 keeps 0x8000-0xFFFF positive; 128 KiB needs 3 anyway). */
#define FCP_SIZE_SHORT 2u
#define FCP_SIZE_LONG 3u
#define FCP_SIZE_SHORT_MAX 0x7FFFu

#define PATH_COMPONENT_LEN 2u
#define FID_LEN 2u
#define SHORT_NE_MAX 256u /* Ne of a READ without Le: what a short Le 00 asks */

/* TokenInfo answered for 2F03 while the host has not written one: the
 * label a PKCS#11 application shows for the token (docs/hsm-files.md).
 * 30 { version 0, manufacturerID "fusekey", label [0] "fusekey",
 *      tokenflags prnGeneration } */
static const uint8_t k_default_tokeninfo[] = {
    0x30, 0x19,                                           /* TokenInfo */
    0x02, 0x01, 0x00,                                     /* version */
    0x0C, 0x07, 'f',  'u',  's',  'e',  'k',  'e',  'y',  /* manufacturerID */
    0x80, 0x07, 'f',  'u',  's',  'e',  'k',  'e',  'y',  /* label */
    0x03, 0x02, 0x05, 0x20,                               /* tokenflags */
};

typedef enum fid_class {
    FID_NONE,    /* not a host file */
    FID_STATIC,  /* 2Fxx */
    FID_KEY,     /* CCxx */
    FID_PRIVATE, /* CDxx */
    FID_PUBLIC,  /* C4, C8, C9, CA, CE, CF */
} fid_class_t;

/* The class of a FID, which decides its access rule. */
static fid_class_t fid_class(uint16_t fid)
{
    uint8_t prefix = (uint8_t)(fid >> 8);
    switch (prefix) {
    case FID_PREFIX_STATIC:
        return FID_STATIC;
    case HSM_PREFIX_KEY:
        return FID_KEY;
    case HSM_PREFIX_PRIVDATA:
        return FID_PRIVATE;
    case HSM_PREFIX_PRKD:
    case HSM_PREFIX_CD:
    case HSM_PREFIX_DCOD:
    case HSM_PREFIX_CA:
    case HSM_PREFIX_EECERT:
    case HSM_PREFIX_DATA:
        return FID_PUBLIC;
    default:
        return FID_NONE;
    }
}

/* The status word for a store result. */
fk_sw_t hsm_store_sw(int rc)
{
    switch (rc) {
    case FK_STORE_OK:
        return FK_SW_OK;
    case FK_STORE_ENOENT:
        return FK_SW_FILE_NOT_FOUND;
    case FK_STORE_ENOSPC:
        return FK_SW_NOT_ENOUGH_MEMORY;
    default:
        return FK_SW_MEMORY_FAILURE;
    }
}

fk_sw_t hsm_batch_end(const fk_applet_ctx_t *ctx, fk_sw_t staged)
{
    if (staged != FK_SW_OK) {
        fk_space_batch_abort(&ctx->space);
        return staged;
    }
    return hsm_store_sw(fk_space_batch_commit(&ctx->space));
}

/* Size of file `fid` as the host sees it. *synthetic is set when the
 * content is the default TokenInfo rather than a stored record. 6A82 when
 * the file does not exist. */
static fk_sw_t file_size(const fk_applet_ctx_t *ctx, uint16_t fid, uint32_t *size,
                         bool *synthetic)
{
    *synthetic = false;
    int rc = fk_space_size(&ctx->space, fid, size);
    if (rc == FK_STORE_ENOENT && fid == HSM_FID_TOKENINFO) {
        *synthetic = true;
        *size = sizeof(k_default_tokeninfo);
        return FK_SW_OK;
    }
    return hsm_store_sw(rc);
}

/* The FID a command addresses: P1P2, or the selected EF for 0000 (6986
 * when none is selected). */
static fk_sw_t target_fid(const fk_applet_ctx_t *ctx, uint16_t p1p2, uint16_t *fid)
{
    *fid = p1p2 == FID_CURRENT ? hsm_state(ctx)->current_ef : p1p2;
    return *fid == FID_CURRENT ? FK_SW_COMMAND_NOT_ALLOWED : FK_SW_OK;
}

/* Read access: keys never, private data with the user PIN, the rest free;
 * 6A82 for anything that is not a host file. */
static fk_sw_t check_read(const fk_applet_ctx_t *ctx, uint16_t fid)
{
    switch (fid_class(fid)) {
    case FID_NONE:
        return FK_SW_FILE_NOT_FOUND;
    case FID_KEY:
        return FK_SW_SECURITY_NOT_SATISFIED;
    case FID_PRIVATE:
        return fk_pin_verified(&hsm_state(ctx)->pins, &hsm_user_pin) ? FK_SW_OK : FK_SW_SECURITY_NOT_SATISFIED;
    case FID_STATIC:
    case FID_PUBLIC:
        break;
    }
    return FK_SW_OK;
}

#define FID_DEVICE_REQUEST HSM_FID(HSM_PREFIX_EECERT, HSM_DEVICE_KEY_ID)

/* Write and delete access: host files other than keys and the device's
 * request CE00, with the user PIN. */
static fk_sw_t check_write(const fk_applet_ctx_t *ctx, uint16_t fid)
{
    fid_class_t c = fid_class(fid);
    if (c == FID_NONE || c == FID_KEY || fid == FID_DEVICE_REQUEST)
        return FK_SW_SECURITY_NOT_SATISFIED;
    return fk_pin_verified(&hsm_state(ctx)->pins, &hsm_user_pin) ? FK_SW_OK : FK_SW_SECURITY_NOT_SATISFIED;
}

/* ---- SELECT ------------------------------------------------------------ */

/* Append the FCP of an EF: 62 { 81 size, 82 01, 83 FID, 8A 05 }. */
static fk_sw_t put_ef_fcp(fk_rbuf_t *resp, uint16_t fid, uint32_t size)
{
    const uint8_t descriptor = FCP_DESCRIPTOR_EF;
    const uint8_t lifecycle = LIFECYCLE_ACTIVATED;
    size_t width = size > FCP_SIZE_SHORT_MAX ? FCP_SIZE_LONG : FCP_SIZE_SHORT;

    fk_tlv_mark_t m = fk_tlv_begin(resp, TAG_FCP);
    bool ok = m.ok && fk_tlv_put_uint(resp, TAG_FCP_SIZE, size, width) &&
              fk_tlv_put(resp, TAG_FCP_DESCRIPTOR, &descriptor, 1) &&
              fk_tlv_put_uint(resp, TAG_FCP_FID, fid, FID_LEN) &&
              fk_tlv_put(resp, TAG_FCP_LIFECYCLE, &lifecycle, 1) && fk_tlv_end(resp, m);
    return ok ? FK_SW_OK : FK_SW_UNKNOWN;
}

/* Select the MF: no EF is current any more. */
static fk_sw_t select_mf(const fk_applet_ctx_t *ctx, uint8_t p2, fk_rbuf_t *resp)
{
    const uint8_t descriptor = FCP_DESCRIPTOR_DF;
    const uint8_t lifecycle = LIFECYCLE_ACTIVATED;

    hsm_state(ctx)->current_ef = 0;
    if (p2 == FK_SELECT_P2_NONE) return FK_SW_OK;
    fk_tlv_mark_t m = fk_tlv_begin(resp, TAG_FCP);
    bool ok = m.ok && fk_tlv_put_uint(resp, TAG_FCP_SIZE, 0, FCP_SIZE_SHORT) &&
              fk_tlv_put(resp, TAG_FCP_DESCRIPTOR, &descriptor, 1) &&
              fk_tlv_put_uint(resp, TAG_FCP_FID, FID_MF, FID_LEN) &&
              fk_tlv_put(resp, TAG_FCP_LIFECYCLE, &lifecycle, 1) && fk_tlv_end(resp, m);
    return ok ? FK_SW_OK : FK_SW_UNKNOWN;
}

/* Select EF `fid` and answer its FCP (never its content). 6A82 for a
 * missing file or a FID that is not a host file; the current EF is then
 * unchanged. */
static fk_sw_t select_ef(const fk_applet_ctx_t *ctx, uint16_t fid, uint8_t p2, fk_rbuf_t *resp)
{
    if (fid == FID_MF) return select_mf(ctx, p2, resp);
    if (fid_class(fid) == FID_NONE) return FK_SW_FILE_NOT_FOUND;
    uint32_t size;
    bool synthetic;
    fk_sw_t sw = file_size(ctx, fid, &size, &synthetic);
    if (sw != FK_SW_OK) return sw;
    hsm_state(ctx)->current_ef = fid;
    if (p2 == FK_SELECT_P2_NONE) return FK_SW_OK;
    return put_ef_fcp(resp, fid, size);
}

/* SELECT (A4) of files: P1 00 by FID (no data: the MF), P1 08 by path from
 * the MF. P1 04 never gets here with CLA 00 (the device selects applets). */
static fk_sw_t cmd_select_file(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    if (cmd->p1 != FK_SELECT_P1_FID && cmd->p1 != FK_SELECT_P1_PATH) return FK_SW_INCORRECT_P1P2;
    if (cmd->p2 != FK_SELECT_P2_FCI && cmd->p2 != FK_SELECT_P2_FCP && cmd->p2 != FK_SELECT_P2_NONE)
        return FK_SW_INCORRECT_P1P2;

    if (cmd->p1 == FK_SELECT_P1_FID) {
        if (cmd->nc == 0) return select_mf(ctx, cmd->p2, resp);
        if (cmd->nc != FID_LEN) return FK_SW_WRONG_LENGTH;
        return select_ef(ctx, fk_be16(cmd->data), cmd->p2, resp);
    }

    /* Path from the MF; a leading 3F00 is tolerated. The applet has no DF
     * below the MF, so only a path of one FID can name a file. */
    const uint8_t *path = cmd->data;
    size_t len = cmd->nc;
    if (len == 0 || len % PATH_COMPONENT_LEN != 0) return FK_SW_WRONG_LENGTH;
    if (fk_be16(path) == FID_MF) {
        path += PATH_COMPONENT_LEN;
        len -= PATH_COMPONENT_LEN;
    }
    if (len == 0) return select_mf(ctx, cmd->p2, resp);
    if (len != PATH_COMPONENT_LEN || fk_be16(path) == FID_MF) return FK_SW_FILE_NOT_FOUND;
    return select_ef(ctx, fk_be16(path), cmd->p2, resp);
}

/* ---- READ / UPDATE BINARY ---------------------------------------------- */

typedef struct odd_args {
    uint32_t offset;
    const uint8_t *data; /* value of 53 (UPDATE only) */
    size_t len;
} odd_args_t;

/* Parse the data field of B1/D7: `54 <offset, 1-4 bytes>` and, when
 * want_data, `53 <data>` (any BER length form), each once, in any order.
 * 6700 for a missing or mis-sized offset (the profile's code), 6A80 for
 * anything else that is wrong. */
static fk_sw_t parse_odd_args(const fk_apdu_t *cmd, bool want_data, odd_args_t *a)
{
    const uint8_t *p = cmd->data;
    const uint8_t *end = p ? p + cmd->nc : p;
    bool have_offset = false, have_data = false;
    fk_tlv_t t;
    int rc;

    memset(a, 0, sizeof(*a));
    while ((rc = fk_tlv_next(&p, end, &t)) == FK_TLV_OK) {
        if (t.tag == TAG_OFFSET && !have_offset) {
            if (t.len == 0 || t.len > OFFSET_MAX_BYTES) return FK_SW_WRONG_LENGTH;
            for (size_t i = 0; i < t.len; i++) a->offset = (a->offset << 8) | t.value[i];
            have_offset = true;
        } else if (t.tag == TAG_DISCRETIONARY && want_data && !have_data) {
            a->data = t.value;
            a->len = t.len;
            have_data = true;
        } else {
            return FK_SW_WRONG_DATA;
        }
    }
    if (rc != FK_TLV_END) return FK_SW_WRONG_DATA;
    if (!have_offset) return FK_SW_WRONG_LENGTH;
    if (want_data && !have_data) return FK_SW_WRONG_DATA;
    return FK_SW_OK;
}

/* Answer min(Ne, size - offset) bytes of `fid` from `offset` (Ne 0 counts
 * as a short Le 00). offset == size answers no data; offset > size answers
 * past_end. The caller has checked access. */
static fk_sw_t read_slice(const fk_applet_ctx_t *ctx, uint16_t fid, uint32_t offset, size_t ne,
                          fk_sw_t past_end, fk_rbuf_t *resp)
{
    uint32_t size;
    bool synthetic;
    fk_sw_t sw = file_size(ctx, fid, &size, &synthetic);
    if (sw != FK_SW_OK) return sw;
    if (offset > size) return past_end;

    size_t n = FK_MIN(ne ? ne : SHORT_NE_MAX, (size_t)(size - offset));
    n = FK_MIN(n, fk_rbuf_room(resp));
    if (n > 0) {
        uint8_t *out = fk_rbuf_reserve(resp, n);
        if (out == NULL) return FK_SW_UNKNOWN;
        if (synthetic) {
            memcpy(out, k_default_tokeninfo + offset, n);
        } else {
            int rc = fk_space_read(&ctx->space, fid, offset, out, n);
            if (rc != FK_STORE_OK) return hsm_store_sw(rc);
        }
    }
    return FK_SW_OK;
}

/* READ BINARY, odd INS (B1): FID in P1P2 (0000 = the selected EF), offset
 * in 54. A named FID becomes the selected EF. */
static fk_sw_t cmd_read_binary_odd(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd,
                                   fk_rbuf_t *resp)
{
    uint16_t p1p2 = (uint16_t)((cmd->p1 << 8) | cmd->p2);
    uint16_t fid;
    fk_sw_t sw = target_fid(ctx, p1p2, &fid);
    if (sw != FK_SW_OK) return sw;
    if ((sw = check_read(ctx, fid)) != FK_SW_OK) return sw;
    odd_args_t a;
    if ((sw = parse_odd_args(cmd, false, &a)) != FK_SW_OK) return sw;
    sw = read_slice(ctx, fid, a.offset, cmd->ne, FK_SW_END_OF_FILE, resp);
    if (sw == FK_SW_OK) hsm_state(ctx)->current_ef = fid;
    return sw;
}

/* READ BINARY, even INS (B0): 15-bit offset in P1P2 on the selected EF.
 * Short EF identifiers are not supported (the applet assigns none). */
static fk_sw_t cmd_read_binary(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    if (cmd->p1 & B0_P1_SFI) return FK_SW_FUNC_NOT_SUPPORTED;
    if (cmd->nc != 0) return FK_SW_WRONG_LENGTH;
    uint16_t fid;
    fk_sw_t sw = target_fid(ctx, FID_CURRENT, &fid);
    if (sw != FK_SW_OK) return sw;
    if ((sw = check_read(ctx, fid)) != FK_SW_OK) return sw;
    uint32_t offset = ((uint32_t)cmd->p1 << 8 | cmd->p2) & B0_OFFSET_MASK;
    return read_slice(ctx, fid, offset, cmd->ne, FK_SW_WRONG_P1P2, resp);
}

/* Write len bytes at offset into file `fid` (created when absent): offset 0
 * replaces the whole content, a larger offset (at most the current size)
 * writes there and keeps the rest. One atomic store operation. */
static fk_sw_t write_file(const fk_applet_ctx_t *ctx, uint16_t fid, uint32_t offset,
                          const uint8_t *data, size_t len)
{
    uint32_t size = 0;
    int rc = fk_space_size(&ctx->space, fid, &size);
    if (rc != FK_STORE_OK && rc != FK_STORE_ENOENT) return hsm_store_sw(rc);
    if (offset > size) return FK_SW_WRONG_DATA;
    if (len > HSM_FILE_MAX - offset) return FK_SW_NOT_ENOUGH_MEMORY;

    if (offset == 0) {
        rc = fk_space_write(&ctx->space, fid, data, len);
    } else if (len > 0) {
        rc = fk_space_patch(&ctx->space, fid, offset, data, len, false);
    } else {
        rc = FK_STORE_OK; /* nothing to change: the file exists (0 < offset <= size) */
    }
    return hsm_store_sw(rc);
}

/* UPDATE BINARY, odd INS (D7): FID in P1P2 (0000 = the selected EF),
 * `54 offset 53 data`. Needs the user PIN. The file is created when absent
 * and becomes the selected EF. */
static fk_sw_t cmd_update_binary(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd,
                                 fk_rbuf_t *resp)
{
    (void)resp;
    uint16_t p1p2 = (uint16_t)((cmd->p1 << 8) | cmd->p2);
    uint16_t fid;
    fk_sw_t sw = target_fid(ctx, p1p2, &fid);
    if (sw != FK_SW_OK) return sw;
    if ((sw = check_write(ctx, fid)) != FK_SW_OK) return sw;
    odd_args_t a;
    if ((sw = parse_odd_args(cmd, true, &a)) != FK_SW_OK) return sw;
    /* 2F02 takes only an issued chain for the device key (docs/hsm.md). */
    if (fid == HSM_FID_DEVAUT &&
        (sw = hsm_device_chain_check(ctx, a.offset, a.data, a.len)) != FK_SW_OK)
        return sw;
    sw = write_file(ctx, fid, a.offset, a.data, a.len);
    if (sw == FK_SW_OK) hsm_state(ctx)->current_ef = fid;
    return sw;
}

/* ---- DELETE FILE, ENUMERATE OBJECTS ------------------------------------ */

/* Delete key CC<id>: one record, its policy inside (the key-object
 * service); the use counter left behind is bound to a generation no later
 * key has, and is removed to give the space back (a failure there costs
 * nothing). */
static fk_sw_t delete_key(const fk_applet_ctx_t *ctx, uint8_t id)
{
    const uint16_t fid = HSM_FID(HSM_PREFIX_KEY, id);
    const int rc = fk_key_delete(ctx, fid);
    if (rc == FK_KEY_ENOENT) return FK_SW_FILE_NOT_FOUND;
    if (rc != FK_KEY_OK) return FK_SW_MEMORY_FAILURE;
    (void)fk_space_delete(&ctx->counters, fid);
    return FK_SW_OK;
}

/* DELETE FILE (E4): the FID in the data field, or the selected EF without
 * data; P1/P2 are ignored (clients send 00 00 and 02 00). Needs the user
 * PIN; the device's identity (its key CC00, its chain 2F02, its request
 * CE00) is never deleted. */
static fk_sw_t cmd_delete_file(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    (void)resp;
    uint16_t fid;
    fk_sw_t sw;
    if (cmd->nc == 0) {
        sw = target_fid(ctx, FID_CURRENT, &fid);
        if (sw != FK_SW_OK) return sw;
    } else if (cmd->nc == FID_LEN) {
        fid = fk_be16(cmd->data);
    } else {
        return FK_SW_WRONG_LENGTH;
    }
    fid_class_t c = fid_class(fid);
    if (c == FID_NONE || !fk_pin_verified(&hsm_state(ctx)->pins, &hsm_user_pin))
        return FK_SW_SECURITY_NOT_SATISFIED;
    if (fid == HSM_FID(HSM_PREFIX_KEY, HSM_DEVICE_KEY_ID) || fid == HSM_FID_DEVAUT ||
        fid == FID_DEVICE_REQUEST)
        return FK_SW_SECURITY_NOT_SATISFIED;

    if (c == FID_KEY) {
        sw = delete_key(ctx, (uint8_t)fid);
    } else {
        sw = hsm_store_sw(fk_space_delete(&ctx->space, fid));
    }
    if (sw == FK_SW_OK && hsm_state(ctx)->current_ef == fid) hsm_state(ctx)->current_ef = 0;
    return sw;
}

/* ENUMERATE OBJECTS (58): the 2-byte FIDs of every key and PKCS#15 file
 * (prefixes C4-CF), in ascending order; never static EFs or internal ids. */
static fk_sw_t cmd_enumerate(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    if (cmd->p1 != 0 || cmd->p2 != 0) return FK_SW_INCORRECT_P1P2;
    if (cmd->nc != 0) return FK_SW_WRONG_LENGTH;

    uint32_t from = HSM_FID(HSM_PREFIX_PRKD, 0);
    const uint16_t last = HSM_FID(HSM_PREFIX_DATA, 0xFFu);
    uint16_t id;
    while (fk_space_first(&ctx->space, from, &id) == FK_STORE_OK && id <= last) {
        from = (uint32_t)id + 1u;
        fid_class_t c = fid_class(id);
        if (c == FID_NONE || c == FID_STATIC) continue;
        uint8_t *p = fk_rbuf_reserve(resp, FID_LEN);
        if (p == NULL) return FK_SW_UNKNOWN;
        fk_put_be16(p, id);
    }
    return FK_SW_OK;
}

const fk_command_t hsm_file_commands[] = {
    {FK_INS_SELECT, cmd_select_file},
    {FK_INS_READ_BINARY, cmd_read_binary},
    {FK_INS_READ_BINARY_ODD, cmd_read_binary_odd},
    {FK_INS_UPDATE_BINARY_ODD, cmd_update_binary},
    {FK_INS_DELETE_FILE, cmd_delete_file},
    {INS_ENUMERATE_OBJECTS, cmd_enumerate},
};
const size_t hsm_file_commands_len = FK_ARRAY_SIZE(hsm_file_commands);

fk_sw_t hsm_file_put(const fk_applet_ctx_t *ctx, uint16_t fid, const uint8_t *data, size_t len)
{
    fid_class_t c = fid_class(fid);
    FK_ASSERT(c != FID_NONE && c != FID_KEY);
    if (len > HSM_FILE_MAX) return FK_SW_NOT_ENOUGH_MEMORY;
    return hsm_store_sw(fk_space_write(&ctx->space, fid, data, len));
}
