/*
 * sim_units.c - the simulator as a production fixture: a sequence of units.
 *
 * With cfg.units the board is not one chip but a slot that units are put
 * into and taken out of.  Each unit that arrives has the next MAC (the
 * configured MAC counts up in its low three bytes), blank flash and its
 * own fault, and powers up like a board just plugged in.  A unit that has
 * left is an absent board: nothing runs, nothing answers (with hotplug, or
 * after a "vanish" fault, the port itself is gone: sim_port_gone()).
 *
 * Units come and go on a schedule (arrive_ms after the previous one left;
 * leave_ms after the unit booted from flash that was written for it;
 * stay_ms at the latest) or on command (sim_unit_command).  The per-unit
 * faults exercise a bench's verdicts:
 *   panic   the app panics at boot (Guru Meditation, backtrace, reboot loop)
 *   nosync  the ROM never answers (bad strap / RX line)
 *   verify  one flash cell (0x10100) does not program: MD5 differs
 *   vanish  the port disappears at the 10th flash data block
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "sim/sim_boot.h"
#include "sim/sim_internal.h"

#define WEAK_CELL 0x10100u
#define VANISH_AT_BLOCK 10
#define PANIC_REBOOT_US 300000
#define BYTE_AT_115200_US 87

static const char *const fault_names[] = {"none", "panic", "nosync",
                                          "verify", "vanish"};

static int fault_parse(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < sizeof fault_names / sizeof fault_names[0]; i++)
        if (strlen(fault_names[i]) == n && !strncmp(s, fault_names[i], n))
            return (int)i;
    return -1;
}

/* "2s", "1.5s", "500ms", "500" (ms) -> ms; -1 if not a duration. */
static int parse_ms(const char *v)
{
    char *end;
    double d = strtod(v, &end);

    if (end == v || d < 0)
        return -1;
    if (!strcmp(end, "s"))
        d *= 1000.0;
    else if (*end && strcmp(end, "ms"))
        return -1;
    if (d > 86400000.0)
        return -1;
    return (int)(d + 0.5);
}

static int parse_faults(struct sim_config *cfg, const char *v, char *err,
                        size_t errlen)
{
    const char *p = v;

    cfg->n_faults = 0;
    while (*p) {
        char *end;
        unsigned long n = strtoul(p, &end, 10);
        const char *kind;
        size_t klen;
        int k;

        if (end == p || *end != ':' || n == 0)
            goto bad;
        kind = end + 1;
        klen = strcspn(kind, ",");
        k = fault_parse(kind, klen);
        if (k < 0 || cfg->n_faults >= sizeof cfg->faults /
                                           sizeof cfg->faults[0])
            goto bad;
        cfg->faults[cfg->n_faults].unit = (unsigned)n;
        cfg->faults[cfg->n_faults].kind = (uint8_t)k;
        cfg->n_faults++;
        p = kind + klen;
        if (*p == ',')
            p++;
    }
    return ED_OK;
bad:
    return ed_seterr(err, errlen, ED_ERR_ARG,
                     "faults '%s' is not a list like 3:panic,5:verify (unit "
                     "number from 1, then panic, nosync, verify or vanish; "
                     "at most 16)", v);
}

