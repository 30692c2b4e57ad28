/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host_flash.c - the flash data region of hal.h as a file.
 *
 * The file is the region byte for byte (erased bytes are 0xFF). Reads are
 * served from a copy in memory loaded at open; every erase and program is
 * written through to the file with pwrite before the call returns, and the
 * memory copy is updated only after the write succeeded. So whenever a HAL
 * call has returned, the file holds exactly what the region holds, and a
 * process killed between two calls looks like a power cut between two flash
 * operations. (Nothing is fsync'ed per operation: a process kill leaves the
 * written data in the page cache; only a host crash could lose it.)
 *
 * IMPLEMENTATION NOTE: an erase or program is one pwrite, so a kill in the
 * middle of one is not modelled; the store's own power-cut tests inject
 * those through their own flash model.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hal.h"
#include "fileio.h"
#include "host_internal.h"
#include "host_port.h"

#define FLASH_ERASED 0xFFu

static struct {
    int fd;            /* -1 when closed */
    uint32_t size;     /* bytes in the region */
    uint8_t *mem;      /* copy of the file */
} flash = {.fd = -1};

int fk_host_flash_open(const char *path, uint32_t size)
{
    if (flash.fd >= 0) {
        fk_host_log("flash image already open");
        return -1;
    }
    if (size == 0u) size = FK_HOST_FLASH_SIZE;
    if (size % FK_HOST_SECTOR_SIZE != 0u) {
        fk_host_log("flash size %u is not a multiple of the %u-byte sector", (unsigned)size,
                    FK_HOST_SECTOR_SIZE);
        return -1;
    }
    uint8_t *mem = malloc(size);
    if (mem == NULL) {
        fk_host_log("out of memory for a %u-byte flash image", (unsigned)size);
        return -1;
    }
    const int fd = fk_host_file_open(path, "flash", size, FLASH_ERASED);
    if (fd < 0) {
        free(mem);
        return -1;
    }
    if (fk_file_read_all(fd, mem, size) != 0) {
        fk_host_log("cannot read flash image %s", path);
        close(fd);
        free(mem);
        return -1;
    }
    flash.fd = fd;
    flash.size = size;
    flash.mem = mem;
    return 0;
}

void fk_host_flash_close(void)
{
    if (flash.fd < 0) return;
    (void)fsync(flash.fd);
    close(flash.fd); /* also drops the lock */
    free(flash.mem);
    flash.fd = -1;
    flash.size = 0;
    flash.mem = NULL;
}

void fk_hal_flash_geometry(fk_flash_geometry_t *geo)
{
    geo->size = flash.size;
    geo->sector_size = FK_HOST_SECTOR_SIZE;
    geo->page_size = FK_HOST_PAGE_SIZE;
}

/* FK_HAL_OK when [offset, offset+len) lies in an open region. */
static int check_span(uint32_t offset, size_t len)
{
    if (flash.fd < 0) return FK_HAL_EIO;
    if (offset > flash.size || len > flash.size - offset) return FK_HAL_ERANGE;
    return FK_HAL_OK;
}

int fk_hal_flash_read(uint32_t offset, void *buf, size_t len)
{
    const int rc = check_span(offset, len);
    if (rc != FK_HAL_OK) return rc;
    if (len > 0u) memcpy(buf, flash.mem + offset, len);
    return FK_HAL_OK;
}

int fk_hal_flash_erase(uint32_t offset)
{
    static uint8_t erased[FK_HOST_SECTOR_SIZE];
    if (flash.fd < 0) return FK_HAL_EIO;
    if (offset >= flash.size) return FK_HAL_ERANGE;
    /* The size is a multiple of the sector: an aligned sector fits. */
    if (offset % FK_HOST_SECTOR_SIZE != 0u) return FK_HAL_EALIGN;
    memset(erased, FLASH_ERASED, sizeof erased);
    if (fk_file_write_at(flash.fd, erased, sizeof erased, offset) != 0) return FK_HAL_EIO;
    memset(flash.mem + offset, FLASH_ERASED, FK_HOST_SECTOR_SIZE);
    return FK_HAL_OK;
}

int fk_hal_flash_program(uint32_t offset, const void *data, size_t len)
{
    const int rc = check_span(offset, len);
    if (rc != FK_HAL_OK) return rc;
    if (len > FK_HOST_PAGE_SIZE || offset % FK_HOST_PAGE_SIZE + len > FK_HOST_PAGE_SIZE) {
        return FK_HAL_EALIGN;
    }
    if (len == 0u) return FK_HAL_OK;
    uint8_t next[FK_HOST_PAGE_SIZE];
    const uint8_t *in = (const uint8_t *)data;
    for (size_t i = 0; i < len; i++) next[i] = (uint8_t)(flash.mem[offset + i] & in[i]);
    if (fk_file_write_at(flash.fd, next, len, offset) != 0) return FK_HAL_EIO;
    memcpy(flash.mem + offset, next, len);
    return FK_HAL_OK;
}
