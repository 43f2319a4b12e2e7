/*
 * chip.c - the host's chip table (see chip.h).
 *
 * Numbers come from esptool's target classes (magic values from esptool
 * 4.8, the last release that matched magic values for every chip), checked
 * against the reference notes (protocol.md section 3).
 */
#include "chip.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "err.h"

/* SPI user-command register layouts. */
#define SPI_ESP32(b) {(b), 0x1C, 0x20, 0x24, 0x28, 0x2C, 0x80}
#define SPI_S2(b) {(b), 0x18, 0x1C, 0x20, 0x24, 0x28, 0x58}

static const struct chip_desc chip_table[] = {
    [CHIP_ESP32] = {
        .id = CHIP_ESP32, .name = "esp32", .display = "ESP32",
        .image_chip_id = 0, .has_security_info = false,
        .magic = {0x00F01D83}, .n_magic = 1,
        .bootloader_offset = 0x1000,
        .efuse_base = 0x3FF5A000,
        .mac_lo = 0x3FF5A004, .mac_hi = 0x3FF5A008,
        .spi = SPI_ESP32(0x3FF42000),
        .uart_clkdiv_reg = 0x3FF40014, .xtal_clk_divider = 1,
        .uart_date_reg = 0x60000078,
        .usb_serial_jtag = false, .usb_otg = false,
        .rom_flash_begin_encrypted_word = false,
        .supported_flash_mhz_default = 40,
        .xtal_fixed_mhz = 0,
        .stub_resets_baud = true,
    },
    [CHIP_ESP32S2] = {
        .id = CHIP_ESP32S2, .name = "esp32s2", .display = "ESP32-S2",
        .image_chip_id = 2, .has_security_info = false,
        .magic = {0x000007C6}, .n_magic = 1,
        .bootloader_offset = 0x1000,
        .efuse_base = 0x3F41A000,
        .mac_lo = 0x3F41A044, .mac_hi = 0x3F41A048,
        .spi = SPI_S2(0x3F402000),
        .uart_clkdiv_reg = 0x3F400014, .xtal_clk_divider = 1,
        .uart_date_reg = 0x60000078,
        .usb_serial_jtag = false, .usb_otg = true,
        .rom_flash_begin_encrypted_word = true,
        .supported_flash_mhz_default = 40,
        .xtal_fixed_mhz = 40,
        .stub_resets_baud = true,
        .rtc_wdt = {0x3F408000, 0x94, 0x98, 0xAC},
    },
    [CHIP_ESP32S3] = {
        .id = CHIP_ESP32S3, .name = "esp32s3", .display = "ESP32-S3",
        .image_chip_id = 9, .has_security_info = true,
        .magic = {0x00000009}, .n_magic = 1,
        .bootloader_offset = 0x0,
        .efuse_base = 0x60007000,
        .mac_lo = 0x60007044, .mac_hi = 0x60007048,
        .spi = SPI_S2(0x60002000),
        .uart_clkdiv_reg = 0x60000014, .xtal_clk_divider = 1,
        .uart_date_reg = 0x60000080,
        .usb_serial_jtag = true, .usb_otg = true,
        .rom_flash_begin_encrypted_word = true,
        .supported_flash_mhz_default = 80,
        .xtal_fixed_mhz = 40,
        .rtc_wdt = {0x60008000, 0x98, 0x9C, 0xB0},
    },
    [CHIP_ESP32C2] = {
        .id = CHIP_ESP32C2, .name = "esp32c2", .display = "ESP32-C2",
        .image_chip_id = 12, .has_security_info = true,
        .magic = {0x6F51306F, 0x7C41A06F, 0x0C21E06F}, .n_magic = 3,
        .bootloader_offset = 0x0,
        .efuse_base = 0x60008800,
        .mac_lo = 0x60008840, .mac_hi = 0x60008844,
        .spi = SPI_S2(0x60002000),
        .uart_clkdiv_reg = 0x60000014, .xtal_clk_divider = 1,
        .uart_date_reg = 0x6000007C,
        .usb_serial_jtag = false, .usb_otg = false,
        .rom_flash_begin_encrypted_word = true,
        .supported_flash_mhz_default = 60,
        .xtal_fixed_mhz = 0,
        .rtc_wdt = {0x60008000, 0x84, 0x88, 0x9C},
    },
    [CHIP_ESP32C3] = {
        .id = CHIP_ESP32C3, .name = "esp32c3", .display = "ESP32-C3",
        .image_chip_id = 5, .has_security_info = true,
        .magic = {0x6921506F, 0x1B31506F, 0x4881606F, 0x4361606F},
        .n_magic = 4,
        .bootloader_offset = 0x0,
        .efuse_base = 0x60008800,
        .mac_lo = 0x60008844, .mac_hi = 0x60008848,
        .spi = SPI_S2(0x60002000),
        .uart_clkdiv_reg = 0x60000014, .xtal_clk_divider = 1,
        .uart_date_reg = 0x6000007C,
        .usb_serial_jtag = true, .usb_otg = false,
        .rom_flash_begin_encrypted_word = true,
        .supported_flash_mhz_default = 80,
        .xtal_fixed_mhz = 40,
        .rtc_wdt = {0x60008000, 0x90, 0x94, 0xA8},
    },
    [CHIP_ESP32C6] = {
        .id = CHIP_ESP32C6, .name = "esp32c6", .display = "ESP32-C6",
        .image_chip_id = 13, .has_security_info = true,
        .magic = {0x2CE0806F}, .n_magic = 1,
        .bootloader_offset = 0x0,
        .efuse_base = 0x600B0800,
        .mac_lo = 0x600B0844, .mac_hi = 0x600B0848,
        .spi = SPI_S2(0x60003000),
        .uart_clkdiv_reg = 0x60000014, .xtal_clk_divider = 1,
        .uart_date_reg = 0x6000007C,
        .usb_serial_jtag = true, .usb_otg = false,
        .rom_flash_begin_encrypted_word = true,
        .supported_flash_mhz_default = 80,
        .xtal_fixed_mhz = 40,
    },
    [CHIP_ESP32H2] = {
        .id = CHIP_ESP32H2, .name = "esp32h2", .display = "ESP32-H2",
        .image_chip_id = 16, .has_security_info = true,
        .magic = {0xD7B73E80}, .n_magic = 1,
        .bootloader_offset = 0x0,
        .efuse_base = 0x600B0800,
        .mac_lo = 0x600B0844, .mac_hi = 0x600B0848,
        .spi = SPI_S2(0x60003000),
        .uart_clkdiv_reg = 0x60000014, .xtal_clk_divider = 1,
        .uart_date_reg = 0x6000007C,
        .usb_serial_jtag = true, .usb_otg = false,
        .rom_flash_begin_encrypted_word = true,
        .supported_flash_mhz_default = 48,
        .xtal_fixed_mhz = 32,
    },
    [CHIP_ESP32C5] = {
        .id = CHIP_ESP32C5, .name = "esp32c5", .display = "ESP32-C5",
        .image_chip_id = 23, .has_security_info = true,
        .magic = {0x1101406F}, .n_magic = 1,
        .bootloader_offset = 0x2000,
        .efuse_base = 0x600B4800,
        .mac_lo = 0x600B4844, .mac_hi = 0x600B4848,
        .spi = SPI_S2(0x60003000),
        .uart_clkdiv_reg = 0x60000014, .xtal_clk_divider = 1,
        .uart_date_reg = 0x6000007C,
        .usb_serial_jtag = true, .usb_otg = false,
        .rom_flash_begin_encrypted_word = true,
        .supported_flash_mhz_default = 80,
        .xtal_fixed_mhz = 0,
    },
    [CHIP_ESP32P4] = {
        .id = CHIP_ESP32P4, .name = "esp32p4", .display = "ESP32-P4",
        .image_chip_id = 18, .has_security_info = true,
        /* esptool 4.8's list; detection asks GET_SECURITY_INFO first */
        .magic = {0x00000000, 0x0ADDBAD0}, .n_magic = 2,
        .bootloader_offset = 0x2000,
        .efuse_base = 0x5012D000,
        .mac_lo = 0x5012D044, .mac_hi = 0x5012D048,
        .spi = SPI_S2(0x5008D000),
        .uart_clkdiv_reg = 0x500CA014, .xtal_clk_divider = 1,
        .uart_date_reg = 0x500CA08C,
        .usb_serial_jtag = true, .usb_otg = true,
        .rom_flash_begin_encrypted_word = true,
        .supported_flash_mhz_default = 80,
        .xtal_fixed_mhz = 40,
        .stub_resets_baud = true,
        .rtc_wdt = {0x50116000, 0x00, 0x04, 0x18},
    },
};

