/*
 * sim_chip.c - the simulator's chip table.
 *
 * Sources: the protocol reference (esptool target classes: magic values,
 * eFuse/MAC registers, SPI user-command registers, UART registers) and the
 * golden transcripts of the real ESP32 and ESP32-C3 ROMs (banners, SYNC
 * value, security-info payload).  Banners of the other chips are the texts
 * their ROMs print on real boards.
 */
#include <ctype.h>
#include <string.h>

#include "sim/sim_chip.h"

#define NOREGS NULL, 0

static const struct sim_chip chips[] = {
    {
        .name = "esp32", .display = "ESP32", .riscv = false,
        .magic = 0x00F01D83, .chip_id = 0,
        .security_info_len = 0,
        .bootloader_offset = 0x1000,
        .efuse_base = 0x3FF5A000, .mac_reg = 0x3FF5A004, .mac_crc = true,
        .spi_base = 0x3FF42000,
        .spi_usr = 0x1C, .spi_usr1 = 0x20, .spi_usr2 = 0x24,
        .spi_mosi_dlen = 0x28, .spi_miso_dlen = 0x2C, .spi_w0 = 0x80,
        .uart_clkdiv_reg = 0x3FF40014, .uart_date_reg = 0x60000078,
        .apb_hz = 40000000, .xtal_mhz = 40, .revision = 300,
        .regs = NOREGS,
        /* v3.0: eFuse word 3 bit 15, word 5 bit 20 and APB_CTRL_DATE bit
         * 31, the values the real ROM returned in the golden esptool
         * trace (ESP-IDF's default QEMU eFuses) */
        .rev_layout = SIM_REV_ESP32, .xtal_alt = 26, .autobaud_adjust = -1,
        .rtc_cali_reg = 0x3FF5F06C, /* ESP-IDF timer_group_reg.h */
        .spi_usr2_reset = 0x40000000, /* golden trace */
        .rst_rtcwdt = "rst:0x10 (RTCWDT_RTC_RESET)",
        .rom_header = "ets Jul 29 2019 12:21:46\r\n\r\n",
        .rst_poweron = "rst:0x1 (POWERON_RESET)",
        .boot_download = ",boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/"
                         "SDIO_REI_REO_V2))\r\nwaiting for download\r\n",
        .boot_flash = ",boot:0x12 (SPI_FAST_FLASH_BOOT)\r\n",
    },
    {
        .name = "esp32s2", .display = "ESP32-S2", .riscv = false,
        .magic = 0x000007C6, .chip_id = 2,
        .security_info_len = 12,
        .bootloader_offset = 0x1000,
        .efuse_base = 0x3F41A000, .mac_reg = 0x3F41A044,
        .spi_base = 0x3F402000,
        .spi_usr = 0x18, .spi_usr1 = 0x1C, .spi_usr2 = 0x20,
        .spi_mosi_dlen = 0x24, .spi_miso_dlen = 0x28, .spi_w0 = 0x58,
        .uart_clkdiv_reg = 0x3F400014, .uart_date_reg = 0x3F400074,
        .apb_hz = 40000000, .xtal_mhz = 40, .revision = 0,
        .regs = NOREGS,
        .rev_layout = SIM_REV_S2, .spi_usr2_reset = 0x70000000,
        .wdt_base = 0x3F408000, .wdt_config0 = 0x94, .wdt_config1 = 0x98,
        .wdt_wprotect = 0xAC, .rst_rtcwdt = "rst:0x10 (RTCWDT_RTC_RST)",
        .rom_header = "ESP-ROM:esp32s2-rc4-20191025\r\nBuild:Oct 25 2019\r\n",
        .rst_poweron = "rst:0x1 (POWERON)",
        .boot_download = ",boot:0x0 (DOWNLOAD(USB/UART0/1))\r\n"
                         "waiting for download\r\n",
        .boot_flash = ",boot:0x8 (SPI_FAST_FLASH_BOOT)\r\n",
    },
    {
        .name = "esp32s3", .display = "ESP32-S3", .riscv = false,
        .magic = 0x00000009, .chip_id = 9,
        .security_info_len = 20, .security_eco = 0,
        .bootloader_offset = 0x0,
        .efuse_base = 0x60007000, .mac_reg = 0x60007044,
        .spi_base = 0x60002000,
        .spi_usr = 0x18, .spi_usr1 = 0x1C, .spi_usr2 = 0x20,
        .spi_mosi_dlen = 0x24, .spi_miso_dlen = 0x28, .spi_w0 = 0x58,
        .uart_clkdiv_reg = 0x60000014, .uart_date_reg = 0x60000080,
        .apb_hz = 40000000, .xtal_mhz = 40, .revision = 0,
        .regs = NOREGS,
        .rev_layout = SIM_REV_C3, .spi_usr2_reset = 0x70000000,
        .wdt_base = 0x60008000, .wdt_config0 = 0x98, .wdt_config1 = 0x9C,
        .wdt_wprotect = 0xB0, .rst_rtcwdt = "rst:0x10 (RTCWDT_RTC_RST)",
        .rom_header = "ESP-ROM:esp32s3-20210327\r\nBuild:Mar 27 2021\r\n",
        .rst_poweron = "rst:0x1 (POWERON)",
        .boot_download = ",boot:0x0 (DOWNLOAD(USB/UART0))\r\n"
                         "waiting for download\r\n",
        .boot_flash = ",boot:0x8 (SPI_FAST_FLASH_BOOT)\r\n",
    },
    {
        .name = "esp32c2", .display = "ESP32-C2", .riscv = true,
        .magic = 0x6F51306F, .chip_id = 12,
        .security_info_len = 20, .security_eco = 1,
        .bootloader_offset = 0x0,
        .efuse_base = 0x60008800, .mac_reg = 0x60008840,
        .spi_base = 0x60002000,
        .spi_usr = 0x18, .spi_usr1 = 0x1C, .spi_usr2 = 0x20,
        .spi_mosi_dlen = 0x24, .spi_miso_dlen = 0x28, .spi_w0 = 0x58,
        .uart_clkdiv_reg = 0x60000014, .uart_date_reg = 0x6000007C,
        .apb_hz = 40000000, .xtal_mhz = 40, .revision = 100,
        .regs = NOREGS,
        .rev_layout = SIM_REV_C2, .xtal_alt = 26, .rom_xtal_mhz = 40,
        .spi_usr2_reset = 0x70000000,
        .wdt_base = 0x60008000, .wdt_config0 = 0x84, .wdt_config1 = 0x88,
        .wdt_wprotect = 0x9C, .rst_rtcwdt = "rst:0x10 (RTCWDT_RTC_RST)",
        .rom_header = "ESP-ROM:esp8684-api2-20220127\r\nBuild:Jan 27 2022\r\n",
        .rst_poweron = "rst:0x1 (POWERON)",
        .boot_download = ",boot:0x4 (DOWNLOAD(UART0))\r\n"
                         "waiting for download\r\n",
        .boot_flash = ",boot:0xc (SPI_FAST_FLASH_BOOT)\r\n",
    },
    {
        .name = "esp32c3", .display = "ESP32-C3", .riscv = true,
        .magic = 0x1B31506F, .chip_id = 5,
        .security_info_len = 20, .security_key7 = 0x0C, .security_eco = 3,
        .bootloader_offset = 0x0,
        .efuse_base = 0x60008800, .mac_reg = 0x60008844,
        .spi_base = 0x60002000,
        .spi_usr = 0x18, .spi_usr1 = 0x1C, .spi_usr2 = 0x20,
        .spi_mosi_dlen = 0x24, .spi_miso_dlen = 0x28, .spi_w0 = 0x58,
        .uart_clkdiv_reg = 0x60000014, .uart_date_reg = 0x6000007C,
        .apb_hz = 40000000, .xtal_mhz = 40, .revision = 3,
        .regs = NOREGS,
        /* v0.3 as in the golden boot log */
        .rev_layout = SIM_REV_C3, .spi_usr2_reset = 0x70000000,
        .wdt_base = 0x60008000, .wdt_config0 = 0x90, .wdt_config1 = 0x94,
        .wdt_wprotect = 0xA8, .rst_rtcwdt = "rst:0x10 (RTCWDT_RTC_RST)",
        /* Golden transcript (real ROM under QEMU). */
        .rom_header = "ESP-ROM:esp32c3-api1-20210207\r\nBuild:Feb  7 2021\r\n",
        .rst_poweron = "rst:0x1 (POWERON)",
        .boot_download = ",boot:0x2 (UART0_BOOT)\r\nwait uart0 download\r\n",
        .boot_flash = ",boot:0x8 (SPI_FAST_FLASH_BOOT)\r\n",
    },
    {
        .name = "esp32c6", .display = "ESP32-C6", .riscv = true,
        .magic = 0x2CE0806F, .chip_id = 13,
        .security_info_len = 20, .security_eco = 0,
        .bootloader_offset = 0x0,
        .efuse_base = 0x600B0800, .mac_reg = 0x600B0844,
        .spi_base = 0x60003000,
        .spi_usr = 0x18, .spi_usr1 = 0x1C, .spi_usr2 = 0x20,
        .spi_mosi_dlen = 0x24, .spi_miso_dlen = 0x28, .spi_w0 = 0x58,
        .uart_clkdiv_reg = 0x60000014, .uart_date_reg = 0x6000007C,
        .apb_hz = 40000000, .xtal_mhz = 40, .revision = 0,
        .regs = NOREGS,
        .rev_layout = SIM_REV_C3, .spi_usr2_reset = 0x70000000,
        .rst_rtcwdt = "rst:0x10 (LP_WDT_SYS)",
        .rom_header = "ESP-ROM:esp32c6-20220919\r\nBuild:Sep 19 2022\r\n",
        .rst_poweron = "rst:0x1 (POWERON)",
        .boot_download = ",boot:0x4 (DOWNLOAD(USB/UART0/SDIO_FEI_FEO))\r\n"
                         "waiting for download\r\n",
        .boot_flash = ",boot:0x6c (SPI_FAST_FLASH_BOOT)\r\n",
    },
    {
        .name = "esp32h2", .display = "ESP32-H2", .riscv = true,
        .magic = 0xD7B73E80, .chip_id = 16,
        .security_info_len = 20, .security_eco = 0,
        .bootloader_offset = 0x0,
        .efuse_base = 0x600B0800, .mac_reg = 0x600B0844,
        .spi_base = 0x60003000,
        .spi_usr = 0x18, .spi_usr1 = 0x1C, .spi_usr2 = 0x20,
        .spi_mosi_dlen = 0x24, .spi_miso_dlen = 0x28, .spi_w0 = 0x58,
        .uart_clkdiv_reg = 0x60000014, .uart_date_reg = 0x6000007C,
        .apb_hz = 32000000, .xtal_mhz = 32, .revision = 0,
        .regs = NOREGS,
        .rev_layout = SIM_REV_C3, .spi_usr2_reset = 0x70000000,
        .rst_rtcwdt = "rst:0x10 (LP_WDT_SYS)",
        .rom_header = "ESP-ROM:esp32h2-20221101\r\nBuild:Nov  1 2022\r\n",
        .rst_poweron = "rst:0x1 (POWERON)",
        .boot_download = ",boot:0x4 (DOWNLOAD(USB/UART0))\r\n"
                         "waiting for download\r\n",
        .boot_flash = ",boot:0xc (SPI_FAST_FLASH_BOOT)\r\n",
    },
    {
        .name = "esp32c5", .display = "ESP32-C5", .riscv = true,
        .magic = 0x1101406F, .chip_id = 23,
        .security_info_len = 20, .security_eco = 2,
        .bootloader_offset = 0x2000,
        .efuse_base = 0x600B4800, .mac_reg = 0x600B4844,
        .spi_base = 0x60003000,
        .spi_usr = 0x18, .spi_usr1 = 0x1C, .spi_usr2 = 0x20,
        .spi_mosi_dlen = 0x24, .spi_miso_dlen = 0x28, .spi_w0 = 0x58,
        .uart_clkdiv_reg = 0x60000014, .uart_date_reg = 0x6000007C,
        /* a pre-production v0.1 part, what the ESP-IDF images of the
         * C5 preview era were built for (max rev v0.99) */
        .apb_hz = 48000000, .xtal_mhz = 48, .revision = 1,
        .regs = NOREGS,
        .rev_layout = SIM_REV_C5, .xtal_alt = 40, .rom_xtal_mhz = 48,
        .rom_xtal_reg = 0x60096110, .spi_usr2_reset = 0x70000000,
        .rst_rtcwdt = "rst:0x10 (LP_WDT_SYS)",
        .rom_header = "ESP-ROM:esp32c5-eco2-20250121\r\nBuild:Jan 21 2025\r\n",
        .rst_poweron = "rst:0x1 (POWERON)",
        .boot_download = ",boot:0x14 (DOWNLOAD(USB/UART0/SDIO_FEI_FEO))\r\n"
                         "waiting for download\r\n",
        .boot_flash = ",boot:0x18 (SPI_FAST_FLASH_BOOT)\r\n",
    },
    {
        .name = "esp32p4", .display = "ESP32-P4", .riscv = true,
        .magic = 0x0ADDBAD0, .chip_id = 18,
        .security_info_len = 20, .security_eco = 1,
        .bootloader_offset = 0x2000,
        .efuse_base = 0x5012D000, .mac_reg = 0x5012D044,
        .spi_base = 0x5008D000,
        .spi_usr = 0x18, .spi_usr1 = 0x1C, .spi_usr2 = 0x20,
        .spi_mosi_dlen = 0x24, .spi_miso_dlen = 0x28, .spi_w0 = 0x58,
        .uart_clkdiv_reg = 0x500CA014, .uart_date_reg = 0x500CA08C,
        .apb_hz = 40000000, .xtal_mhz = 40, .revision = 100,
        .regs = NOREGS,
        .rev_layout = SIM_REV_C5, .spi_usr2_reset = 0x70000000,
        .wdt_base = 0x50116000, .wdt_config0 = 0x0, .wdt_config1 = 0x4,
        .wdt_wprotect = 0x18, .rst_rtcwdt = "rst:0x10 (LP_WDT_SYS)",
        .rom_header = "ESP-ROM:esp32p4-eco2-20240710\r\nBuild:Jul 10 2024\r\n",
        .rst_poweron = "rst:0x1 (POWERON)",
        .boot_download = ",boot:0x20f (DOWNLOAD(USB/UART0/SPI))\r\n"
                         "waiting for download\r\n",
        .boot_flash = ",boot:0x30f (SPI_FAST_FLASH_BOOT)\r\n",
    },
};

