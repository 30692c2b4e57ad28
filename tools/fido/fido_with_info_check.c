/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fido_with_info_check.c - a libfido2 program that opens the last device of
 * the list the way some programs do, from the list entry itself
 * (fido_dev_new_with_info, fido_dev_open_with_info), and prints its path
 * and getInfo's maxMsgSize. The libfido2 test runs it with the preload
 * library (tests/integration/test_libfido2.py); it is no tool for users.
 */
#include <fido.h>
#include <stdio.h>

#define LIST_MAX 16u

int main(void)
{
    fido_init(0);
    fido_dev_info_t *list = fido_dev_info_new(LIST_MAX);
    size_t n = 0;
    int rc = 1;
    if (list == NULL || fido_dev_info_manifest(list, LIST_MAX, &n) != FIDO_OK || n == 0) {
        fprintf(stderr, "no FIDO device listed\n");
        goto out;
    }
    const fido_dev_info_t *di = fido_dev_info_ptr(list, n - 1u);
    fido_dev_t *dev = fido_dev_new_with_info(di);
    fido_cbor_info_t *info = fido_cbor_info_new();
    int r = FIDO_ERR_INTERNAL;
    if (dev != NULL && info != NULL && (r = fido_dev_open_with_info(dev)) == FIDO_OK) {
        r = fido_dev_get_cbor_info(dev, info);
        fido_dev_close(dev);
    }
    if (r == FIDO_OK) {
        printf("%s: maxmsgsiz %lu\n", fido_dev_info_path(di),
               (unsigned long)fido_cbor_info_maxmsgsiz(info));
        rc = 0;
    } else {
        fprintf(stderr, "%s: %s\n", fido_dev_info_path(di), fido_strerr(r));
    }
    fido_cbor_info_free(&info);
    fido_dev_free(&dev);
out:
    fido_dev_info_free(&list, LIST_MAX);
    return rc;
}
