/*
 * sim_boot.h - the simulated boot chain: ROM flash boot, the ESP-IDF
 * second-stage bootloader and the start of the app, decided by reading the
 * flash the way the real chain does (image headers, checksums, SHA-256,
 * partition table with its MD5 row, otadata).
 *
 * The simulator runs no code.  What an app prints is decided by content:
 *   (a) an app whose descriptor (esp_app_desc_t) names the project
 *       "hello_world" prints "Hello world!\r\n" once a second;
 *   (b) an app carrying a simulator script prints the script's lines.  The
 *       script is a string table inside one of the image's data segments
 *       (normally the first DROM or DRAM segment; every segment is
 *       searched): the 19 bytes "ESPDECK-SIM-OUTPUT" + NUL, then lines,
 *       each NUL-terminated, ended by an empty line (two NULs in a row) or
 *       by the segment's end.  Lines are printed one at a time, in order:
 *         "@period=MS"  (decimal, 1..3600000) the wait after each following
 *                       line (default 1000 ms); may appear again later;
 *         "@loop"       the lines after it repeat forever, the ones before
 *                       it print once; without "@loop" the whole script
 *                       repeats;
 *         "@stop"       print nothing after the previous line;
 *         "@echo"       the app reads its UART like esp_console's line
 *                       editor: each byte is echoed (a control byte as
 *                       ^X, Backspace rubs out), and a line end (CR LF, LF,
 *                       or a CR with nothing after it) answers
 *                       'rx: "LINE" + CR LF' (or LF, CR) on its own line;
 *         "E (...", "W (...", "I (..." an ESP-IDF log line: whatever stands
 *                       in the parentheses is replaced by the simulated
 *                       milliseconds since reset, and the line is wrapped in
 *                       the ESP-IDF colour (E 0;31 red, W 0;33 yellow,
 *                       I 0;32 green);
 *         anything else  printed as it is.
 *       Every printed line ends with CR LF.  The first line comes right
 *       after the app start log.
 *   (c) otherwise it prints its start log (app_init lines) and nothing more.
 * See docs/simulator.md.
 *
 * All functions are pure over their inputs (no globals, no I/O); returned
 * text is malloc'd and owned by the caller.  A struct sim_app is owned by
 * the caller and freed with sim_app_free(); it is not locked.
 */
#ifndef ED_SIM_BOOT_H
#define ED_SIM_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_chip;        /* sim_chip.h */
struct sim_ram_segment; /* sim_internal.h: {addr, data, len} */

/* Something running that prints over time: the app, or a boot loop. */
struct sim_app;

#define SIM_SCRIPT_MAGIC "ESPDECK-SIM-OUTPUT" /* followed by one NUL */
#define SIM_SCRIPT_MAGIC_LEN 19               /* including the NUL */

/*
 * Normal boot from flash.  Returns malloc'd text printed right away (ROM
 * flash-boot banner, 2nd-stage bootloader log, app start log; CR LF, ESP-IDF
 * colour codes), its length in *len, and in *app what keeps running (the
 * app, or a boot loop after bad flash), or NULL.  An app's clock starts at
 * 0 us at this call: sim_app_poll()/sim_app_next_us() times are relative to
 * it (the caller keeps the origin, e.g. the time of the reset).  The first
 * app line is due a little after the boot text (at 115200 baud) has left.
 * Returns NULL only when out of memory.
 */
char *sim_boot_flash(const struct sim_chip *chip, const uint8_t *flash,
                     size_t flash_size, size_t *len, struct sim_app **app);

/*
 * A RAM image jumped to by MEM_END.  If one of its segments starts with an
 * ESP-IDF app descriptor (magic 0xABCD5432), returns true with *app (times
 * relative to now, as above) and *text (malloc'd app start log, *len bytes).
 * Returns false (and *app = NULL, *text = NULL) for anything else: the host
 * loaded a flasher stub.
 */
bool sim_boot_ram(const struct sim_chip *chip,
                  const struct sim_ram_segment *segs, size_t n,
                  uint32_t entry, char **text, size_t *len,
                  struct sim_app **app);

/*
 * Copy into buf the text due by now_us (relative us); returns the count.
 * Text that does not fit stays for the next call.
 */
size_t sim_app_poll(struct sim_app *app, int64_t now_us, char *buf,
                    size_t cap);
/* When the next text is due (relative us); -1 = never. */
int64_t sim_app_next_us(const struct sim_app *app);
void sim_app_free(struct sim_app *app); /* NULL is fine */

/* An "@echo" app: input goes to it (sim_app_input), not to the loader. */
bool sim_app_echoes(const struct sim_app *app);
/* One input byte: the text it answers into out (cap >= 300); returns the
 * count.  sim_app_input_idle: no more input for now (ends a line after a
 * lone CR). */
size_t sim_app_input(struct sim_app *app, uint8_t b, char *out, size_t cap);
size_t sim_app_input_idle(struct sim_app *app, char *out, size_t cap);

#endif