/* Bits of v (at shift, width bits wide) into w. */
static uint32_t field(uint32_t v, unsigned shift, unsigned width)
{
    return (v & ((1u << width) - 1)) << shift;
}

bool sim_chip_rev_reg(const struct sim_chip *c, uint32_t addr,
                      uint32_t *out)
{
    unsigned major = c->revision / 100, minor = c->revision % 100;
    uint32_t b1 = c->efuse_base + 0x44;

    switch (c->rev_layout) {
    case SIM_REV_ESP32: {
        /* major 0..3 is the 3-bit code 000, 001, 011, 111 */
        unsigned code = major >= 3 ? 7 : major == 2 ? 3 : major;

        if (addr == c->efuse_base + 0x0C)
            *out = field(code, 15, 1);
        else if (addr == c->efuse_base + 0x14)
            *out = field(code >> 1, 20, 1) | field(minor, 24, 2);
        else if (addr == 0x3FF6607C) /* APB_CTRL_DATE */
            *out = 0x16042000u | field(code >> 2, 31, 1);
        else
            return false;
        return true;
    }
    case SIM_REV_S2:
        if (addr == b1 + 12)
            *out = field(major, 18, 2) | field(minor >> 3, 20, 1);
        else if (addr == b1 + 16)
            *out = field(minor, 4, 3);
        else
            return false;
        return true;
    case SIM_REV_C3:
        if (addr == b1 + 12)
            *out = field(minor, 18, 3);
        else if (addr == b1 + 20)
            *out = field(minor >> 3, 23, 1) | field(major, 24, 2);
        else
            return false;
        return true;
    case SIM_REV_C2:
        if (addr != c->efuse_base + 0x44)
            return false;
        *out = field(minor, 16, 4) | field(major, 20, 2);
        return true;
    case SIM_REV_C5:
        if (addr != b1 + 8)
            return false;
        *out = field(minor, 0, 4) | field(major, 4, 2);
        return true;
    }
    return false;
}

size_t sim_chip_count(void)
{
    return sizeof(chips) / sizeof(chips[0]);
}

const struct sim_chip *sim_chip_at(size_t i)
{
    return i < sim_chip_count() ? &chips[i] : NULL;
}

/* Lower-case name without '-' / '_' ("ESP32-C3" -> "esp32c3"). */
static void squash(char *out, size_t cap, const char *in)
{
    size_t n = 0;

    for (; *in && n + 1 < cap; in++) {
        if (*in == '-' || *in == '_')
            continue;
        out[n++] = (char)tolower((unsigned char)*in);
    }
    out[n] = '\0';
}

const struct sim_chip *sim_chip_find(const char *name)
{
    char want[32], full[40];

    if (!name)
        return NULL;
    squash(want, sizeof want, name);
    for (size_t i = 0; i < sim_chip_count(); i++) {
        if (strcmp(chips[i].name, want) == 0)
            return &chips[i];
        /* "c3" -> "esp32c3" */
        strcpy(full, "esp32");
        strncat(full, want, sizeof full - strlen(full) - 1);
        if (want[0] && strcmp(chips[i].name, full) == 0)
            return &chips[i];
    }
    return NULL;
}
