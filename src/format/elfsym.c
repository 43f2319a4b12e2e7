/*
 * elfsym.c - code addresses to function and source line, from an app's ELF.
 * The only file that includes elfutils' headers (libdw, libelf).
 *
 * libdw reads the DWARF: the compilation unit whose ranges hold the
 * address (searched unit by unit with dwarf_haspc: the .debug_aranges that
 * ESP-IDF's Xtensa GCC 8 writes are refused by libdw as invalid), its line
 * table (dwarf_getsrc_die) and the innermost function or inlined function
 * at the address (dwarf_getscopes), as GNU addr2line -f reports it.  A
 * relative source path is joined to the unit's DW_AT_comp_dir, as addr2line
 * does.  Without DWARF for the address the ELF symbol table names the
 * function.  Only addresses inside an executable section are looked up.
 */
#include "elfsym.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ELFSYM_MAX_EXEC 32

struct elfsym {
    int fd;
    Elf *elf;
    Dwarf *dw;              /* NULL: no DWARF, symbols only */
    struct { uint64_t lo, hi; } exec[ELFSYM_MAX_EXEC];
    size_t n_exec;
};

static void find_exec(struct elfsym *s)
{
    Elf_Scn *scn = NULL;
    GElf_Shdr sh;

    while ((scn = elf_nextscn(s->elf, scn)) && s->n_exec < ELFSYM_MAX_EXEC) {
        if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_EXECINSTR) ||
            !(sh.sh_flags & SHF_ALLOC) || !sh.sh_size)
            continue;
        s->exec[s->n_exec].lo = sh.sh_addr;
        s->exec[s->n_exec].hi = sh.sh_addr + sh.sh_size;
        s->n_exec++;
    }
}

int elfsym_open(struct elfsym **out, const char *path, char *err,
                size_t errlen)
{
    struct elfsym *s;

    *out = NULL;
    if (elf_version(EV_CURRENT) == EV_NONE)
        return ed_seterr(err, errlen, ED_ERR_UNSUPPORTED,
                         "libelf is too old for this program");
    s = calloc(1, sizeof *s);
    if (!s)
        return ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory");
    s->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0) {
        int e = errno;

        free(s);
        return ed_seterr(err, errlen, ED_ERR_IO, "cannot read %s: %s (give "
                         "the app's ELF from its build folder, e.g. "
                         "build/PROJECT.elf)", path, strerror(e));
    }
    s->elf = elf_begin(s->fd, ELF_C_READ_MMAP, NULL);
    if (!s->elf || elf_kind(s->elf) != ELF_K_ELF) {
        elfsym_close(s);
        return ed_seterr(err, errlen, ED_ERR_PROFILE, "%s is not an ELF "
                         "file (give the app's .elf, not the .bin)", path);
    }
    find_exec(s);
    s->dw = dwarf_begin_elf(s->elf, DWARF_C_READ, NULL);
    *out = s;
    return ED_OK;
}

void elfsym_close(struct elfsym *s)
{
    if (!s)
        return;
    if (s->dw)
        dwarf_end(s->dw);
    if (s->elf)
        elf_end(s->elf);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

bool elfsym_has_debug(const struct elfsym *s)
{
    return s && s->dw;
}

bool elfsym_is_code(const struct elfsym *s, uint64_t addr)
{
    size_t i;

    for (i = 0; s && i < s->n_exec; i++)
        if (addr >= s->exec[i].lo && addr < s->exec[i].hi)
            return true;
    return false;
}

/* The compilation unit whose ranges hold addr. */
static bool cu_of(const struct elfsym *s, uint64_t addr, Dwarf_Die *cu)
{
    Dwarf_Off off = 0, next;
    size_t hsize;

    if (dwarf_addrdie(s->dw, addr, cu))
        return true;
    while (dwarf_nextcu(s->dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
        if (dwarf_offdie(s->dw, off + hsize, cu) && dwarf_haspc(cu, addr) > 0)
            return true;
        off = next;
    }
    return false;
}

static const char *die_name(Dwarf_Die *die)
{
    Dwarf_Attribute at;
    Dwarf_Die origin;
    const char *n = dwarf_diename(die);

    if (n)
        return n;
    if (dwarf_attr_integrate(die, DW_AT_abstract_origin, &at) &&
        dwarf_formref_die(&at, &origin))
        return dwarf_diename(&origin);
    return NULL;
}

static void dwarf_loc(const struct elfsym *s, uint64_t addr,
                      struct elfsym_loc *loc)
{
    Dwarf_Die cu, *scopes = NULL;
    Dwarf_Line *l;
    int n, i;

    if (!s->dw || !cu_of(s, addr, &cu))
        return;
    l = dwarf_getsrc_die(&cu, addr);
    if (l) {
        const char *src = dwarf_linesrc(l, NULL, NULL);
        const char *dir = dwarf_formstring(
            dwarf_attr(&cu, DW_AT_comp_dir, &(Dwarf_Attribute){0}));
        int line = 0;

        dwarf_lineno(l, &line);
        loc->line = line;
        if (src && src[0] != '/' && dir && !(src[0] && src[1] == ':'))
            snprintf(loc->file, sizeof loc->file, "%s/%s", dir, src);
        else if (src)
            snprintf(loc->file, sizeof loc->file, "%s", src);
    }
    n = dwarf_getscopes(&cu, addr, &scopes);
    for (i = 0; i < n; i++) {
        int tag = dwarf_tag(&scopes[i]);
        const char *name;

        if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine)
            continue;
        name = die_name(&scopes[i]);
        if (name) {
            snprintf(loc->func, sizeof loc->func, "%s", name);
            break;
        }
    }
    free(scopes);
}

/* The function symbol that holds addr, from .symtab. */
static void symtab_loc(const struct elfsym *s, uint64_t addr,
                       struct elfsym_loc *loc)
{
    Elf_Scn *scn = NULL;
    GElf_Shdr sh;

    while ((scn = elf_nextscn(s->elf, scn))) {
        Elf_Data *d;
        size_t i, n;

        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB ||
            !sh.sh_entsize)
            continue;
        d = elf_getdata(scn, NULL);
        n = sh.sh_size / sh.sh_entsize;
        for (i = 0; d && i < n; i++) {
            GElf_Sym sym;
            const char *name;

            if (!gelf_getsym(d, (int)i, &sym) ||
                GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
                addr < sym.st_value || addr >= sym.st_value + sym.st_size)
                continue;
            name = elf_strptr(s->elf, sh.sh_link, sym.st_name);
            if (name && *name) {
                snprintf(loc->func, sizeof loc->func, "%s", name);
                return;
            }
        }
    }
}

bool elfsym_lookup(const struct elfsym *s, uint64_t addr,
                   struct elfsym_loc *loc)
{
    memset(loc, 0, sizeof *loc);
    if (!elfsym_is_code(s, addr))
        return false;
    dwarf_loc(s, addr, loc);
    if (!loc->func[0])
        symtab_loc(s, addr, loc);
    return loc->func[0] || loc->file[0];
}
