/* Unit tests for src/proto/chip.c: lookups and the completeness of the table. */
#include <string.h>

#include "chip.h"
#include "err.h"
#include "test.h"

void test_chip__lookup_by_name(void)
{
    T_EQ_INT(chip_by_name("esp32c3")->id, CHIP_ESP32C3);
    T_EQ_INT(chip_by_name("ESP32-C3")->id, CHIP_ESP32C3);
    T_EQ_INT(chip_by_name("c3")->id, CHIP_ESP32C3);
    T_EQ_INT(chip_by_name("S3")->id, CHIP_ESP32S3);
    T_EQ_INT(chip_by_name("esp32")->id, CHIP_ESP32);
    T_EQ_INT(chip_by_name("ESP32-P4")->id, CHIP_ESP32P4);
    T_ASSERT(chip_by_name("esp8266") == NULL);
    T_ASSERT(chip_by_name("") == NULL);
    T_ASSERT(chip_by_name(NULL) == NULL);
    T_ASSERT(chip_by_name("c33") == NULL);
}

void test_chip__lookup_by_ids(void)
{
    T_EQ_INT(chip_by_image_id(5)->id, CHIP_ESP32C3);
    T_EQ_INT(chip_by_image_id(0)->id, CHIP_ESP32);
    T_EQ_INT(chip_by_image_id(23)->id, CHIP_ESP32C5);
    T_EQ_INT(chip_by_image_id(18)->id, CHIP_ESP32P4);
    T_ASSERT(chip_by_image_id(4) == NULL); /* retired S3 beta id */
    T_EQ_INT(chip_by_magic(0x00F01D83)->id, CHIP_ESP32);
    T_EQ_INT(chip_by_magic(0x1B31506F)->id, CHIP_ESP32C3);
    T_EQ_INT(chip_by_magic(0x000007C6)->id, CHIP_ESP32S2);
    T_EQ_INT(chip_by_magic(0x0C21E06F)->id, CHIP_ESP32C2);
    T_ASSERT(chip_by_magic(0x12345678) == NULL);
    T_ASSERT(chip_get(CHIP_COUNT) == NULL);
}

void test_chip__table_complete(void)
{
    int i, j, k;
    for (i = 0; i < CHIP_COUNT; i++) {
        const struct chip_desc *c = chip_get((enum chip_id)i);
        T_ASSERT(c != NULL);
        T_EQ_INT(c->id, i);
        T_ASSERT(c->name && !strncmp(c->name, "esp32", 5));
        T_ASSERT(c->display && !strncmp(c->display, "ESP32", 5));
        T_ASSERT(chip_by_name(c->name) == c);
        T_ASSERT(chip_by_name(c->display) == c);
        T_ASSERT(chip_by_image_id(c->image_chip_id) == c);
        T_ASSERT(c->n_magic >= 1 && c->n_magic <= 4);
        for (j = 0; j < c->n_magic; j++)
            T_ASSERT(chip_by_magic(c->magic[j]) == c);
        T_ASSERT(c->efuse_base != 0);
        T_ASSERT(c->mac_lo > c->efuse_base && c->mac_lo < c->efuse_base + 0x100);
        T_ASSERT(c->mac_hi == c->mac_lo + 4);
        T_ASSERT(c->spi.base != 0);
        T_ASSERT(c->spi.usr && c->spi.usr1 && c->spi.usr2 && c->spi.w0);
        T_ASSERT(c->spi.mosi_dlen && c->spi.miso_dlen);
        T_ASSERT(c->uart_clkdiv_reg != 0 && c->uart_date_reg != 0);
        T_ASSERT(c->xtal_clk_divider == 1);
        T_ASSERT(c->supported_flash_mhz_default >= 40);
        /* every chip but the ESP32 answers GET_SECURITY_INFO's chip id,
         * except the S2 whose reply has no chip id */
        T_EQ_INT(c->has_security_info,
                 i != CHIP_ESP32 && i != CHIP_ESP32S2);
        T_EQ_INT(c->rom_flash_begin_encrypted_word, i != CHIP_ESP32);
        /* magic values do not collide between chips */
        for (k = 0; k < i; k++) {
            const struct chip_desc *o = chip_get((enum chip_id)k);
            T_ASSERT(o->image_chip_id != c->image_chip_id);
            T_ASSERT(strcmp(o->name, c->name) != 0);
        }
    }
    T_EQ_INT(chip_get(CHIP_ESP32)->bootloader_offset, 0x1000);
    T_EQ_INT(chip_get(CHIP_ESP32S2)->bootloader_offset, 0x1000);
    T_EQ_INT(chip_get(CHIP_ESP32C5)->bootloader_offset, 0x2000);
    T_EQ_INT(chip_get(CHIP_ESP32P4)->bootloader_offset, 0x2000);
    T_EQ_INT(chip_get(CHIP_ESP32C3)->bootloader_offset, 0);
    T_EQ_INT(chip_get(CHIP_ESP32C2)->mac_lo, 0x60008840);
    T_EQ_INT(chip_get(CHIP_ESP32)->mac_lo, 0x3FF5A004);
    T_EQ_INT(chip_get(CHIP_ESP32)->spi.w0, 0x80);
    T_EQ_INT(chip_get(CHIP_ESP32C3)->spi.w0, 0x58);
    T_ASSERT(chip_get(CHIP_ESP32S3)->usb_serial_jtag);
    T_ASSERT(!chip_get(CHIP_ESP32C2)->usb_serial_jtag);
    T_ASSERT(chip_get(CHIP_ESP32S2)->usb_otg);
}