_Static_assert(sizeof chip_table / sizeof chip_table[0] == CHIP_COUNT,
               "chip_table must have one entry per enum chip_id");

const struct chip_desc *chip_get(enum chip_id id)
{
    if ((unsigned)id >= CHIP_COUNT)
        return NULL;
    return &chip_table[id];
}

/* Lower-case name without '-', '_', ' ' into out; false if too long. */
static bool normalise(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in; in++) {
        if (*in == '-' || *in == '_' || *in == ' ')
            continue;
        if (n + 1 >= cap)
            return false;
        out[n++] = (char)tolower((unsigned char)*in);
    }
    out[n] = '\0';
    return n > 0;
}

const struct chip_desc *chip_by_name(const char *name)
{
    char want[32];
    int i;

    if (!name || !normalise(name, want, sizeof want))
        return NULL;
    for (i = 0; i < CHIP_COUNT; i++) {
        const char *n = chip_table[i].name;
        if (!strcmp(want, n))
            return &chip_table[i];
        /* "c3" for "esp32c3" (but not "" for "esp32") */
        if (strlen(n) > 5 && !strcmp(want, n + 5))
            return &chip_table[i];
    }
    return NULL;
}

const struct chip_desc *chip_by_image_id(uint32_t image_id)
{
    int i;
    for (i = 0; i < CHIP_COUNT; i++)
        if (chip_table[i].image_chip_id == image_id)
            return &chip_table[i];
    return NULL;
}

