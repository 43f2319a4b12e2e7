/*
 * sim.h - the simulated Espressif target (test fixture and demo board).
 *
 * struct sim is one board: chip, eFuses, NOR flash, the auto-reset circuit,
 * the ROM loader and the flasher-stub protocol, the boot chain and a running
 * app.  It is transport-free and clocked by the caller: bytes from the host
 * go in with sim_rx(), bytes for the host come out of sim_tx() once the
 * simulated UART has sent them (pacing at the host's baud rate unless
 * disabled).  Transports live in sim_server.c (TCP raw, RFC 2217 server, pty)
 * and src/port_sim.c (in-process, "sim:CHIP").
 *
 * It shares SLIP framing with the host (slip.h) and nothing else: commands
 * are decoded and replies built here, with this folder's own chip facts.
 *
 * Thread rules: a struct sim is not locked; one thread drives it at a time
 * (the server or the port_sim thread, which serialise calls with their own
 * mutex).  No global state: many simulators may run side by side.
 */
#ifndef ED_SIM_H
#define ED_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "sim/sim_fault.h"

struct sim_config {
    const char *chip;        /* "esp32", "esp32c3", ... */
    uint32_t flash_size;     /* bytes; 0 = 4 MiB */
    const char *flash_file;  /* keep flash contents across runs, or NULL */
    uint8_t mac[6];
    bool mac_set;            /* else a fixed per-chip default */
    bool no_pacing;          /* deliver bytes at once (fast unit tests) */
    bool boot_normal;        /* with no modem lines: start in normal boot */
    const char *trace_path;  /* hex trace of every frame, or NULL */
    struct log_sink log;
    /* Board variants (sim_config_option() parses them from text): */
    uint16_t chip_rev;       /* eFuse revision, major*100+minor ... */
    bool chip_rev_set;       /* ... else the chip's default (simulator.md) */
    uint8_t xtal_mhz;        /* crystal; 0 = the chip's default */
    uint32_t flash_id;       /* JEDEC id the flash answers ... */
    bool flash_id_set;       /* ... else GigaDevice c8 40 <size> */
    bool flash_no_sfdp;      /* the flash ignores RDSFDP (reads 0) */
    /* ESP32: how far its 8 MHz RC clock has drifted below the frequency
     * in its eFuse, in ppm ("ck8m-drift" in %): the ROM takes its crystal
     * to be that much faster (docs/simulator.md) */
    int32_t ck8m_drift_ppm;
    bool ck8m_drift_set;     /* ... else SIM_CK8M_DRIFT_PPM */
    /* The USB-serial adapter between host and board: above max_baud
     * every byte is garbled both ways (0 = no limit).  "adapter" sets it
     * from the datasheet table in sim.c, "max-baud" directly. */
    uint32_t max_baud;
    /* ... and the USB VID:PID it reports ("adapter"; 0:0 = none): an
     * in-process sim: port is then a USB port to the host */
    uint16_t usb_vid, usb_pid;
    /* "adapter=usb-serial-jtag": no UART at all but the chip's own
     * USB-Serial/JTAG (S3, C3, C6, H2, C5, P4): any baud works and none
     * changes the line, whose bytes move at SIM_USJ_BYTES_PER_S; DTR/RTS
     * drive its reset logic instead of the two-transistor circuit */
    bool usb_jtag;
    uint32_t usb_rate;       /* "usb-rate": its bytes/s; 0 = the bound */
    struct sim_fault_spec fault; /* a faulty line ("fault", sim_fault.h) */
    /* A fixture of units (docs/simulator.md): units come and go, each with
     * its own MAC (counting up from mac) and blank flash.  Options
     * "units", "arrive", "leave", "stay", "faults", "cycle", "hotplug". */
    bool units;              /* a sequence of units, not one board */
    unsigned units_max;      /* units=N; 0 (units=auto) = no limit */
    int arrive_ms;           /* gap before each unit arrives; -1 = command */
    int leave_ms;            /* a unit leaves this long after its app boots
                                from freshly written flash; -1 = command */
    int stay_ms;             /* ... and at the latest this long after it
                                arrived; 0 = no limit */
    bool hotplug;            /* an absent unit has no port at all */
    unsigned fault_cycle;    /* unit numbers for faults repeat (0 = not) */
    struct sim_unit_fault {
        unsigned unit;       /* 1-based unit number */
        uint8_t kind;        /* enum sim_unit_fault_kind */
    } faults[16];
    size_t n_faults;
};

/* Per-unit faults of a fixture (faults=N:KIND,...). */
enum sim_unit_fault_kind {
    SIM_UNIT_NONE,
    SIM_UNIT_PANIC,         /* "panic": the app panics at boot, reboots */
    SIM_UNIT_NOSYNC,        /* "nosync": the ROM never answers */
    SIM_UNIT_VERIFY,        /* "verify": a flash cell does not program */
    SIM_UNIT_VANISH,        /* "vanish": the port goes away mid-write */
};