void test_chip__flash_size_from_id(void)
{
    T_EQ_INT(chip_flash_size_from_id(0x1640C8), 4u << 20);  /* c8 40 16 */
    T_EQ_INT(chip_flash_size_from_id(0x3870EF), 16u << 20);
    T_EQ_INT(chip_flash_size_from_id(0x1540EF), 2u << 20);
    T_EQ_INT(chip_flash_size_from_id(0x1240EF), 256u << 10);
    T_EQ_INT(chip_flash_size_from_id(0x20BA20), 64u << 20);
    T_EQ_INT(chip_flash_size_from_id(0x2140EF), 128u << 20);
    T_EQ_INT(chip_flash_size_from_id(0x2240EF), 256u << 20);
    T_EQ_INT(chip_flash_size_from_id(0xFFFFFF), 0);
    T_EQ_INT(chip_flash_size_from_id(0), 0);
}

/* The host's adapter table follows the datasheets (docs/simulator.md):
 * the CH9102 makes 4 Mbaud, not the CH343's 6. */
void test_chip__adapter_maxima(void)
{
    T_EQ_INT((int)chip_link_max_baud(0x1A86, 0x55D4), 4000000);  /* CH9102 */
    T_EQ_INT((int)chip_link_max_baud(0x1A86, 0x55D3), 5000000);  /* CH343:
                                              6 M, the chip's UART caps */
    T_EQ_INT((int)chip_link_max_baud(0x1A86, 0x7523), 2000000);  /* CH340 */
    T_EQ_INT((int)chip_link_max_baud(0x0403, 0x6001), 3000000);  /* FT232R */
    T_EQ_INT((int)chip_link_max_baud(0x10C4, 0xEA60), 3000000);  /* CP210x */
}

/*
 * The ESP32 ROM's crystal and the baud asked of it, against esptool's own
 * arithmetic (esptool/targets/esp32.py get_rom_cal_crystal_freq() and
 * change_baud(), run in Python on the same register values).
 */
void test_chip__esp32_rom_baud_as_esptool(void)
{
    static const struct {
        uint32_t cal, word4;
        uint32_t nominal;       /* esptool's valid_freq */
        uint64_t hz40;          /* 40 x rom_calculated_freq */
        uint32_t baud, ask;     /* esptool's false_rom_baud */
    } v[] = {
        {1267u << 7, 82, 40000000, 1623343750, 115200, 116880},
        {1267u << 7, 82, 40000000, 1623343750, 921600, 935046},
        {1267u << 7, 82, 40000000, 1623343750, 2000000, 2029179},
        /* bits 0..6 and the word's other bits are not part of it */
        {1204u << 7 | 0x55, 0x1F55, 40000000, 1599062500, 921600, 921060},
        {1204u << 7 | 0x55, 0x1F55, 40000000, 1599062500, 1500000, 1499121},
        {1330u << 7, 80, 40000000, 1662500000, 460800, 478800},
        {1330u << 7, 80, 40000000, 1662500000, 1500000, 1558593},
        /* a 26 MHz board */
        {850u << 7, 82, 26000000, 1089062500, 921600, 965076},
        {800u << 7, 85, 26000000, 1062500000, 2000000, 2043269},
    };
    char err[160];

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint64_t hz40 = 0;
        uint32_t nominal = 0;

        T_EQ_INT(chip_esp32_rom_xtal(v[i].cal, v[i].word4, &hz40, &nominal,
                                     err, sizeof err), ED_OK);
        T_EQ_INT(nominal, v[i].nominal);
        T_ASSERT(hz40 == v[i].hz40);
        T_EQ_INT(chip_esp32_rom_baud(v[i].baud, hz40, nominal), v[i].ask);
    }
    T_EQ_INT(CHIP_ESP32_RTCCALICFG1, 0x3FF5F06C);
    T_EQ_INT(chip_get(CHIP_ESP32)->efuse_base +
             4 * CHIP_ESP32_CK8M_EFUSE_WORD, 0x3FF5A010);
}

/* Values the ROM cannot have computed its crystal from: no correction,
 * one sentence, nothing divided by them. */
void test_chip__esp32_rom_xtal_implausible(void)
{
    static const struct { uint32_t cal, word4; const char *says; } v[] = {
        {0, 82, "RTCCALICFG1"},             /* no calibration */
        {0x7F, 82, "RTCCALICFG1"},          /* only the low bits */
        {1267u << 7, 0, "CK8M_FREQ"},       /* eFuse not burned */
        {1267u << 7, 0xFF00, "CK8M_FREQ"},  /* other bits only */
        {1520u << 7, 82, "more than 15 %"}, /* 48.7 MHz */
        {960u << 7, 82, "more than 15 %"},  /* 30.75 MHz: neither */
        {600u << 7, 82, "more than 15 %"},  /* 19.2 MHz */
        {0x1FFFFFFu << 7, 0xFF, "more than 15 %"}, /* no overflow */
    };
    char err[160];

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint64_t hz40 = 1;
        uint32_t nominal = 1;

        err[0] = '\0';
        T_EQ_INT(chip_esp32_rom_xtal(v[i].cal, v[i].word4, &hz40, &nominal,
                                     err, sizeof err), ED_ERR_PROTO);
        T_CONTAINS(err, v[i].says);
        T_ASSERT(hz40 == 0);
        T_EQ_INT(nominal, 0);
        T_EQ_INT(chip_esp32_rom_baud(921600, hz40, nominal), 921600);
    }
}