const struct chip_desc *chip_by_magic(uint32_t magic)
{
    int i, j;
    for (i = 0; i < CHIP_COUNT; i++)
        for (j = 0; j < chip_table[i].n_magic; j++)
            if (chip_table[i].magic[j] == magic)
                return &chip_table[i];
    return NULL;
}

uint32_t chip_flash_size_from_id(uint32_t jedec_id)
{
    static const struct {
        uint8_t code;
        uint8_t log2; /* size = 1 << log2 */
    } sizes[] = {
        {0x12, 18}, {0x32, 18}, {0x13, 19}, {0x33, 19}, {0x14, 20},
        {0x34, 20}, {0x15, 21}, {0x35, 21}, {0x16, 22}, {0x36, 22},
        {0x17, 23}, {0x37, 23}, {0x18, 24}, {0x38, 24}, {0x19, 25},
        {0x39, 25}, {0x1A, 26}, {0x3A, 26}, {0x20, 26}, {0x1B, 27},
        {0x21, 27}, {0x1C, 28}, {0x22, 28},
    };
    uint8_t cap = (uint8_t)(jedec_id >> 16);
    size_t i;

    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (sizes[i].code == cap)
            return (uint32_t)1 << sizes[i].log2;
    return 0;
}

int chip_esp32_rom_xtal(uint32_t rtccalicfg1, uint32_t efuse_word4,
                        uint64_t *rom_hz40, uint32_t *nominal_hz, char *err,
                        size_t errlen)
{
    uint64_t cali = rtccalicfg1 >> 7 & 0x1FFFFFF, ck8m = efuse_word4 & 0xFF;
    uint64_t hz40 = cali * 15625 * ck8m, nominal, off; /* 40 x the Hz */

    *rom_hz40 = 0;
    *nominal_hz = 0;
    if (!cali || !ck8m)
        return ed_seterr(err, errlen, ED_ERR_PROTO, "%s reads 0",
                         cali ? "eFuse CK8M_FREQ (word 4 bits 0..7)"
                              : "the calibration in RTCCALICFG1");
    nominal = hz40 > 33000000ull * 40 ? 40000000 : 26000000;
    off = hz40 > nominal * 40 ? hz40 - nominal * 40 : nominal * 40 - hz40;
    if (off * 100 > nominal * 40 * CHIP_ESP32_ROM_XTAL_SPREAD_PCT)
        return ed_seterr(err, errlen, ED_ERR_PROTO, "the ESP32 ROM's "
                         "crystal from its 8 MHz clock calibration (%u x "
                         "15625 x %u / 40 = %.2f MHz) is more than %d %% "
                         "from %u MHz", (unsigned)cali, (unsigned)ck8m,
                         (double)hz40 / 40e6, CHIP_ESP32_ROM_XTAL_SPREAD_PCT,
                         (unsigned)(nominal / 1000000));
    *rom_hz40 = hz40;
    *nominal_hz = (uint32_t)nominal;
    return ED_OK;
}