int sim_units_option(struct sim_config *cfg, const char *name,
                     const char *value, char *err, size_t errlen)
{
    if (!strcmp(name, "units")) {
        char *end;
        unsigned long n = strtoul(value, &end, 10);

        if (!strcmp(value, "auto")) {
            n = 0;
        } else if (*end || end == value || n == 0) {
            return ed_seterr(err, errlen, ED_ERR_ARG,
                             "units takes auto (no limit) or a count of "
                             "units, not '%s'", value);
        }
        cfg->units = true;
        cfg->units_max = (unsigned)n;
        return ED_OK;
    }
    if (!strcmp(name, "arrive") || !strcmp(name, "leave") ||
        !strcmp(name, "stay")) {
        int ms = !strcmp(value, "cmd") && strcmp(name, "stay")
                     ? -1 : parse_ms(value);

        if (ms == -1 && strcmp(value, "cmd"))
            return ed_seterr(err, errlen, ED_ERR_ARG,
                             "%s '%s' is not a time like 2s or 500ms%s",
                             name, value,
                             strcmp(name, "stay") ? " (or cmd: on command)"
                                                  : "");
        if (!strcmp(name, "arrive"))
            cfg->arrive_ms = ms;
        else if (!strcmp(name, "leave"))
            cfg->leave_ms = ms;
        else
            cfg->stay_ms = ms;
        cfg->units = true;
        return ED_OK;
    }
    if (!strcmp(name, "faults")) {
        cfg->units = true;
        return parse_faults(cfg, value, err, errlen);
    }
    if (!strcmp(name, "cycle")) {
        char *end;
        unsigned long n = strtoul(value, &end, 10);

        if (*end || end == value || n == 0 || n > 1000000)
            return ed_seterr(err, errlen, ED_ERR_ARG,
                             "cycle takes a count of units after which the "
                             "faults repeat, not '%s'", value);
        cfg->fault_cycle = (unsigned)n;
        cfg->units = true;
        return ED_OK;
    }
    if (!strcmp(name, "hotplug")) {
        if (strcmp(value, "0") && strcmp(value, "1"))
            return ed_seterr(err, errlen, ED_ERR_ARG,
                             "hotplug takes 0 or 1, not '%s'", value);
        cfg->hotplug = !strcmp(value, "1");
        cfg->units = true;
        return ED_OK;
    }
    return ED_ERR_NOT_FOUND;
}

void sim_units_init(struct sim *s)
{
    struct sim_units *u = &s->u;

    memset(u, 0, sizeof *u);
    memcpy(u->base_mac, s->mac, 6);
    u->arrive_at = u->leave_at = u->stay_until = u->reboot_at = -1;
    if (!s->cfg.units)
        return;
    /* 0 = the defaults (docs/simulator.md) */
    if (!s->cfg.arrive_ms)
        s->cfg.arrive_ms = 500;
    if (!s->cfg.leave_ms)
        s->cfg.leave_ms = 1500;
    if (!s->cfg.stay_ms)
        s->cfg.stay_ms = 60000;
}

static uint8_t fault_for(const struct sim *s, unsigned n)
{
    unsigned k = n;
    size_t i;

    if (s->cfg.fault_cycle)
        k = (n - 1) % s->cfg.fault_cycle + 1;
    for (i = 0; i < s->cfg.n_faults; i++)
        if (s->cfg.faults[i].unit == k)
            return s->cfg.faults[i].kind;
    return SIM_UNIT_NONE;
}

static void arrive(struct sim *s, int64_t now)
{
    struct sim_units *u = &s->u;
    uint32_t low;

    u->n++;
    low = ((uint32_t)u->base_mac[3] << 16 | (uint32_t)u->base_mac[4] << 8 |
           u->base_mac[5]) + (u->n - 1);
    memcpy(s->mac, u->base_mac, 3);
    s->mac[3] = (uint8_t)(low >> 16);
    s->mac[4] = (uint8_t)(low >> 8);
    s->mac[5] = (uint8_t)low;
    memset(s->flash, 0xFF, s->flash_size); /* a new unit is blank */
    s->flash_dirty = true;
    u->fault = u->next_fault_set ? u->next_fault : fault_for(s, u->n);
    u->next_fault_set = false;
    u->present = true;
    u->gone = false;
    u->flashed = false;
    u->data_blocks = 0;
    u->arrive_at = u->leave_at = u->reboot_at = -1;
    u->stay_until = s->cfg.stay_ms > 0 ? now + (int64_t)s->cfg.stay_ms * 1000
                                       : -1;
    log_msg(&s->log, ED_LOG_DEBUG, "sim: unit %u arrived (MAC "
            "%02x:%02x:%02x:%02x:%02x:%02x, fault %s)", u->n, s->mac[0],
            s->mac[1], s->mac[2], s->mac[3], s->mac[4], s->mac[5],
            fault_names[u->fault]);
    sim_power(s, true, now);
}

