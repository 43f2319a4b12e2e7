/* Unit tests: a bench slot's state machine (src/bench/slot.c), fake time. */
#include <string.h>

#include "slot.h"
#include "test.h"

static const uint8_t MAC_A[6] = {0x24, 0x0a, 0xc4, 0, 0, 1};
static const uint8_t MAC_B[6] = {0x24, 0x0a, 0xc4, 0, 0, 2};

/* Run a whole unit from FLASH to the recorded verdict. */
static void unit(struct slot *s, int64_t now, const uint8_t *mac, bool pass)
{
    T_ASSERT(slot_admit(s, mac, false, false));
    slot_finished(s, now, pass ? SLOT_OUT_PASS : SLOT_OUT_FAIL, false);
    T_EQ_INT(s->phase, SLOT_RECORDING);
    T_ASSERT(!slot_idle(s));
    slot_recorded(s, now, true);
}

void test_slot__probe_every_period_until_a_board_answers(void)
{
    struct slot s;
    int wait;

    slot_init(&s, BENCH_TRIGGER_PROBE, 500, 1000);
    T_EQ_INT(slot_tick(&s, 1000, &wait), SLOT_ACT_CHECK_PORT);
    slot_port(&s, 1000, true);
    T_EQ_INT(slot_tick(&s, 1000, &wait), SLOT_ACT_PROBE);
    T_EQ_INT(s.phase, SLOT_PROBING);
    T_EQ_INT(slot_tick(&s, 1200, &wait), SLOT_ACT_NONE);
    T_EQ_INT(wait, -1); /* only the probe's end moves it on */
    slot_probe(&s, 1300, false, NULL);
    T_EQ_INT(slot_tick(&s, 1300, &wait), SLOT_ACT_NONE);
    T_EQ_INT(wait, 500);
    T_EQ_INT(slot_tick(&s, 1799, &wait), SLOT_ACT_NONE);
    T_EQ_INT(wait, 1);
    T_EQ_INT(slot_tick(&s, 1800, &wait), SLOT_ACT_CHECK_PORT);
    slot_port(&s, 1800, true);
    T_EQ_INT(slot_tick(&s, 1800, &wait), SLOT_ACT_PROBE);
    slot_probe(&s, 1900, true, MAC_A);
    T_EQ_INT(slot_tick(&s, 1900, &wait), SLOT_ACT_FLASH);
    T_EQ_INT(s.phase, SLOT_RUNNING);
    unit(&s, 20000, MAC_A, true);
    T_EQ_INT(s.attempt, 1);
    T_EQ_INT(s.phase, SLOT_DONE);
}

void test_slot__same_mac_without_leaving_is_not_a_new_unit(void)
{
    struct slot s;
    int64_t t = 0;
    int i;

    slot_init(&s, BENCH_TRIGGER_PROBE, 500, t);
    s.phase = SLOT_RUNNING;
    unit(&s, t, MAC_A, true);
    /* the board stays: probes keep finding MAC A, nothing starts */
    for (i = 0; i < 10; i++) {
        t += 600; /* the period runs from the end of the last probe */
        T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_CHECK_PORT);
        slot_port(&s, t, true);
        T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_PROBE);
        T_ASSERT(s.from_done);
        slot_probe(&s, t + 100, true, MAC_A);
        T_EQ_INT(slot_tick(&s, t + 100, NULL), SLOT_ACT_NONE);
        T_EQ_INT(s.phase, SLOT_DONE);
    }
    /* swapped between two probes: another MAC answers, a new unit */
    t += 600;
    T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_CHECK_PORT);
    slot_port(&s, t, true);
    T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_PROBE);
    slot_probe(&s, t, true, MAC_B);
    T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_FLASH);
    unit(&s, t, MAC_B, true);
    T_EQ_INT(s.attempt, 1);
    /* it leaves: no answer; the slot waits */
    t += 500;
    T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_CHECK_PORT);
    slot_port(&s, t, true);
    T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_PROBE);
    slot_probe(&s, t, false, NULL);
    T_EQ_INT(s.phase, SLOT_WAIT);
}

