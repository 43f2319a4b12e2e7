/*
 * idfimport.h - a profile from an ESP-IDF build directory.
 *
 * Reads BUILD_DIR/flasher_args.json (flash_files, flash_settings,
 * extra_esptool_args) and the partition table binary it names, and writes
 * profile YAML whose partition layout is decoded from that table (so it can
 * be edited) and whose image paths are relative to the folder the profile
 * will live in.
 *
 * Pure apart from reading files; no global state.
 */
#ifndef ED_IDFIMPORT_H
#define ED_IDFIMPORT_H

#include <stddef.h>

/*
 * The profile text for build_dir; paths relative to profile_dir (the folder
 * the profile will be written to; "." for the current one), or absolute
 * when profile_dir is NULL (text whose place is not known: standard output,
 * a profile's idf_build).  *out is a
 * NUL-terminated string the caller frees, NULL on failure (err set).
 */
int idfimport_text(char **out, const char *build_dir, const char *profile_dir,
                   char *err, size_t errlen);

/*
 * The app's ELF of build_dir, from project_description.json ("app_elf",
 * relative to build_dir) into out; ED_ERR_NOT_FOUND (out "") when the file
 * or the ELF is missing.
 */
int idfimport_elf(const char *build_dir, char *out, size_t len);

/* "../build/x.bin": path (a file) relative to dir; both must exist. */
int idfimport_relpath(const char *path, const char *dir, char *out,
                      size_t len);

#endif
