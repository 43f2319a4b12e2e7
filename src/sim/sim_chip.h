/*
 * sim_chip.h - the simulator's own facts about each chip.
 *
 * Independent of src/chip.h on purpose: the simulator examines the flasher,
 * so a misread number must not hide in both.  Values come from the protocol
 * reference (esptool's tables) and from the golden ROM transcripts.
 *
 * The table is constant data; pointers into it stay valid for the life of
 * the process and may be shared between threads.
 */
#ifndef ED_SIM_CHIP_H
#define ED_SIM_CHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An eFuse (or other read-only) register with a fixed value. */
struct sim_reg_value {
    uint32_t addr;
    uint32_t value;
};

struct sim_chip {
    const char *name;           /* "esp32c3" */
    const char *display;        /* "ESP32-C3" */
    bool riscv;                 /* RISC-V core (else Xtensa) */
    uint32_t magic;             /* READ_REG 0x40001000 */
    uint16_t chip_id;           /* image header / GET_SECURITY_INFO chip id */
    /* GET_SECURITY_INFO reply payload length: 0 = ROM lacks the command
     * (ESP32), 12 = ESP32-S2 (no chip_id), 20 = the rest. */
    uint8_t security_info_len;
    uint8_t security_key7;      /* 7th key_purposes byte the ROM reports */
    uint32_t security_eco;      /* last word of the 20-byte reply */
    uint32_t bootloader_offset; /* 0x1000, 0x0 or 0x2000 */
    uint32_t efuse_base;
    uint32_t mac_reg;           /* eFuse word with MAC bytes 2..5; +4 = 0..1 */
    bool mac_crc;               /* ESP32: CRC8 in bits 16..23 of word 2 */
    /* SPI0/1 user-command registers (RDID/SFDP through READ/WRITE_REG). */
    uint32_t spi_base;
    uint8_t spi_usr, spi_usr1, spi_usr2, spi_mosi_dlen, spi_miso_dlen;
    uint8_t spi_w0;
    uint32_t uart_clkdiv_reg;   /* UART0 CLKDIV: APB / baud */
    uint32_t uart_date_reg;     /* harmless WRITE_REG target */
    uint32_t apb_hz;            /* UART source clock in the ROM */
    uint32_t xtal_mhz;          /* 40, 26, 48, ... */
    /* Chip revision as major*100+minor (for boot text). */
    uint16_t revision;
    /* Fixed register values (chip revision, package, ...); any other
     * eFuse address reads 0. */
    const struct sim_reg_value *regs;
    size_t n_regs;
    /*
     * ROM banner pieces, text exactly as the ROM prints it at 115200:
     * rom_header  "ets Jul 29 2019 12:21:46\r\n\r\n" or
     *             "ESP-ROM:esp32c3-api1-20210207\r\nBuild:Feb  7 2021\r\n"
     * rst_poweron "rst:0x1 (POWERON_RESET)" or "rst:0x1 (POWERON)"
     * boot_download ",boot:0x3 (DOWNLOAD_BOOT(...))\r\nwaiting for download\r\n"
     * boot_flash  ",boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n"
     * A power-on download banner is rom_header + rst_poweron + boot_download.
     */
    const char *rom_header;
    const char *rst_poweron;
    const char *boot_download;
    const char *boot_flash;
};

/* Number of chips in the table, and entry i (NULL past the end). */
size_t sim_chip_count(void);
const struct sim_chip *sim_chip_at(size_t i);
/* By name ("esp32c3"; also "ESP32-C3", "c3"), NULL if unknown. */
const struct sim_chip *sim_chip_find(const char *name);

#endif