static void depart(struct sim *s, int64_t now, bool vanish)
{
    struct sim_units *u = &s->u;

    log_msg(&s->log, ED_LOG_DEBUG, "sim: unit %u %s", u->n,
            vanish ? "vanished with its port" : "left");
    sim_power(s, false, now);
    u->present = false;
    u->gone = vanish || s->cfg.hotplug;
    u->leave_at = u->stay_until = u->reboot_at = -1;
    if (s->cfg.arrive_ms >= 0 &&
        (!s->cfg.units_max || u->n < s->cfg.units_max))
        u->arrive_at = now + (int64_t)s->cfg.arrive_ms * 1000;
}

bool sim_units_power_up(struct sim *s, int64_t now)
{
    struct sim_units *u = &s->u;

    if (!s->cfg.units)
        return true;
    if (!u->n && u->arrive_at < 0 && s->cfg.arrive_ms >= 0)
        u->arrive_at = now + (int64_t)s->cfg.arrive_ms * 1000;
    return u->present;
}

/* What a panicking ESP-IDF app prints (esp_system panic handler). */
static const char panic_xtensa[] =
    "Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception "
    "was unhandled.\r\n\r\n"
    "Core  0 register dump:\r\n"
    "PC      : 0x400d2f5e  PS      : 0x00060b30  A0      : 0x800d3a1c  "
    "A1      : 0x3ffb5a60  \r\n"
    "EXCVADDR: 0x00000000  LBEG    : 0x400014fd  LEND    : 0x4000150d  "
    "LCOUNT  : 0xffffffff  \r\n\r\n\r\n"
    "Backtrace: 0x400d2f5b:0x3ffb5a60 0x400d3a19:0x3ffb5a80 "
    "0x40087b1d:0x3ffb5aa0\r\n\r\n\r\n\r\n"
    "Rebooting...\r\n";
static const char panic_riscv[] =
    "Guru Meditation Error: Core  0 panic'ed (Load access fault). Exception "
    "was unhandled.\r\n\r\n"
    "Core  0 register dump:\r\n"
    "MEPC    : 0x4200a1b2  RA      : 0x4200a1ac  SP      : 0x3fc8f2a0  "
    "GP      : 0x3fc8b400  \r\n"
    "MCAUSE  : 0x00000005  MTVAL   : 0x00000000  \r\n\r\n"
    "Backtrace: 0x4200a1b2:0x3fc8f2a0 0x42013c5e:0x3fc8f2c0\r\n\r\n"
    "Rebooting...\r\n";

static bool xtensa(const struct sim *s)
{
    const char *n = s->chip->name;

    return !strcmp(n, "esp32") || !strcmp(n, "esp32s2") ||
           !strcmp(n, "esp32s3");
}

void sim_units_booted(struct sim *s, char **text, size_t *len,
                      struct sim_app **app, int64_t now)
{
    struct sim_units *u = &s->u;
    const char *panic;
    size_t plen;
    char *t;

    if (!s->cfg.units || !u->present)
        return;
    if (u->flashed && u->leave_at < 0 && s->cfg.leave_ms >= 0)
        u->leave_at = now + (int64_t)s->cfg.leave_ms * 1000;
    if (u->fault != SIM_UNIT_PANIC || !*app || !*text ||
        (!strstr(*text, "Calling app_main()") &&
         !strstr(*text, "Starting scheduler")))
        return;
    panic = xtensa(s) ? panic_xtensa : panic_riscv;
    plen = strlen(panic);
    t = realloc(*text, *len + plen + 1);
    if (!t)
        return;
    memcpy(t + *len, panic, plen + 1);
    *text = t;
    *len += plen;
    sim_app_free(*app);
    *app = NULL;
    u->reboot_at = now + (int64_t)*len * BYTE_AT_115200_US + PANIC_REBOOT_US;
}

