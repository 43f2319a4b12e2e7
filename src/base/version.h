/*
 * version.h - espdeck's version (--version, and every production record).
 */
#ifndef ED_VERSION_H
#define ED_VERSION_H

#ifndef ESPDECK_VERSION
#define ESPDECK_VERSION "0.1.0"
#endif

#endif
