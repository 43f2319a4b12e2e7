/*
 * elfsym.h - code addresses of an app to function and source line, read
 * from its ELF (DWARF line tables and scopes through elfutils' libdw, the
 * symbol table through libelf), for decoding panic backtraces.
 *
 * Ownership: elfsym_open() returns an object the caller frees with
 * elfsym_close().  Threads: one thread at a time per object; no global
 * state beyond libelf's version handshake.
 */
#ifndef ED_ELFSYM_H
#define ED_ELFSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct elfsym;

struct elfsym_loc {
    char func[128];     /* "app_main"; "" unknown */
    char file[512];     /* source file (joined to its compile folder) */
    int line;           /* 0 unknown */
};

/* Open an ELF file.  On failure *out is NULL and err says why, with the
 * fix ("give the app's .elf, not the .bin"). */
int elfsym_open(struct elfsym **out, const char *path, char *err,
                size_t errlen);
void elfsym_close(struct elfsym *s); /* NULL is fine */

/* The ELF has DWARF (file:line answers), not only symbols. */
bool elfsym_has_debug(const struct elfsym *s);
/* addr lies in an executable section of the ELF. */
bool elfsym_is_code(const struct elfsym *s, uint64_t addr);
/* Function and source line of a code address; false when addr is not
 * code of this ELF or nothing is known about it. */
bool elfsym_lookup(const struct elfsym *s, uint64_t addr,
                   struct elfsym_loc *loc);

#endif
