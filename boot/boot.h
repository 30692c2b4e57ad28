/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot.h - the boot module in one include, for the fusekey tool: load an
 * image (UF2 / ELF / BIN), seal it, write it as UF2 or BIN, compute a
 * boot-key fingerprint and the otp.json text, and ask the bootrom model
 * what a chip in a given OTP state does with an image. docs/boot.md has the
 * formats and rules.
 *
 *   fk_image_init(&img, buf, sizeof(buf));
 *   fk_image_load(&img, file, file_len, 0);            // auto-detects the format
 *   fk_image_seal(&img, &opts, &info);                 // opts.key_blob from pk_pem.h
 *   fk_image_write_uf2(&img, 0, out, cap, &out_len);   // same family as the input
 *   fk_image_seal_otp_json(info.fingerprint, json, sizeof(json), &json_len);
 *   fk_boot_predict(&otp, &img, &res);                 // or fk_boot_run() to burn
 *   fk_boot_describe(&res, text, sizeof(text));
 *
 * Every refusal is an fk_boot_err_t with a sentence from fk_boot_strerror().
 */
#ifndef FUSEKEY_BOOT_H
#define FUSEKEY_BOOT_H

#include "boot_err.h"
#include "bootrom.h"
#include "image.h"
#include "picobin.h"
#include "seal.h"

#endif /* FUSEKEY_BOOT_H */
