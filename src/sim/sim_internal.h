/*
 * sim_internal.h - what the files of src/sim/ share about a board.
 *
 * Owned by the simulator core (sim.c, sim_rom.c, sim_stub.c, sim_flash.c).
 * The boot chain (sim_boot.c) and the transports (sim_server.c,
 * port_sim.c) use only the accessor functions at the end of this file and
 * struct sim_ram_segment; the layout of struct sim may change at any time.
 *
 * Thread rules as in sim.h: one thread at a time per struct sim.
 */
#ifndef ED_SIM_INTERNAL_H
#define ED_SIM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "sim/sim.h"
#include "sim/sim_chip.h"
#include "sim/sim_stubrx.h"
#include "slip.h"

/* One piece of a RAM image loaded with MEM_BEGIN/MEM_DATA. */
struct sim_ram_segment {
    uint32_t addr;
    const uint8_t *data;
    size_t len;
};

struct sim_app;        /* boot chain (sim_boot.h) */
struct sim_inflater;   /* sim_flash.c */

/* A queue of bytes, each with the simulated time it is due. */
struct sim_queue {
    uint8_t *b;
    int64_t *t;
    size_t head, len, cap;  /* live bytes are b[head .. head+len) */
};

enum sim_state {
    SIM_OFF,   /* EN held low (or no power yet): nothing runs */
    SIM_ROM,   /* ROM serial loader (download mode) */
    SIM_STUB,  /* a flasher stub answers (after OHAI) */
    SIM_RUN,   /* booted code runs: app, 2nd stage, or a halted ROM */
};

/* FLASH_BEGIN / FLASH_DEFL_BEGIN state. */
struct sim_flash_job {
    bool active;
    bool deflate;
    uint32_t offset;      /* where the next byte goes */
    uint32_t start;
    uint32_t total;       /* stub: exact bytes to write; ROM: erase size */
    uint32_t written;     /* bytes written so far */
    uint32_t num_blocks, block_size, next_seq;
    uint32_t erased_to;   /* stub: erases issued up to here (absolute) */
    uint32_t erase_end;   /* stub: ... and to be issued up to here */
    bool dirty_seen;      /* stub: a non-blank sector was found: erase
                           * every sector from here on without reading */
    struct sim_inflater *inf;
};

/* MEM_BEGIN state and the segments loaded so far. */
struct sim_mem_job {
    bool active;
    uint32_t addr, size, got, num_blocks, block_size, next_seq;
    struct sim_ram_segment seg[16];
    uint8_t *seg_buf[16];
    size_t n_seg;
};

/* Stub READ_FLASH streaming. */
struct sim_read_job {
    bool active;
    uint32_t offset, len, sent, acked, packet;
    void *md5;            /* MD5_CTX, allocated */
};

struct sim {
    struct sim_config cfg;     /* strings below are our own copies */
    char *flash_file, *trace_path;
    const struct sim_chip *chip;  /* = &chip_own */
    struct sim_chip chip_own;  /* the table's entry with this board's
                                * revision and crystal */
    uint8_t mac[6];
    struct log_sink log;

    uint8_t *flash;
    size_t flash_size;
    bool flash_dirty;
    int trace_fd;              /* -1 = no trace */
    int64_t trace_t0;
    /* TX frames queued on the paced wire, traced when their last byte
     * leaves it (in order; due times never decrease). */
    struct sim_trace_tx {
        int64_t due;
        size_t len;
        uint8_t *body;
    } *trace_tx;
    size_t trace_tx_len, trace_tx_cap;

    /* Board: power, modem lines, auto-reset circuit. */
    bool connected, has_lines, powered;
    bool dtr, rts;
    bool en;                   /* EN pin released (high) */
    bool strap_low;            /* no modem lines: IO0 held low at boot */
    bool usj_dl;               /* USB-Serial/JTAG: download flag (DTR
                                  without RTS sets it, neither clears) */
    bool usj_boot_dl;          /* ... as it was when RTS reset the chip */
    int64_t boot_at;           /* chip leaves reset then (EN RC), or -1 */
    int64_t en_rise;           /* when EN was last released */
    bool boot_hold;            /* both lines asserted: sample at next change */
    enum sim_state state;

