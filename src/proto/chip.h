/*
 * chip.h - what the host knows about each Espressif chip.
 *
 * One table indexed by enum chip_id (checked at compile time).  The
 * simulator keeps its own facts in src/sim/ on purpose: a misread number
 * must not hide in both the flasher and its examiner.
 */
#ifndef ED_CHIP_H
#define ED_CHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum chip_id {
    CHIP_ESP32,
    CHIP_ESP32S2,
    CHIP_ESP32S3,
    CHIP_ESP32C2,
    CHIP_ESP32C3,
    CHIP_ESP32C6,
    CHIP_ESP32H2,
    CHIP_ESP32C5,
    CHIP_ESP32P4,
    CHIP_COUNT,
    CHIP_UNKNOWN = CHIP_COUNT,
};

struct chip_spi_regs {
    uint32_t base;
    uint8_t usr, usr1, usr2, mosi_dlen, miso_dlen, w0; /* offsets from base */
};

struct chip_desc {
    enum chip_id id;
    const char *name;          /* "esp32c3" (profiles, stub file names) */
    const char *display;       /* "ESP32-C3" */
    uint16_t image_chip_id;    /* image header chip id; GET_SECURITY_INFO chip_id */
    bool has_security_info;    /* ROM answers GET_SECURITY_INFO with chip_id */
    uint32_t magic[4];         /* values at 0x40001000 (esptool 4.8 lists) */
    int n_magic;               /* entries used in magic[] */
    uint32_t bootloader_offset;
    uint32_t efuse_base;
    uint32_t mac_lo, mac_hi;   /* eFuse MAC registers */
    struct chip_spi_regs spi;
    uint32_t uart_clkdiv_reg;
    int xtal_clk_divider;      /* 1, or 2 on ESP8266 */
    uint32_t uart_date_reg;
    bool usb_serial_jtag;      /* has the USB-Serial/JTAG peripheral */
    bool usb_otg;              /* ROM USB-OTG console */
    bool rom_flash_begin_encrypted_word; /* ROM takes the 5th FLASH_BEGIN word */
    uint32_t supported_flash_mhz_default;
    int xtal_fixed_mhz;        /* crystal is fixed (esptool does not measure), or 0 */
    /* The embedded stub (esp-flasher-stub v1.1+, src/main.c) raises the
     * clock and sets UART0 again from the ROM's UartDev baud: it may not
     * keep a ROM CHANGE_BAUDRATE, so the stub is uploaded at 115200.  On
     * the ESP32, were the record the (drift-corrected) rate asked of the
     * ROM, the stub's exact 80 MHz clock would make it that far off. */
    bool stub_resets_baud;
    /* RTC/LP watchdog for --after watchdog-reset (base 0 = not offered):
     * register offsets of CONFIG0, CONFIG1 and the write-protect key. */
    struct {
        uint32_t base;
        uint8_t config0, config1, wprotect;
    } rtc_wdt;
};

#define CHIP_MAGIC_REG 0x40001000u

/* Table entry for id (id < CHIP_COUNT), else NULL. */
const struct chip_desc *chip_get(enum chip_id id);
/* By name: "esp32c3", "ESP32-C3", "c3" all work; NULL if unknown. */
const struct chip_desc *chip_by_name(const char *name);
/* By GET_SECURITY_INFO / image header chip id; NULL if unknown. */
const struct chip_desc *chip_by_image_id(uint32_t image_id);
/* By the magic value at 0x40001000; NULL if unknown. */
const struct chip_desc *chip_by_magic(uint32_t magic);

/*
 * Baud limits, in one place for the CLI's check and --baud auto: every
 * chip's UART runs up to CHIP_UART_MAX_BAUD (the TRMs: 5 Mbaud); a known
 * USB-serial adapter (by USB VID:PID) up to its datasheet's maximum.
 */
#define CHIP_UART_MAX_BAUD 5000000u

struct chip_adapter {
    uint16_t vid, pid;
    const char *name;     /* "CP2102N" */
    uint32_t max_baud;    /* 0 = no baud at all (USB-Serial/JTAG) */
};

/* The adapter with this VID:PID, or NULL when it is not in the table. */
const struct chip_adapter *chip_adapter_by_usb(uint16_t vid, uint16_t pid);
/*
 * The highest baud worth asking for on a link through vid:pid (0:0 when
 * unknown): the smaller of the chip UART's and the adapter's maximum.
 */
uint32_t chip_link_max_baud(uint16_t vid, uint16_t pid);

/*
 * The ESP32 ROM's crystal (esptool's get_rom_cal_crystal_freq, from its
 * 2022 fix for the ROM's 8 MHz clock drift): the ROM takes its crystal to
 * be the XTAL cycles it counted in one period of the 8 MHz RC clock / 256
 * (TIMG0 RTCCALICFG1 bits 7..31) times the factory-measured RC frequency
 * (eFuse BLOCK0 word 4 bits 0..7, CK8M_FREQ, in 100 kHz) / 256:
 * cali * 15625 * ck8m / 40 Hz.  The RC clock drifts from its eFuse value,
 * so the ROM's UART divider for a CHANGE_BAUDRATE is off by as much.
 */
#define CHIP_ESP32_RTCCALICFG1 0x3FF5F06Cu
#define CHIP_ESP32_CK8M_EFUSE_WORD 4

/*
 * The ROM's crystal from the two registers, as 40 times its Hz (exact:
 * into *rom_hz40), and the crystal it stands for, 40 or 26 MHz as esptool
 * picks it (over 33 MHz: 40), in *nominal_hz.
 * ED_OK, or ED_ERR_PROTO with one sentence in err when the values cannot
 * be the ROM's (a calibration or eFuse of 0, or a crystal more than
 * CHIP_ESP32_ROM_XTAL_SPREAD_PCT from 26 or 40 MHz): then the request is
 * sent uncorrected.
 */
#define CHIP_ESP32_ROM_XTAL_SPREAD_PCT 15
int chip_esp32_rom_xtal(uint32_t rtccalicfg1, uint32_t efuse_word4,
                        uint64_t *rom_hz40, uint32_t *nominal_hz, char *err,
                        size_t errlen);
/*
 * What to ask the ESP32 ROM for so that its UART runs at baud: esptool's
 * false_rom_baud = int(baud * rom_calculated_freq // valid_freq), here in
 * integers (baud as it is when nominal_hz is 0).
 */
uint32_t chip_esp32_rom_baud(uint32_t baud, uint64_t rom_hz40,
                             uint32_t nominal_hz);

/* Flash size in bytes from a JEDEC RDID result (capacity byte), 0 if unknown. */
uint32_t chip_flash_size_from_id(uint32_t jedec_id);

/*
 * The baud range flashing accepts, checked before the board is touched:
 * up to the chips' UART maximum (CHIP_UART_MAX_BAUD above); below 9600 baud
 * a 16 KiB block takes more than 17 s.
 */
#define CHIP_BAUD_MIN 9600u
#define CHIP_BAUD_MAX CHIP_UART_MAX_BAUD

/*
 * ED_OK, or ED_ERR_ARG with one sentence in err ("--baud 12345678 is more
 * than ... use 9600 to 5000000").  what names the setting ("--baud").
 */
int chip_baud_check(uint32_t baud, const char *what, char *err,
                    size_t errlen);

#endif
