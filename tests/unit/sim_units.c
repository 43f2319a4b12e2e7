/*
 * Tests of the simulator as a fixture of units (src/sim/sim_units.c): units
 * arrive and leave on a schedule or on command, each with the next MAC and
 * blank flash; an absent unit is silent; hotplug and vanish take the port
 * away; options are parsed with one sentence on error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "sim/sim.h"
#include "clock.h"
#include "test.h"

#define MS 1000

static struct sim *mk_fixture(const char *const *opts)
{
    struct sim_config cfg;
    struct sim *s = NULL;
    char err[256];
    uint8_t base[6] = {0x24, 0x0a, 0xc4, 0x00, 0x00, 0xfe};

    memset(&cfg, 0, sizeof cfg);
    cfg.chip = "esp32";
    cfg.no_pacing = true;
    memcpy(cfg.mac, base, 6);
    cfg.mac_set = true;
    for (; opts && opts[0]; opts += 2)
        if (sim_config_option(&cfg, opts[0], opts[1], err, sizeof err))
            return NULL;
    if (sim_new(&s, &cfg, err, sizeof err) != 0)
        return NULL;
    return s;
}

/* Everything the board sends by now (text and frames, raw). */
static size_t drain(struct sim *s, int64_t now)
{
    uint8_t buf[4096];
    size_t n, total = 0;

    while ((n = sim_tx(s, buf, sizeof buf, now)) > 0)
        total += n;
    return total;
}

void test_sim_units__schedule_and_macs_count_up(void)
{
    static const char *const o[] = {"units", "auto", "arrive", "100ms",
                                    "stay", "1s", NULL};
    struct sim *s = mk_fixture(o);
    uint8_t mac[6];

    T_ASSERT(s);
    sim_connect(s, true, 0);
    T_ASSERT(!sim_unit_present(s, 50 * MS));
    T_EQ_INT(drain(s, 50 * MS), 0);           /* nobody there yet */
    T_ASSERT(sim_unit_present(s, 100 * MS));
    T_EQ_INT(sim_units_seen(s), 1);
    sim_unit_mac(s, mac);
    T_EQ_INT(mac[5], 0xfe);
    T_ASSERT(drain(s, 200 * MS) > 0);          /* it powered up and boots */
    /* stay=1s: it leaves, the next one comes 100 ms later */
    T_ASSERT(!sim_unit_present(s, 1150 * MS));
    T_ASSERT(sim_unit_present(s, 1250 * MS));
    T_EQ_INT(sim_units_seen(s), 2);
    sim_unit_mac(s, mac);
    T_EQ_INT(mac[3], 0x00);
    T_EQ_INT(mac[4], 0x00);
    T_EQ_INT(mac[5], 0xff);
    T_ASSERT(!sim_unit_present(s, 2300 * MS));
    T_ASSERT(sim_unit_present(s, 2400 * MS));
    sim_unit_mac(s, mac);                      /* carries into byte 4 */
    T_EQ_INT(mac[4], 0x01);
    T_EQ_INT(mac[5], 0x00);
    sim_free(s);
}

void test_sim_units__on_command_and_absent_is_silent(void)
{
    static const char *const o[] = {"units", "2", "arrive", "cmd", "leave",
                                    "cmd", NULL};
    struct sim *s = mk_fixture(o);
    char err[256];

    T_ASSERT(s);
    sim_connect(s, true, 0);
    /* a reset sequence into nothing: no banner, no reply */
    sim_set_lines(s, false, true, 10 * MS);
    sim_set_lines(s, true, false, 20 * MS);
    sim_set_lines(s, false, false, 80 * MS);
    T_EQ_INT(drain(s, 500 * MS), 0);
    T_ASSERT(!sim_unit_present(s, 5000 * MS)); /* arrive=cmd: never alone */
    T_EQ_INT(sim_unit_command(s, "arrive", 5000 * MS, err, sizeof err), 0);
    T_ASSERT(sim_unit_present(s, 5000 * MS));
    T_ASSERT(drain(s, 5100 * MS) > 0);         /* boots from its flash */
    drain(s, 6000 * MS);                        /* what it sent so far */
    T_EQ_INT(sim_unit_command(s, "leave\n", 6000 * MS, err, sizeof err), 0);
    T_ASSERT(!sim_unit_present(s, 6000 * MS));
    T_EQ_INT(drain(s, 7000 * MS), 0);
    T_ASSERT(!sim_port_gone(s, 7000 * MS));    /* the UART stays plugged */
    T_EQ_INT(sim_unit_command(s, "dance", 7000 * MS, err, sizeof err),
             ED_ERR_ARG);
    T_CONTAINS(err, "unknown fixture command 'dance'");
    T_EQ_INT(sim_unit_command(s, "fault melt", 7000 * MS, err, sizeof err),
             ED_ERR_ARG);
    T_CONTAINS(err, "unknown fault 'melt'");
    sim_free(s);
}

