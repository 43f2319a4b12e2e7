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
/*
 * Connect a TCP socket to "host:port" ("[::1]:port" for IPv6) within
 * timeout_ms, TCP_NODELAY set, non-blocking.  scheme ("socket://") only
 * words the error sentence.  *out is the fd, -1 on failure.
 */
int port_tcp_connect(int *out, const char *scheme, const char *hostport,
                     int timeout_ms, char *err, size_t errlen);
/*
 * Wait for fd to become readable (POLLIN) or writable within timeout_ms.
 * Returns 1 ready, 0 timeout, ED_ERR_CLOSED on hang-up, ED_ERR_IO.
 */
int port_fd_wait(int fd, bool for_write, int timeout_ms);

/* spec: "esp32", "esp32c3?flash=8MB&boot=normal&pacing=0" (src/port_sim.c) */
int port_sim_open(struct port **out, const char *spec, uint32_t baud,
                  char *err, size_t errlen);

#endif
