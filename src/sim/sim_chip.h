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

/* Where the chip keeps its revision in eFuse (per esptool's targets). */
enum sim_rev_layout {
    SIM_REV_ESP32, /* word3 b15, word5 b20, APB_CTRL_DATE b31; word5 b24-25 */
    SIM_REV_S2,    /* BLOCK1 w3 b18-19 major, w3 b20 + w4 b4-6 minor */
    SIM_REV_C3,    /* BLOCK1 w3 b18-20 + w5 b23 minor, w5 b24-25 major */
    SIM_REV_C2,    /* BLOCK2 w1 (MAC high word) b16-19 minor, b20-21 major */
    SIM_REV_C5,    /* BLOCK1 w2 b0-3 minor, b4-5 major */
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
    /* Chip revision as major*100+minor (eFuses, boot text). */
    uint16_t revision;
    enum sim_rev_layout rev_layout;
    uint8_t xtal_alt;           /* another crystal boards use, 0 = fixed */
    /* The crystal the ROM's baud generator assumes, 0 = the real one
     * (ESP32-C2 ROM: 40 MHz even on a 26 MHz board; ESP32-C5: 48). */
    uint8_t rom_xtal_mhz;
    uint32_t rom_xtal_reg;      /* register telling the ROM's belief, or 0 */
    /* ESP32: the ROM derives its crystal from its 8 MHz RC clock, counted
     * in crystal cycles into this register (TIMG0 RTCCALICFG1, value in
     * bits 7..31), with the RC clock's factory frequency in eFuse word 4
     * bits 0..7 (CK8M_FREQ); 0 = the ROM knows its crystal */
    uint32_t rtc_cali_reg;
    /* UART divider after the ROM's autobaud, relative to xtal/baud (the
     * real ESP32 ROM reads one less: golden esptool trace). */
    int8_t autobaud_adjust;
    uint32_t spi_usr2_reset;    /* SPI USR2 before anyone writes it */
    /* RTC/LP watchdog (esptool's --after watchdog-reset), base 0 = none */
    uint32_t wdt_base;
    uint8_t wdt_config0, wdt_config1, wdt_wprotect;
    const char *rst_rtcwdt;     /* "rst:0x10 (RTCWDT_RTC_RST)" */
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

/*
 * The eFuse (or APB date) word at addr as far as it carries the chip
 * revision c->revision in c->rev_layout; false if addr holds none.  Other
 * bits of that word read 0 (package 0, i.e. ESP32-D0WDQ6, ESP32-C3 QFN32).
 */
bool sim_chip_rev_reg(const struct sim_chip *c, uint32_t addr,
                      uint32_t *out);

/* Number of chips in the table, and entry i (NULL past the end). */
size_t sim_chip_count(void);
const struct sim_chip *sim_chip_at(size_t i);
/* By name ("esp32c3"; also "ESP32-C3", "c3"), NULL if unknown. */
const struct sim_chip *sim_chip_find(const char *name);

#endif