struct sim;

/*
 * One board-variant option by name, as `espdeck sim --NAME VALUE` and
 * `sim:CHIP?NAME=VALUE` spell it: "chip-rev" ("3.0", "v0.4"), "xtal"
 * ("26", "40", "48"; MHz), "flash-id" ("0xffffff": 24-bit JEDEC id,
 * manufacturer in the low byte; ffffff/000000 = no flash answers) and
 * "sfdp" ("0": the flash ignores RDSFDP and reads 0), "ck8m-drift"
 * ("5", "-2.5%": the ESP32's 8 MHz clock drift, -20..20 %) and "fault" (a
 * faulty line between host and board, sim_fault.h).
 * Returns ED_OK, ED_ERR_NOT_FOUND for a name it does not know (err left
 * alone), or ED_ERR_ARG with one sentence in err.  Whether the chip has
 * that crystal or revision is checked by sim_new().
 */
int sim_config_option(struct sim_config *cfg, const char *name,
                      const char *value, char *err, size_t errlen);

/* The ESP32's default 8 MHz clock drift: +1.5 % (an assumption, within
 * what a UART takes; docs/simulator.md). */
#define SIM_CK8M_DRIFT_PPM 15000

/* A USB-serial adapter the simulator models (docs/simulator.md). */
struct sim_adapter {
    const char *name;        /* "cp2102n" */
    uint16_t vid, pid;       /* what it reports on USB */
    uint32_t max_baud;       /* its datasheet's maximum (0: no UART) */
    bool usb_jtag;           /* Espressif's USB-Serial/JTAG */
};

/*
 * The USB-Serial/JTAG line's throughput in bytes per second, each way:
 * USB 2.0 full speed moves at most 19 bulk packets of 64 bytes in a 1 ms
 * frame (USB 2.0 5.8.4), and the controller's endpoints are 64 bytes.
 * An upper bound: real links are slower, bound by how fast the ROM or
 * stub drains the 64-byte FIFO (docs/simulator.md has the sources).
 */
#define SIM_USJ_BYTES_PER_S 1216000u

/* The adapter by name (case-insensitive), NULL when unknown. */
const struct sim_adapter *sim_adapter_find(const char *name);

/* Create a board, powered off until sim_connect(). */
int sim_new(struct sim **out, const struct sim_config *cfg, char *err,
            size_t errlen);
void sim_free(struct sim *s); /* writes the flash file back; NULL is fine */

/*
 * A client attached.  has_lines: the transport carries DTR/RTS (RFC 2217,
 * in-process); without them the board powers up in download mode (or normal
 * boot with cfg.boot_normal) the first time, and keeps its state on later
 * connections.  now_us: clock_us().
 */
void sim_connect(struct sim *s, bool has_lines, int64_t now_us);
void sim_disconnect(struct sim *s, int64_t now_us);

/* Modem lines from the host: true = asserted (pin driven low via the bridge). */
void sim_set_lines(struct sim *s, bool dtr, bool rts, int64_t now_us);
/* The host's baud rate (RFC 2217 SET-BAUDRATE, in-process set_baud). */
void sim_set_host_baud(struct sim *s, uint32_t baud, int64_t now_us);

/* Bytes from the host. */
void sim_rx(struct sim *s, const uint8_t *buf, size_t len, int64_t now_us);
/* Bytes for the host that are due by now_us; returns count. */
size_t sim_tx(struct sim *s, uint8_t *buf, size_t cap, int64_t now_us);
/* When something next happens (output due, timer), absolute us; -1 = idle. */
int64_t sim_next_event_us(struct sim *s, int64_t now_us);

/*
 * The fault spec's cut is due (sim_fault.h): the transport drops the
 * connection now (TCP: closes the client; in-process: the port reports
 * the connection lost).  True once; the board keeps its state.
 */
bool sim_link_cut(struct sim *s, int64_t now_us);

/*
 * Fixture commands (cfg.units): "arrive" (a new unit is put in now),
 * "leave" (the unit is taken out), "fault KIND" (the present unit, or the
 * next one if none is present, gets that fault: panic, nosync, verify,
 * vanish, none).  ED_OK, or ED_ERR_ARG with one sentence in err.
 */
int sim_unit_command(struct sim *s, const char *line, int64_t now_us,
                     char *err, size_t errlen);
/* A unit is in the fixture now (always true without cfg.units). */
bool sim_unit_present(struct sim *s, int64_t now_us);
/* The port is gone now: a unit vanished, or none is in with cfg.hotplug. */
bool sim_port_gone(struct sim *s, int64_t now_us);
/* Units that arrived so far; the present (or last) unit's MAC. */
unsigned sim_units_seen(const struct sim *s);
void sim_unit_mac(const struct sim *s, uint8_t mac[6]);

/* Read-only view of the flash (for tests). */
const uint8_t *sim_flash(const struct sim *s, size_t *size);
/* Write the flash file now (also done by sim_free). */
int sim_save(struct sim *s);

#endif
