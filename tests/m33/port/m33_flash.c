/* SPDX-License-Identifier: Apache-2.0 */
/*
 * m33_flash.c - hal.h's flash for the test programs on the board: the
 * flash is a RAM copy of an image file (PSRAM heap), and every erase and
 * program is written through to the file (a host file, through
 * semihosting) before it returns, as ports/host does, so the tests' file
 * snapshots, restores and bit flips see what the device wrote.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "hal.h"
#include "host_internal.h"
#include "host_port.h"

#define FLASH_ERASED 0xFFu
#define FILL_CHUNK 4096u

static struct {
    int fd;        /* -1 when closed */
    uint32_t size; /* bytes in the region */
    uint8_t *mem;  /* copy of the file */
} flash = {.fd = -1};

/* Open path (created full of 0xFF when missing); it must hold size bytes. */
static int open_image(const char *path, uint32_t size)
{
    int fd = open(path, O_RDWR);
    if (fd < 0) {
        static uint8_t chunk[FILL_CHUNK];
        memset(chunk, FLASH_ERASED, sizeof chunk);
        fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd < 0) {
            fk_host_log("cannot create flash image %s", path);
            return -1;
        }
        for (uint32_t done = 0; done < size; done += FILL_CHUNK) {
            if (fk_file_write_at(fd, chunk, FILL_CHUNK, (off_t)done) != 0) {
                fk_host_log("cannot write flash image %s", path);
                close(fd);
                return -1;
            }
        }
    }
    const off_t end = lseek(fd, 0, SEEK_END);
    if (end != (off_t)size) {
        fk_host_log("flash image %s has %ld bytes, expected %u", path, (long)end, (unsigned)size);
        close(fd);
        return -1;
    }
    return fd;
}

int fk_host_flash_open(const char *path, uint32_t size)
{
    if (flash.fd >= 0) {
        fk_host_log("flash image already open");
        return -1;
    }
    if (size == 0u) size = FK_HOST_FLASH_SIZE;
    if (size % FK_HOST_SECTOR_SIZE != 0u) {
        fk_host_log("flash size %u is not a multiple of the sector", (unsigned)size);
        return -1;
    }
    uint8_t *mem = malloc(size);
    if (mem == NULL) {
        fk_host_log("out of memory for a %u-byte flash image", (unsigned)size);
        return -1;
    }
    const int fd = open_image(path, size);
    if (fd < 0 || fk_file_read_all(fd, mem, size) != 0) {
        if (fd >= 0) close(fd);
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
    close(flash.fd);
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
    if (offset % FK_HOST_SECTOR_SIZE != 0u) return FK_HAL_EALIGN;
    memset(erased, FLASH_ERASED, sizeof erased);
    if (fk_file_write_at(flash.fd, erased, sizeof erased, (off_t)offset) != 0) return FK_HAL_EIO;
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
    if (fk_file_write_at(flash.fd, next, len, (off_t)offset) != 0) return FK_HAL_EIO;
    memcpy(flash.mem + offset, next, len);
    return FK_HAL_OK;
}
