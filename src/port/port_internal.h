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
/*
 * Write all of buf to the non-blocking fd within timeout_ms, waiting with
 * poll() while it is full: send(MSG_NOSIGNAL) when is_socket, else write().
 * Returns ED_OK, ED_ERR_TIMEOUT, ED_ERR_CLOSED (poll saw a hang-up), or
 * another error with *sys_errno the failed write's errno (0 when poll()
 * failed); the caller words the sentence and picks which errnos mean gone.
 */
int port_fd_write_all(int fd, bool is_socket, const uint8_t *buf, size_t len,
                      int timeout_ms, int *sys_errno);
/*
 * recv() what a non-blocking socket has, waiting up to timeout_ms for the
 * first byte.  Returns the count (> 0), 0 on timeout, ED_ERR_CLOSED when the
 * peer closed or reset the connection, or another error with *sys_errno the
 * failed recv's errno (0 when poll() failed).
 */
int port_sock_recv(int fd, uint8_t *buf, size_t cap, int timeout_ms,
                   int *sys_errno);

/*
 * The RFC 2217 client's Telnet receive state machine alone (tests and
 * fuzzing): in[len] as if the server had sent it, step bytes at a time
 * (0: at once), to a fresh client whose answers (option refusals) go to
 * fd, e.g. one end of a socketpair.  The data bytes decoded are copied to
 * out (at most cap); returns their count or an error.
 */
int port_rfc2217_feed(int fd, const uint8_t *in, size_t len, size_t step,
                      uint8_t *out, size_t cap);

/* spec: "esp32", "esp32c3?flash=8MB&boot=normal&pacing=0" (src/port_sim.c) */
int port_sim_open(struct port **out, const char *spec, uint32_t baud,
                  char *err, size_t errlen);

#endif