uint32_t chip_esp32_rom_baud(uint32_t baud, uint64_t rom_hz40,
                             uint32_t nominal_hz)
{
    /* rom_hz40 is at most 40 x 46 MHz (the spread check): no overflow */
    if (!nominal_hz || rom_hz40 > 40ull * 60000000)
        return baud;
    return (uint32_t)(baud * rom_hz40 / (40ull * nominal_hz));
}

/*
 * USB-serial adapters on ESP boards and their maximum baud (datasheets,
 * cited in docs/simulator.md): CP2102/CP2109 1 Mbps (the ladder's
 * 921600); CP2102N 3 Mbps; CP2104 2 Mbps; CH340 2 Mbps; CH343 6 Mbps;
 * CH9102 4 Mbps; FT232R 3 Mbaud.  The CP2102 and the
 * CP2102N share 10C4:EA60: the table keeps the CP2102N's 3 Mbps, and
 * --baud auto checks each rate and steps down on a CP2102.  Espressif's
 * USB-Serial/JTAG has no UART in between: its "baud" is ignored.
 */
static const struct chip_adapter adapters[] = {
    {0x10C4, 0xEA60, "CP210x", 3000000},
    {0x10C4, 0xEA70, "CP2105", 2000000},
    {0x1A86, 0x7523, "CH340", 2000000},
    {0x1A86, 0x55D3, "CH343", 6000000},
    {0x1A86, 0x55D4, "CH9102", 4000000},
    {0x0403, 0x6001, "FT232R", 3000000},
    {0x0403, 0x6010, "FT2232H", 12000000},
    {0x303A, 0x1001, "USB-Serial/JTAG", 0},
};

const struct chip_adapter *chip_adapter_by_usb(uint16_t vid, uint16_t pid)
{
    size_t i;

    for (i = 0; i < sizeof adapters / sizeof adapters[0]; i++)
        if (adapters[i].vid == vid && adapters[i].pid == pid)
            return &adapters[i];
    return NULL;
}

uint32_t chip_link_max_baud(uint16_t vid, uint16_t pid)
{
    const struct chip_adapter *a = chip_adapter_by_usb(vid, pid);

    if (a && a->max_baud && a->max_baud < CHIP_UART_MAX_BAUD)
        return a->max_baud;
    return CHIP_UART_MAX_BAUD;
}

int chip_baud_check(uint32_t baud, const char *what, char *err,
                    size_t errlen)
{
    if (baud > CHIP_BAUD_MAX)
        return ed_seterr(err, errlen, ED_ERR_ARG,
                         "%s %u is more than an ESP chip's UART can do "
                         "(%u baud; USB-serial adapters stop at 2 or 3 "
                         "Mbaud): use %u to %u, 921600 works with almost "
                         "every adapter", what, baud, CHIP_BAUD_MAX,
                         CHIP_BAUD_MIN, CHIP_BAUD_MAX);
    if (baud < CHIP_BAUD_MIN)
        return ed_seterr(err, errlen, ED_ERR_ARG,
                         "%s %u is too slow to flash with: use %u to %u, "
                         "921600 works with almost every adapter", what,
                         baud, CHIP_BAUD_MIN, CHIP_BAUD_MAX);
    return ED_OK;
}
