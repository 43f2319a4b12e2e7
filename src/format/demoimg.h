/*
 * demoimg.h - the demo board's firmware, generated (no binaries in the repo).
 *
 * `make demo` flashes the built-in simulated ESP32 with images espdeck
 * writes itself: a second-stage bootloader image (header, segments,
 * checksum, appended SHA-256, bootloader descriptor) and an app image with
 * an esp_app_desc_t (project "espdeck-demo") and a simulator output script
 * (src/sim/sim_boot.h: "ESPDECK-SIM-OUTPUT" string table) so the monitor
 * shows coloured ESP-IDF log lines of every level after the boot log.  The
 * app carries ~800 KB of code-like and text-like filler, partly
 * compressible, so the progress bars are visible at 921600 baud.  The
 * partition table comes from profiles/demo.yaml's layout.
 *
 * Output is deterministic (fixed seed, fixed dates): the same bytes on
 * every run and every machine.  Pure functions, no I/O, any thread; the
 * returned buffer is malloc'd and owned by the caller.
 */
#ifndef ED_DEMOIMG_H
#define ED_DEMOIMG_H

#include <stddef.h>
#include <stdint.h>

#include "chip.h"

#define DEMOIMG_PROJECT "espdeck-demo"
#define DEMOIMG_VERSION "1.0.0"

/* Only CHIP_ESP32 for now; others give ED_ERR_UNSUPPORTED. */
int demoimg_bootloader(uint8_t **out, size_t *len, enum chip_id chip);
int demoimg_app(uint8_t **out, size_t *len, enum chip_id chip);
/* The same app printing other script lines (sim_boot.h's convention:
 * "@period=MS", "@loop", "@echo", "I () tag: text", raw lines); the demo
 * app's lines start with "@echo" (it answers what is typed). */
int demoimg_app_script(uint8_t **out, size_t *len, enum chip_id chip,
                       const char *const *lines, size_t n);

#endif
