/*
 * scratch.h - a private scratch folder for harnesses that read files
 * (profiles, ESP-IDF build folders), made once per process.
 */
#ifndef ED_FUZZ_SCRATCH_H
#define ED_FUZZ_SCRATCH_H

#include <stddef.h>
#include <stdint.h>

/* The folder ("/tmp/espdeck-fuzz.XXXXXX"); removed at exit. */
const char *fuzz_dir(void);
/* Write data to fuzz_dir()/name (folders made as needed); path to out. */
void fuzz_write(char *out, size_t cap, const char *name, const void *data,
                size_t len);

#endif