    /* UART.  baud = chip side; host_baud = 0 when the transport cannot say. */
    uint32_t baud, host_baud;
    uint32_t uart_clkdiv;      /* UART CLKDIV register (integer | frag<<20) */
    struct sim_queue rx, tx;
    int64_t rx_free_us;        /* host->chip line idle from */
    int64_t tx_free_us;        /* chip->host line idle from */
    int64_t busy_until;        /* chip busy (stub write in progress) */
    int64_t flash_ready;       /* stub: an erase it started runs until then */
    /* The stub's main loop: after acknowledging a data block it writes
     * it before taking the next frame (sim.c stub_main). */
    bool stub_writing;
    int64_t stub_write_end;    /* ... until then */
    struct sim_stubrx srx;     /* the stub's own receiver (sim_stubrx.c) */
    struct slip_decoder dec;   /* the ROM's receiver */
    uint8_t *frame;            /* decoder storage */
    size_t frame_cap;

    /* ROM reply header keeps its last op/value (the ROM reuses a static
     * buffer: an unsupported command echoes them). */
    uint8_t rom_op;
    uint32_t rom_value;

    /* Registers written with WRITE_REG (SPI user command emulation). */
    struct sim_reg_value wregs[48];
    size_t n_wregs;

    struct sim_flash_job fj;
    struct sim_mem_job mj;
    struct sim_read_job rj;
    uint8_t stub_err;          /* deferred error for the next command */

    struct sim_app *app;
    int64_t app_origin;        /* app clock zero (absolute us) */

    /* A fixture of units (sim_units.c; cfg.units) */
    struct sim_units {
        bool present;
        bool gone;             /* the port has vanished (vanish, hotplug) */
        unsigned n;            /* units that arrived so far */
        uint8_t base_mac[6];
        int64_t arrive_at;     /* next unit arrives then, or -1 */
        int64_t leave_at;      /* the present unit leaves then, or -1 */
        int64_t stay_until;    /* ... at the latest, or -1 */
        int64_t reboot_at;     /* a panicked app reboots then, or -1 */
        uint8_t fault;         /* enum sim_unit_fault_kind of the present unit */
        uint8_t next_fault;    /* set by "fault KIND" for the next unit */
        bool next_fault_set;
        bool flashed;          /* flash data arrived for this unit */
        unsigned data_blocks;  /* FLASH_(DEFL_)DATA frames this unit */
    } u;

    /* RTC/LP watchdog (esptool's --after watchdog-reset) */
    int64_t cmd_t;             /* when the command being run is acted on */
    int64_t wdt_at;            /* the watchdog resets the chip then, or -1 */

    struct sim_fault fault;    /* the line to the host (sim_fault.h) */
};

/* ---- for the boot chain and transports ---- */

/* Chip facts of this board. */
const struct sim_chip *sim_chip_of(const struct sim *s);
/* Flash contents, writable (boot code may keep e.g. an OTA state). */
uint8_t *sim_flash_mut(struct sim *s, size_t *size);
/* MAC of this board (6 bytes). */
const uint8_t *sim_mac(const struct sim *s);
/* The board's log sink. */
const struct log_sink *sim_log(const struct sim *s);
/* Current chip UART baud. */
uint32_t sim_uart_baud(const struct sim *s);
/*
 * Queue bytes on the chip's UART TX at its current baud, starting no
 * earlier than now_us (10 bits per byte, after whatever is queued).
 */
void sim_uart_emit(struct sim *s, const void *data, size_t len,
                   int64_t now_us);

/* ---- internal to the core ---- */

/* sim.c */
void sim_send_frame(struct sim *s, const uint8_t *body, size_t len,
                    int64_t at_us);
void sim_trace(struct sim *s, const char *dir, const uint8_t *body,
               size_t len, int64_t now_us);
void sim_reset_chip(struct sim *s, bool download, int64_t now_us);
void sim_start_app(struct sim *s, char *text, size_t len,
                   struct sim_app *app, int64_t now_us);
/* The chip's UART divider for `baud` computed from a clock of believed_hz
 * (what the code setting it assumes; 0 = the real one); the baud the UART
 * then really runs at follows from the real clock. */
void sim_set_chip_baud(struct sim *s, uint32_t baud, uint32_t believed_hz);

/* Failure classes shared by the ROM and stub handlers (each maps them to
 * its own error codes). */
enum {
    SIM_E_OK,
    SIM_E_LEN,      /* bad payload length */
    SIM_E_CHK,      /* data checksum */
    SIM_E_STATE,    /* DATA/END without BEGIN */
    SIM_E_RANGE,    /* address out of range */
    SIM_E_NOMEM,
    SIM_E_BLOCK,    /* block size too big */
    SIM_E_INFLATE,
    SIM_E_SHORT,    /* END before all data */
    SIM_E_TOO_MUCH, /* more data than FLASH_(DEFL_)BEGIN announced */
};

