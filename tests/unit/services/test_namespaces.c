/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the store namespaces: the map in docs/store-map.md against
 * core/services/ns.h and the product's applets, the views an applet gets,
 * and the reset of one applet, over the real services object on the host
 * port's file-backed flash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devrig.h"
#include "host_port.h"
#include "services/ns.h"
#include "services/services.h"
#include "store/space.h"

#define MAP_PATH FK_SOURCE_DIR "/docs/store-map.md"
#define LINE_CAP 512u
#define MAP_MAX 256u

static fk_testdev_t g_dev;
static const uint8_t k_serial[8] = {0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78};
static fk_devrig_t g_rig = {&g_dev, k_serial, fk_host_flash_open, fk_host_flash_close, 0};

static int setup(void **state)
{
    (void)state;
    return fk_devrig_setup(&g_rig, "ns");
}

static int teardown(void **state)
{
    (void)state;
    return fk_devrig_teardown(&g_rig);
}

/* The namespace table of docs/store-map.md: rows "| 0xNN | `FK_NS_X` | ...". */
typedef struct map_row {
    unsigned ns;
    char name[48];
} map_row_t;

static size_t read_map(map_row_t *rows, size_t cap)
{
    FILE *f = fopen(MAP_PATH, "r");
    char line[LINE_CAP];
    size_t n = 0;
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned ns;
        char name[48];
        if (sscanf(line, "| 0x%2x | `%47[A-Z_]` |", &ns, name) == 2 && strncmp(name, "FK_NS_", 6) == 0) {
            assert_true(n < cap);
            rows[n].ns = ns;
            snprintf(rows[n].name, sizeof(rows[n].name), "%s", name);
            n++;
        }
    }
    fclose(f);
    return n;
}

static const struct {
    const char *name;
    unsigned ns;
} k_code[] = {
    {"FK_NS_SERVICES", FK_NS_SERVICES}, {"FK_NS_RESCUE", FK_NS_RESCUE}, {"FK_NS_HSM", FK_NS_HSM},
    {"FK_NS_FIDO", FK_NS_FIDO},         {"FK_NS_OPENPGP", FK_NS_OPENPGP}, {"FK_NS_PIV", FK_NS_PIV},
    {"FK_NS_OATH", FK_NS_OATH},         {"FK_NS_OTP", FK_NS_OTP},         {"FK_NS_MGMT", FK_NS_MGMT},
};

/* The documented map and the code say the same, and the product's applets
 * each have a namespace of their own. */
static void test_map_matches_code(void **state)
{
    (void)state;
    static map_row_t rows[MAP_MAX];
    const size_t n = read_map(rows, MAP_MAX);
    assert_int_equal(n, sizeof(k_code) / sizeof(k_code[0]));
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(rows[i].name, k_code[i].name);
        assert_int_equal(rows[i].ns, k_code[i].ns);
        for (size_t k = 0; k < i; k++) assert_int_not_equal(rows[k].ns, rows[i].ns);
    }
    for (size_t i = 0; i < fk_product.n_applets; i++) {
        const fk_applet_t *a = fk_product.applets[i];
        assert_int_not_equal(a->ns, FK_NS_SERVICES);
        assert_true(a->ns <= FK_STORE_NS_MAX);
        for (size_t k = 0; k < i; k++) assert_int_not_equal(fk_product.applets[k]->ns, a->ns);
    }
    assert_int_equal(fk_hsm_applet.ns, FK_NS_HSM);
    assert_int_equal(fk_rescue_applet.ns, FK_NS_RESCUE);
}

/* Fill namespace ns with a record at each of a few ids, both partitions. */
static void fill(uint8_t ns)
{
    static const uint16_t ids[] = {0x0000, 0x0001, 0x1234, 0xCC01, 0xFFFF};
    const fk_space_t m = {&g_dev.svc.store, ns}, c = {&g_dev.svc.counters, ns};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        const uint8_t v[3] = {ns, (uint8_t)(ids[i] >> 8), (uint8_t)ids[i]};
        assert_int_equal(fk_space_write(&m, ids[i], v, sizeof(v)), FK_STORE_OK);
        assert_int_equal(fk_space_write(&c, ids[i], v, sizeof(v)), FK_STORE_OK);
    }
}

/* The records a view shows; with `filled`, each must be one fill() wrote
 * for that namespace (never a record of another). */
static unsigned count_view(const fk_space_t *sp, bool filled)
{
    unsigned n = 0;
    uint32_t from = 0;
    uint16_t id;
    while (fk_space_first(sp, from, &id) == FK_STORE_OK) {
        if (filled) {
            uint8_t v[3];
            assert_int_equal(fk_space_read(sp, id, 0, v, sizeof(v)), FK_STORE_OK);
            assert_int_equal(v[0], sp->ns);
            assert_int_equal(v[1], (uint8_t)(id >> 8));
            assert_int_equal(v[2], (uint8_t)id);
        }
        n++;
        from = (uint32_t)id + 1u;
    }
    return n;
}

static unsigned count(const fk_space_t *sp) { return count_view(sp, true); }

/* A view stops at its namespace; a reset wipes exactly one applet. */
static void test_views_and_reset(void **state)
{
    (void)state;
    const fk_applet_t fake = {.name = "fake", .ns = FK_NS_OATH};
    const fk_applet_t next = {.name = "next", .ns = FK_NS_OATH + 1u};
    const fk_applet_t prev = {.name = "prev", .ns = FK_NS_OATH - 1u};
    fill(FK_NS_OATH - 1u);
    fill(FK_NS_OATH);
    fill(FK_NS_OATH + 1u);
    const fk_applet_ctx_t cf = fk_services_applet_ctx(&g_dev.svc, &fake);
    const fk_applet_ctx_t cn = fk_services_applet_ctx(&g_dev.svc, &next);
    const fk_applet_ctx_t cp = fk_services_applet_ctx(&g_dev.svc, &prev);
    assert_int_equal(count(&cf.space), 5);
    assert_int_equal(count(&cf.counters), 5);

    /* The HSM's records are there too, and stay. */
    const fk_applet_ctx_t ch = fk_services_applet_ctx(&g_dev.svc, &fk_hsm_applet);
    const unsigned hsm = count_view(&ch.space, false);
    assert_true(hsm > 0);

    assert_int_equal(fk_services_reset_applet(&g_dev.svc, &fake), FK_SERVICES_OK);
    assert_int_equal(count(&cf.space), 0);
    assert_int_equal(count(&cf.counters), 0);
    assert_int_equal(count(&cn.space), 5);
    assert_int_equal(count(&cn.counters), 5);
    assert_int_equal(count(&cp.space), 5);
    assert_int_equal(count(&cp.counters), 5);
    assert_int_equal(count_view(&ch.space, false), hsm);
    /* After a restart, the same. */
    fk_devrig_stop(&g_rig);
    fk_devrig_start(&g_rig);
    assert_int_equal(count(&cf.space), 0);
    assert_int_equal(count(&cn.space), 5);
    assert_int_equal(count_view(&ch.space, false), hsm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_matches_code),
        cmocka_unit_test_setup_teardown(test_views_and_reset, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
