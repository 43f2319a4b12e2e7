/*
 * port_internal.h - shared by the port backends (port_*.c) only.
 */
#ifndef ED_PORT_INTERNAL_H
#define ED_PORT_INTERNAL_H

#include "port.h"

/* Each fills a heap object whose first member is struct port. */
int port_serial_open(struct port **out, const char *path, uint32_t baud,
                     char *err, size_t errlen);
int port_socket_open(struct port **out, const char *hostport, uint32_t baud,
                     char *err, size_t errlen);
int port_rfc2217_open(struct port **out, const char *hostport, uint32_t baud,
                      char *err, size_t errlen);
/* spec: "esp32", "esp32c3?flash=8MB&boot=normal&pacing=0" (src/port_sim.c) */
int port_sim_open(struct port **out, const char *spec, uint32_t baud,
                  char *err, size_t errlen);

#endif