/* sim_rom.c: one decoded frame in ROM / stub mode; t = when it is acted on. */
void sim_rom_command(struct sim *s, const uint8_t *f, size_t len, int64_t t);
void sim_stub_command(struct sim *s, const uint8_t *f, size_t len, int64_t t);
uint32_t sim_read_reg(struct sim *s, uint32_t addr);
void sim_write_reg(struct sim *s, uint32_t addr, uint32_t value,
                   uint32_t mask);
void sim_mem_reset(struct sim *s);
int sim_mem_begin(struct sim *s, const uint8_t *d, size_t n);
int sim_mem_data(struct sim *s, const uint8_t *d, size_t n, uint32_t chk);
uint8_t sim_checksum(const uint8_t *d, size_t n);
/* Apply WRITE_REG records; returns the sum of their delays (us). */
int64_t sim_write_regs(struct sim *s, const uint8_t *d, size_t n);
bool sim_is_sync(const uint8_t *d, size_t n);
/* GET_SECURITY_INFO payload; returns its length (0 = not on this chip). */
size_t sim_security_info(const struct sim *s, uint8_t out[20]);
/* Answer MEM_END with an entry: returns true if a stub was started. */
bool sim_mem_run(struct sim *s, uint32_t entry, int64_t t);

/* sim_units.c: the fixture of units. */
void sim_units_init(struct sim *s);
/* Power-up at the first connection: false when no unit is in yet. */
bool sim_units_power_up(struct sim *s, int64_t now);
/* Timers (arrivals, departures, a panic's reboot) due by now. */
void sim_units_advance(struct sim *s, int64_t now);
/* A decoded frame: true when the unit swallows it (nosync, gone). */
bool sim_units_frame(struct sim *s, const uint8_t *f, size_t len, int64_t t);
/* The chip booted from flash: text and app may be replaced (panic). */
void sim_units_booted(struct sim *s, char **text, size_t *len,
                      struct sim_app **app, int64_t now);
/* A flash cell that does not program on this unit (verify fault). */
bool sim_units_weak_cell(const struct sim *s, uint32_t addr);
/* sim.c: power the board off (a unit left) or on (a unit arrived). */
void sim_power(struct sim *s, bool on, int64_t now_us);
int64_t sim_units_next_us(const struct sim *s);
/* Parse one fixture option (sim_config_option); ED_ERR_NOT_FOUND if the
 * name is not one of them. */
int sim_units_option(struct sim_config *cfg, const char *name,
                     const char *value, char *err, size_t errlen);

/* sim_flash.c: NOR model and timings (microseconds). */
int sim_flash_load(struct sim *s, char *err, size_t errlen);
void sim_flash_erase(struct sim *s, uint32_t addr, uint32_t len);
void sim_flash_program(struct sim *s, uint32_t addr, const uint8_t *data,
                       size_t len);
int64_t sim_flash_erase_us(uint32_t len, bool block64);
int64_t sim_flash_region_erase_us(uint32_t addr, uint32_t len);
int64_t sim_flash_chip_erase_us(size_t flash_size);
int64_t sim_flash_program_us(size_t len);
int64_t sim_flash_md5_us(size_t len);
/* hold: the stub's inflater, whose output reaches the sink only in 32 KiB
 * pieces and at the stream's end (the ROM's: as it comes). */
struct sim_inflater *sim_inflater_new(bool hold);
void sim_inflater_free(struct sim_inflater *inf);
/* Takes one piece of inflated output; returns SIM_E_OK or a failure. */
typedef int (*sim_inflate_sink)(void *ctx, const uint8_t *data, size_t len);
/*
 * Inflate in[n] (the next piece of the stream) and hand the output to sink
 * in pieces of at most 32 KiB (the stubs' output buffer), never more than
 * max_out bytes in all: what the FLASH_DEFL_BEGIN announced and is not yet
 * written.  Returns SIM_E_OK, SIM_E_INFLATE (a bad stream, or data after
 * its end), SIM_E_TOO_MUCH (the stream holds more than max_out) or the
 * sink's failure.  Memory stays bounded whatever the input.
 */
int sim_inflate(struct sim_inflater *inf, const uint8_t *in, size_t n,
                size_t max_out, sim_inflate_sink sink, void *ctx);
void sim_md5(const uint8_t *data, size_t len, uint8_t out[16]);

/* Little-endian words of the wire format (the simulator's own). */
static inline uint32_t sim_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline void sim_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

#endif