void test_sim_units__hotplug_port_goes_with_the_unit(void)
{
    static const char *const o[] = {"units", "auto", "arrive", "200ms",
                                    "leave", "cmd", "hotplug", "1", NULL};
    struct sim *s = mk_fixture(o);
    char err[256];

    T_ASSERT(s);
    sim_connect(s, true, 0);
    T_ASSERT(sim_port_gone(s, 100 * MS));
    T_ASSERT(!sim_port_gone(s, 250 * MS));
    T_EQ_INT(sim_unit_command(s, "leave", 300 * MS, err, sizeof err), 0);
    T_ASSERT(sim_port_gone(s, 300 * MS));
    T_ASSERT(!sim_port_gone(s, 600 * MS));     /* the next one, 200 ms on */
    T_EQ_INT(sim_units_seen(s), 2);
    sim_free(s);
}

void test_sim_units__new_unit_has_blank_flash(void)
{
    static const char *const o[] = {"units", "auto", "arrive", "1ms", NULL};
    struct sim *s = mk_fixture(o);
    const uint8_t *f;
    size_t n, i;
    bool blank = true;

    T_ASSERT(s);
    sim_connect(s, true, 0);
    T_ASSERT(sim_unit_present(s, 10 * MS));
    f = sim_flash(s, &n);
    for (i = 0; i < n && blank; i++)
        blank = f[i] == 0xFF;
    T_ASSERT(blank);
    sim_free(s);
}

void test_sim_units__options_one_sentence(void)
{
    struct sim_config cfg;
    char err[256];

    memset(&cfg, 0, sizeof cfg);
    T_EQ_INT(sim_config_option(&cfg, "units", "many", err, sizeof err),
             ED_ERR_ARG);
    T_CONTAINS(err, "units takes auto");
    T_EQ_INT(sim_config_option(&cfg, "arrive", "soon", err, sizeof err),
             ED_ERR_ARG);
    T_CONTAINS(err, "not a time like 2s");
    T_EQ_INT(sim_config_option(&cfg, "faults", "3:explode", err, sizeof err),
             ED_ERR_ARG);
    T_CONTAINS(err, "3:panic,5:verify");
    T_EQ_INT(sim_config_option(&cfg, "faults", "3:panic,5:vanish", err,
                               sizeof err), 0);
    T_EQ_INT(cfg.n_faults, 2);
    T_EQ_INT(cfg.faults[1].unit, 5);
    T_EQ_INT(cfg.faults[1].kind, SIM_UNIT_VANISH);
    T_EQ_INT(sim_config_option(&cfg, "arrive", "1.5s", err, sizeof err), 0);
    T_EQ_INT(cfg.arrive_ms, 1500);
    T_EQ_INT(sim_config_option(&cfg, "leave", "cmd", err, sizeof err), 0);
    T_EQ_INT(cfg.leave_ms, -1);
    T_ASSERT(cfg.units);
}

/* ---- sim_fixture: one board across port opens ---- */

#include "port.h"
#include "sim/sim_fixture.h"

static size_t read_for(struct port *p, char *buf, size_t cap, int ms)
{
    size_t n = 0;
    int64_t end = clock_ms() + ms;

    while (clock_ms() < end && n + 1 < cap) {
        int r = port_read(p, (uint8_t *)buf + n, cap - 1 - n, 50);
        if (r < 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    return n;
}

void test_sim_units__fixture_outlives_port_opens(void)
{
    struct sim_fixture *f = NULL;
    struct port *p = NULL;
    char err[256], buf[4096];

    T_ASSERT(sim_fixture_wanted("sim:esp32?pacing=0&units=auto"));
    T_ASSERT(!sim_fixture_wanted("sim:esp32?pacing=0"));
    T_ASSERT(!sim_fixture_wanted("/dev/ttyUSB0"));
    T_EQ_INT(sim_fixture_new(&f, "sim:esp32?pacing=0&units=auto&arrive=cmd",
                             NULL, err, sizeof err), 0);
    T_CONTAINS(sim_fixture_url(f), "rfc2217://127.0.0.1:");
    T_EQ_INT(port_open(&p, sim_fixture_url(f), 115200, NULL, err,
                       sizeof err), 0);
    T_EQ_INT(read_for(p, buf, sizeof buf, 300), 0); /* empty fixture */
    T_EQ_INT(sim_fixture_command(f, "arrive"), 0);
    read_for(p, buf, sizeof buf, 500);
    T_CONTAINS(buf, "invalid header: 0xffffffff"); /* a blank unit boots */
    port_close(p);
    p = NULL;
    /* the unit is still in when the port opens again */
    T_EQ_INT(port_open(&p, sim_fixture_url(f), 115200, NULL, err,
                       sizeof err), 0);
    read_for(p, buf, sizeof buf, 700);
    T_CONTAINS(buf, "invalid header: 0xffffffff");
    port_close(p);
    sim_fixture_free(f);
    T_EQ_INT(sim_fixture_new(&f, "sim:esp99?units=auto", NULL, err,
                             sizeof err), ED_ERR_ARG);
    T_CONTAINS(err, "unknown chip 'esp99'");
    T_ASSERT(!f);
}