void sim_units_advance(struct sim *s, int64_t now)
{
    struct sim_units *u = &s->u;

    if (!s->cfg.units)
        return;
    if (u->present && ((u->leave_at >= 0 && u->leave_at <= now) ||
                       (u->stay_until >= 0 && u->stay_until <= now)))
        depart(s, now, false);
    if (!u->present && u->arrive_at >= 0 && u->arrive_at <= now)
        arrive(s, now);
    if (u->present && u->reboot_at >= 0 && u->reboot_at <= now) {
        struct sim_chip why = *s->chip;

        u->reboot_at = -1;
        why.rst_poweron = xtensa(s) && !strcmp(s->chip->name, "esp32")
                              ? "rst:0xc (SW_CPU_RESET)"
                              : "rst:0xc (RTC_SW_CPU_RST)";
        s->chip = &why; /* the boot chain reads the banner from here */
        sim_reset_chip(s, false, now);
        s->chip = &s->chip_own;
    }
}

int64_t sim_units_next_us(const struct sim *s)
{
    const struct sim_units *u = &s->u;
    int64_t t[4] = {u->present ? u->leave_at : -1,
                    u->present ? u->stay_until : -1,
                    !u->present ? u->arrive_at : -1,
                    u->present ? u->reboot_at : -1};
    int64_t next = -1;
    int i;

    if (!s->cfg.units)
        return -1;
    for (i = 0; i < 4; i++)
        if (t[i] >= 0 && (next < 0 || t[i] < next))
            next = t[i];
    return next;
}

bool sim_units_frame(struct sim *s, const uint8_t *f, size_t len, int64_t t)
{
    struct sim_units *u = &s->u;

    if (!s->cfg.units)
        return false;
    if (!u->present)
        return true;
    if (u->fault == SIM_UNIT_NOSYNC && s->state == SIM_ROM)
        return true;
    if (len >= 2 && f[0] == 0 && (f[1] == 0x03 || f[1] == 0x11)) {
        u->flashed = true;
        if (++u->data_blocks == VANISH_AT_BLOCK &&
            u->fault == SIM_UNIT_VANISH) {
            depart(s, t, true);
            return true;
        }
    }
    return false;
}

bool sim_units_weak_cell(const struct sim *s, uint32_t addr)
{
    return s->cfg.units && s->u.present && s->u.fault == SIM_UNIT_VERIFY &&
           addr == WEAK_CELL;
}

int sim_unit_command(struct sim *s, const char *line, int64_t now_us,
                     char *err, size_t errlen)
{
    struct sim_units *u = &s->u;
    size_t n = strcspn(line, "\r\n");

    if (!s->cfg.units)
        return ed_seterr(err, errlen, ED_ERR_ARG,
                         "this simulator is one board, not a fixture of "
                         "units: start it with units=auto");
    sim_next_event_us(s, now_us); /* catch up first */
    if (n == 6 && !strncmp(line, "arrive", 6)) {
        if (u->present)
            depart(s, now_us, false);
        arrive(s, now_us);
        return ED_OK;
    }
    if (n == 5 && !strncmp(line, "leave", 5)) {
        if (u->present)
            depart(s, now_us, false);
        return ED_OK;
    }
    if (n > 6 && !strncmp(line, "fault ", 6)) {
        int k = fault_parse(line + 6, n - 6);

        if (k < 0)
            return ed_seterr(err, errlen, ED_ERR_ARG,
                             "unknown fault '%.*s' (panic, nosync, verify, "
                             "vanish, none)", (int)(n - 6), line + 6);
        if (u->present) {
            u->fault = (uint8_t)k;
        } else {
            u->next_fault = (uint8_t)k;
            u->next_fault_set = true;
        }
        return ED_OK;
    }
    return ed_seterr(err, errlen, ED_ERR_ARG,
                     "unknown fixture command '%.*s' (arrive, leave, fault "
                     "KIND)", (int)n, line);
}

unsigned sim_units_seen(const struct sim *s)
{
    return s->u.n;
}

void sim_unit_mac(const struct sim *s, uint8_t mac[6])
{
    memcpy(mac, s->mac, 6);
}