void test_slot__key_mode_retries_and_programmed(void)
{
    struct slot s;
    int64_t t = 0;

    slot_init(&s, BENCH_TRIGGER_KEY, 500, t);
    T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_CHECK_PORT);
    slot_port(&s, t, true);
    /* no key, nothing starts, however long */
    T_EQ_INT(slot_tick(&s, t + 100, NULL), SLOT_ACT_NONE);
    slot_key(&s);
    T_EQ_INT(slot_tick(&s, t + 100, NULL), SLOT_ACT_FLASH);
    T_ASSERT(slot_admit(&s, MAC_A, false, false));
    slot_finished(&s, t, SLOT_OUT_FAIL, false);
    slot_recorded(&s, t, true);
    T_EQ_INT(s.phase, SLOT_DONE);
    T_ASSERT(!s.unit_pass);
    /* the same unit again: a retry */
    slot_key(&s);
    T_EQ_INT(slot_tick(&s, t + 200, NULL), SLOT_ACT_FLASH);
    T_ASSERT(slot_admit(&s, MAC_A, false, false));
    T_EQ_INT(s.attempt, 2);
    slot_finished(&s, t, SLOT_OUT_PASS, false);
    slot_recorded(&s, t, true);
    /* and once more: it has a PASS record now, so it is not flashed */
    slot_key(&s);
    T_EQ_INT(slot_tick(&s, t + 300, NULL), SLOT_ACT_FLASH);
    T_ASSERT(!slot_admit(&s, MAC_A, true, false));
    slot_finished(&s, t, SLOT_OUT_PROGRAMMED, false);
    T_EQ_INT(s.phase, SLOT_DONE);
    /* the operator says reprogram: it starts at once, attempt 3 */
    slot_reprogram(&s);
    T_EQ_INT(slot_tick(&s, t + 400, NULL), SLOT_ACT_FLASH);
    T_ASSERT(slot_admit(&s, MAC_A, true, false));
    T_EQ_INT(s.attempt, 3);
    slot_finished(&s, t, SLOT_OUT_PASS, false);
    slot_recorded(&s, t, true);
    /* the reprogram was for once; --reprogram is for every unit */
    T_ASSERT(!slot_admit(&s, MAC_A, true, false));
    T_ASSERT(slot_admit(&s, MAC_A, true, true));
    /* another unit starts at attempt 1 */
    T_ASSERT(slot_admit(&s, MAC_B, false, false));
    T_EQ_INT(s.attempt, 1);
}

void test_slot__port_lost_waits_for_the_port(void)
{
    struct slot s;
    int64_t t = 0;

    slot_init(&s, BENCH_TRIGGER_KEY, 500, t);
    slot_key(&s);
    T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_FLASH);
    T_ASSERT(slot_admit(&s, MAC_A, false, false));
    slot_finished(&s, t, SLOT_OUT_FAIL, true);
    slot_recorded(&s, t, true);
    T_EQ_INT(s.phase, SLOT_NO_PORT);
    /* a key while the port is away does nothing */
    slot_key(&s);
    t += 500;
    T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_CHECK_PORT);
    slot_port(&s, t, false);
    T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_NONE);
    T_EQ_INT(s.phase, SLOT_NO_PORT);
    t += 500;
    T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_CHECK_PORT);
    slot_port(&s, t, true);
    T_EQ_INT(s.phase, SLOT_WAIT);
    T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_NONE);
    slot_key(&s);
    T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_FLASH);
}

void test_slot__port_trigger_hotplug(void)
{
    struct slot s;
    int64_t t = 0;

    slot_init(&s, BENCH_TRIGGER_PORT, 500, t);
    T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_CHECK_PORT);
    slot_port(&s, t, false);
    T_EQ_INT(s.phase, SLOT_WAIT); /* absent is just "no board yet" */
    t += 500;
    T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_CHECK_PORT);
    slot_port(&s, t, true);
    T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_FLASH);
    unit(&s, t, MAC_A, true);
    /* still plugged: stays done */
    t += 500;
    T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_CHECK_PORT);
    slot_port(&s, t, true);
    T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_NONE);
    T_EQ_INT(s.phase, SLOT_DONE);
    /* unplugged: left; plugged again: the next unit */
    t += 500;
    T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_CHECK_PORT);
    slot_port(&s, t, false);
    T_EQ_INT(s.phase, SLOT_WAIT);
    t += 500;
    T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_CHECK_PORT);
    slot_port(&s, t, true);
    T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_FLASH);
}

void test_slot__pause_and_halt(void)
{
    struct slot s;
    int64_t t = 0;

    slot_init(&s, BENCH_TRIGGER_KEY, 500, t);
    slot_key(&s);
    T_EQ_INT(slot_tick(&s, t, NULL), SLOT_ACT_FLASH);
    /* paused while running: the unit finishes, then the slot stops */
    slot_pause(&s, true, t);
    T_ASSERT(slot_admit(&s, MAC_A, false, false));
    slot_finished(&s, t, SLOT_OUT_PASS, false);
    slot_recorded(&s, t, true);
    T_EQ_INT(s.phase, SLOT_STOPPED);
    T_ASSERT(slot_idle(&s));
    slot_key(&s);
    T_EQ_INT(slot_tick(&s, t + 1000, NULL), SLOT_ACT_NONE);
    slot_pause(&s, false, t + 1000);
    T_EQ_INT(slot_tick(&s, t + 1000, NULL), SLOT_ACT_CHECK_PORT);
    slot_port(&s, t + 1000, true);
    slot_key(&s);
    T_EQ_INT(slot_tick(&s, t + 1000, NULL), SLOT_ACT_FLASH);
    T_ASSERT(slot_admit(&s, MAC_B, false, false));
    slot_finished(&s, t, SLOT_OUT_PASS, false);
    /* the record could not be written: halted for good */
    slot_recorded(&s, t, false);
    T_EQ_INT(s.phase, SLOT_HALTED);
    slot_key(&s);
    T_EQ_INT(slot_tick(&s, t + 5000, NULL), SLOT_ACT_NONE);
}
