/*
 * port_serial.c - local serial ports.  The only file that includes
 * libserialport.h.
 *
 * libserialport opens and configures the device (8N1, no flow control),
 * sets single lines, flushes, and enumerates ports with their USB facts.
 * Two things it cannot do are done on its file descriptor directly:
 *   - set DTR and RTS at once (TIOCMSET), for esptool's unix-tight reset;
 *   - pseudo-terminals, which it refuses to open (they have no sysfs
 *     device); they are opened with plain termios and have no modem lines.
 * Reads and writes poll() the descriptor against a deadline on both paths,
 * so an unplugged adapter (POLLHUP, EIO) reads as ED_ERR_CLOSED.
 *
 * Every open takes an advisory lock (flock LOCK_EX|LOCK_NB) like esptool and
 * pyserial's exclusive mode, so two tools never fight over a port; a busy
 * port names the process that holds the lock (from /proc/locks), or failing
 * that another process that has the device open (from /proc/PID/fd).
 *
 * libserialport's debug output is switched off once per process (its handler
 * is a process-wide setting, the same for every port); its error text is
 * copied at once (sp_last_error_message reads errno).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libserialport.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "clock.h"
#include "port_internal.h"

struct serial_port {
    struct port base;
    struct sp_port *sp; /* NULL for a pseudo-terminal (termios path) */
    int fd;             /* libserialport's handle, or our own */
    char path[PATH_MAX];
};

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void quiet_libserialport(void)
{
    sp_set_debug_handler(NULL);
}

/* Copy libserialport's last error text into buf (it reads errno). */
static void sp_errtext(char *buf, size_t len)
{
    char *m = sp_last_error_message();
    snprintf(buf, len, "%s", m ? m : "unknown error");
    sp_free_error_message(m);
}

static struct serial_port *ser_of(struct port *p)
{
    return (struct serial_port *)p;
}

/* ---- sentences for the ways opening fails ---- */

/* "/dev/ttyUSB0, /dev/ttyACM0" or "" when listing fails or finds none. */
static void list_names(char *buf, size_t len, int *count)
{
    struct port_info *ports = NULL;
    char err[128];
    size_t used = 0;
    int n, i;

    buf[0] = '\0';
    *count = 0;
    n = port_list(&ports, err, sizeof err);
    if (n < 0)
        return;
    *count = n;
    for (i = 0; i < n && i < 6; i++) {
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
                         ports[i].name);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
    if (n > 6 && used + 8 < len)
        snprintf(buf + used, len - used, ", ...");
    free(ports);
}

static int err_not_found(const char *path, char *err, size_t errlen)
{
    char names[256];
    int count;

    list_names(names, sizeof names, &count);
    if (count == 0)
        return ed_seterr(err, errlen, ED_ERR_NOT_FOUND,
                         "no serial port %s: espdeck ports lists the ports "
                         "it sees (none now: is the board plugged in?)",
                         path);
    return ed_seterr(err, errlen, ED_ERR_NOT_FOUND,
                     "no serial port %s: espdeck ports lists the ports it "
                     "sees (now: %s)",
                     path, names);
}

static int err_not_serial(const char *path, const char *what, char *err,
                          size_t errlen)
{
    return ed_seterr(err, errlen, ED_ERR_ARG,
                     "%s is not a serial port (%s): espdeck ports lists the "
                     "ports it sees",
                     path, what);
}

static int err_permission(const char *path, char *err, size_t errlen)
{
    struct stat st;
    struct group gr, *grp = NULL;
    char gbuf[1024];

    if (stat(path, &st) == 0 && st.st_gid != 0 &&
        getgrgid_r(st.st_gid, &gr, gbuf, sizeof gbuf, &grp) == 0 && grp) {
        gid_t groups[256];
        int n = getgroups(256, groups), i;
        for (i = 0; i < n; i++)
            if (groups[i] == st.st_gid)
                return ed_seterr(err, errlen, ED_ERR_PERM,
                                 "permission denied on %s although you are "
                                 "in the %s group: check its mode "
                                 "(ls -l %s) or a udev rule",
                                 path, grp->gr_name, path);
        return ed_seterr(err, errlen, ED_ERR_PERM,
                         "permission denied on %s: add yourself to the %s "
                         "group (sudo usermod -aG %s $USER) and log in "
                         "again",
                         path, grp->gr_name, grp->gr_name);
    }
    return ed_seterr(err, errlen, ED_ERR_PERM,
                     "permission denied on %s: it belongs to root; a udev "
                     "rule giving it to the dialout group fixes that "
                     "(ls -l %s shows its owner)",
                     path, path);
}

/* Interpreters whose script name says more than their own. */
static int is_interpreter(const char *comm)
{
    return !strncmp(comm, "python", 6) || !strcmp(comm, "node") ||
           !strncmp(comm, "perl", 4) || !strncmp(comm, "ruby", 4) ||
           !strcmp(comm, "sh") || !strcmp(comm, "bash");
}

/* Read a small /proc file into buf (NUL-terminated); bytes read or -1. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return n;
}

/* A readable name for process pid: "idf_monitor", "minicom". */
static void process_name(long pid, char *buf, size_t len)
{
    char path[64], cmd[1024];
    const char *arg, *base;
    char *dot;
    ssize_t n;

    snprintf(path, sizeof path, "/proc/%ld/comm", pid);
    if (read_small(path, buf, len) <= 0)
        buf[0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    if (!buf[0])
        snprintf(buf, len, "another program");
    if (!is_interpreter(buf))
        return;
    /* "python3 /x/idf_monitor.py ..." -> "idf_monitor" */
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    n = read_small(path, cmd, sizeof cmd);
    if (n <= 0)
        return;
    arg = cmd + strlen(cmd) + 1;
    while (arg < cmd + n && arg[0] == '-')
        arg += strlen(arg) + 1;
    if (arg >= cmd + n || !*arg)
        return;
    base = strrchr(arg, '/');
    snprintf(buf, len, "%s", base ? base + 1 : arg);
    dot = strrchr(buf, '.');
    if (dot && (!strcmp(dot, ".py") || !strcmp(dot, ".js")))
        *dot = '\0';
}

/* Does process pid still exist? */
static int pid_alive(long pid)
{
    char path[64];
    struct stat st;

    snprintf(path, sizeof path, "/proc/%ld", pid);
    return stat(path, &st) == 0;
}

/*
 * The process holding an exclusive flock on path, from /proc/locks: rows
 * like "3: FLOCK  ADVISORY  WRITE 2152 00:19:4 0 EOF" (pid, then the
 * device of the file system, hex major:minor, and the inode).  Waiting
 * requests ("3: -> FLOCK ...") are not holders.  The pid, or -1.
 */
static long find_locker(const struct stat *st)
{
    char line[256];
    long found = -1;
    FILE *f = fopen("/proc/locks", "re");

    if (!f)
        return -1;
    while (found < 0 && fgets(line, sizeof line, f)) {
        char kind[16], adv[16], mode[16];
        unsigned int maj, min;
        unsigned long ino;
        long pid;

        if (sscanf(line, "%*d: %15s %15s %15s %ld %x:%x:%lu", kind, adv,
                   mode, &pid, &maj, &min, &ino) != 7)
            continue; /* also skips "->" rows: their fields shift */
        if (strcmp(kind, "FLOCK") || strcmp(mode, "WRITE") || pid <= 0)
            continue;
        if (maj == major(st->st_dev) && min == minor(st->st_dev) &&
            ino == (unsigned long)st->st_ino && pid_alive(pid))
            found = pid;
    }
    fclose(f);
    return found;
}

/* A process other than us with path open (scanned from /proc/PID/fd). */
static long find_opener(const char *path)
{
    char want[PATH_MAX], fddir[64], link[PATH_MAX + 64], target[PATH_MAX];
    DIR *proc, *fds;
    struct dirent *e, *f;
    long found = -1, self = (long)getpid();

    if (!realpath(path, want))
        snprintf(want, sizeof want, "%s", path);
    proc = opendir("/proc");
    if (!proc)
        return -1;
    while (found < 0 && (e = readdir(proc))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || pid == self)
            continue;
        snprintf(fddir, sizeof fddir, "/proc/%ld/fd", pid);
        fds = opendir(fddir);
        if (!fds)
            continue;
        while ((f = readdir(fds))) {
            ssize_t n;
            if (f->d_name[0] == '.')
                continue;
            snprintf(link, sizeof link, "%s/%s", fddir, f->d_name);
            n = readlink(link, target, sizeof target - 1);
            if (n <= 0)
                continue;
            target[n] = '\0';
            if (!strcmp(target, want)) {
                found = pid;
                break;
            }
        }
        closedir(fds);
    }
    closedir(proc);
    return found;
}

/*
 * Who keeps us from path: the process holding its lock (which may be this
 * one, when another port in this process has it open), else the first
 * other process that merely has it open.  The pid and its name, or -1.
 */
static long find_holder(const char *path, char *name, size_t namelen)
{
    struct stat st;
    long pid = -1;

    if (stat(path, &st) == 0)
        pid = find_locker(&st);
    if (pid < 0)
        pid = find_opener(path);
    if (pid > 0)
        process_name(pid, name, namelen);
    return pid;
}

static int err_busy(const char *path, char *err, size_t errlen)
{
    char name[128];
    long pid = find_holder(path, name, sizeof name);

    if (pid > 0)
        return ed_seterr(err, errlen, ED_ERR_BUSY,
                         "port %s is busy: held by %s (pid %ld); stop it "
                         "and try again",
                         path, name, pid);
    return ed_seterr(err, errlen, ED_ERR_BUSY,
                     "port %s is busy: another program holds it (a serial "
                     "monitor?); stop it and try again",
                     path);
}

/* Map an errno from opening path to its sentence. */
static int err_open(const char *path, int e, const char *text, char *err,
                    size_t errlen)
{
    switch (e) {
    case ENOENT:
    case ENODEV:
    case ENXIO:
        return err_not_found(path, err, errlen);
    case EACCES:
    case EPERM:
        return err_permission(path, err, errlen);
    case EBUSY:
        return err_busy(path, err, errlen);
    case ENOTTY:
        /* a tty without line settings: a virtual console, /dev/tty0 */
        return err_not_serial(path,
                              "a terminal without serial line settings", err,
                              errlen);
    default:
        return ed_seterr(err, errlen, ED_ERR_IO, "cannot open %s: %s", path,
                         text);
    }
}

/* ---- termios helpers (pseudo-terminals, and TIOCMSET for both) ---- */

static speed_t speed_const(uint32_t baud)
{
    static const struct {
        uint32_t baud;
        speed_t c;
    } t[] = {
        {9600, B9600},     {19200, B19200},     {38400, B38400},
        {57600, B57600},   {115200, B115200},   {230400, B230400},
        {460800, B460800}, {921600, B921600},   {1000000, B1000000},
        {1500000, B1500000}, {2000000, B2000000}, {3000000, B3000000},
    };
    size_t i;

    for (i = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i].baud == baud)
            return t[i].c;
    return B0;
}

static int tty_configure(int fd, uint32_t baud)
{
    struct termios tio;
    speed_t sp = speed_const(baud);

    if (tcgetattr(fd, &tio) < 0)
        return -1;
    cfmakeraw(&tio);
    tio.c_cflag |= CLOCAL | CREAD;
    tio.c_cflag &= ~(CRTSCTS | CSTOPB | PARENB);
    tio.c_iflag &= ~(IXON | IXOFF | IXANY);
    tio.c_cc[VMIN] = 0;
    tio.c_cc[VTIME] = 0;
    /* A pty has no line speed; an odd rate is recorded, not refused. */
    if (sp != B0)
        cfsetspeed(&tio, sp);
    return tcsetattr(fd, TCSANOW, &tio);
}

/* ---- ops ---- */

static void ser_close(struct port *p)
{
    struct serial_port *s = ser_of(p);

    if (s->sp) {
        sp_close(s->sp);
        sp_free_port(s->sp);
    } else if (s->fd >= 0) {
        close(s->fd);
    }
    free(s);
}

static int ser_gone(struct port *p)
{
    return ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_CLOSED,
                     "%s went away (unplugged, or the board reset its USB?): "
                     "plug it in and try again",
                     ser_of(p)->path);
}

static int ser_read(struct port *p, uint8_t *buf, size_t cap, int timeout_ms)
{
    struct serial_port *s = ser_of(p);
    int64_t deadline = clock_ms() + timeout_ms;
    bool hup = false;
    struct pollfd pfd;
    ssize_t n;
    int rc;

    for (;;) {
        n = read(s->fd, buf, cap);
        if (n > 0)
            return (int)n;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            if (errno == EIO || errno == ENXIO || errno == ENODEV)
                return ser_gone(p);
            return ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_IO,
                             "read from %s: %s", s->path, strerror(errno));
        }
        /*
         * With VMIN = VTIME = 0 a read of 0 means "nothing yet"; only
         * after poll() reported a hang-up does it mean the end.
         */
        if (hup)
            return ser_gone(p);
        pfd.fd = s->fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        rc = poll(&pfd, 1, clock_remaining_ms(deadline));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_IO,
                             "waiting for %s: %s", s->path, strerror(errno));
        if (rc == 0)
            return 0;
        if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))
            hup = true;
    }
}

static int ser_write(struct port *p, const uint8_t *buf, size_t len,
                     int timeout_ms)
{
    struct serial_port *s = ser_of(p);
    int e, rc = port_fd_write_all(s->fd, false, buf, len, timeout_ms, &e);

    if (rc == ED_OK)
        return ED_OK;
    if (rc == ED_ERR_TIMEOUT)
        return ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_TIMEOUT,
                         "%s took no data for %d ms: is flow control "
                         "holding it?",
                         s->path, timeout_ms);
    if (rc == ED_ERR_CLOSED || e == EIO || e == ENXIO || e == ENODEV)
        return ser_gone(p);
    return ed_seterr(p->errmsg, sizeof p->errmsg, rc, "write to %s: %s",
                     s->path, e ? strerror(e) : ed_strerror(rc));
}

static int ser_set_baud(struct port *p, uint32_t baud)
{
    struct serial_port *s = ser_of(p);
    char text[256];

    if (s->sp) {
        if (sp_set_baudrate(s->sp, (int)baud) != SP_OK) {
            sp_errtext(text, sizeof text);
            return ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_UNSUPPORTED,
                             "%s cannot run at %u baud: %s: pick a "
                             "standard rate such as 460800",
                             s->path, (unsigned)baud, text);
        }
    } else if (tty_configure(s->fd, baud) < 0) {
        return ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_IO,
                         "set %u baud on %s: %s", (unsigned)baud, s->path,
                         strerror(errno));
    }
    p->baud = baud;
    return ED_OK;
}

static int ser_set_lines(struct port *p, int dtr, int rts)
{
    struct serial_port *s = ser_of(p);
    char text[256];
    int bits;

    if (!p->has_lines)
        return ED_OK; /* a pseudo-terminal has none */
    if (dtr >= 0 && rts >= 0) {
        /* Both in one ioctl: esptool's unix-tight reset relies on it. */
        if (ioctl(s->fd, TIOCMGET, &bits) == 0) {
            bits = dtr ? bits | TIOCM_DTR : bits & ~TIOCM_DTR;
            bits = rts ? bits | TIOCM_RTS : bits & ~TIOCM_RTS;
            if (ioctl(s->fd, TIOCMSET, &bits) == 0)
                return ED_OK;
        }
        return ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_IO,
                         "set DTR/RTS on %s: %s", s->path, strerror(errno));
    }
    if (dtr >= 0 && sp_set_dtr(s->sp, dtr ? SP_DTR_ON : SP_DTR_OFF) != SP_OK)
        goto fail;
    if (rts >= 0 && sp_set_rts(s->sp, rts ? SP_RTS_ON : SP_RTS_OFF) != SP_OK)
        goto fail;
    return ED_OK;
fail:
    sp_errtext(text, sizeof text);
    return ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_IO,
                     "set %s on %s: %s", dtr >= 0 ? "DTR" : "RTS", s->path,
                     text);
}

static int ser_flush_input(struct port *p)
{
    struct serial_port *s = ser_of(p);
    char text[256];

    if (s->sp) {
        if (sp_flush(s->sp, SP_BUF_INPUT) != SP_OK) {
            sp_errtext(text, sizeof text);
            return ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_IO,
                             "flush %s: %s", s->path, text);
        }
    } else if (tcflush(s->fd, TCIFLUSH) < 0) {
        return ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_IO,
                         "flush %s: %s", s->path, strerror(errno));
    }
    return ED_OK;
}

static int ser_drain(struct port *p, int timeout_ms)
{
    struct serial_port *s = ser_of(p);
    int64_t deadline = clock_ms() + timeout_ms;
    int queued;

    /* sp_drain() has no timeout: watch the output queue instead. */
    for (;;) {
        if (ioctl(s->fd, TIOCOUTQ, &queued) < 0 || queued <= 0)
            return ED_OK;
        if (clock_remaining_ms(deadline) == 0)
            return ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_TIMEOUT,
                             "%s still has %d bytes to send after %d ms",
                             s->path, queued, timeout_ms);
        clock_sleep_ms(1);
    }
}

static const struct port_ops serial_ops = {
    .close = ser_close,
    .read = ser_read,
    .write = ser_write,
    .set_baud = ser_set_baud,
    .set_lines = ser_set_lines,
    .flush_input = ser_flush_input,
    .drain = ser_drain,
};

/* Open through libserialport; ED_OK, or an error sentence. */
static int open_sp(struct serial_port *s, uint32_t baud, char *err,
                   size_t errlen)
{
    char text[256];
    int e, vid = 0, pid = 0;
    const char *desc;

    if (sp_open(s->sp, SP_MODE_READ_WRITE) != SP_OK) {
        e = errno;
        sp_errtext(text, sizeof text);
        sp_free_port(s->sp);
        s->sp = NULL;
        return err_open(s->path, e, text, err, errlen);
    }
    if (sp_get_port_handle(s->sp, &s->fd) != SP_OK)
        return ed_seterr(err, errlen, ED_ERR_IO, "no handle for %s", s->path);
    if (flock(s->fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK)
        return ED_ERR_BUSY;
    if (sp_set_baudrate(s->sp, (int)baud) != SP_OK ||
        sp_set_bits(s->sp, 8) != SP_OK ||
        sp_set_parity(s->sp, SP_PARITY_NONE) != SP_OK ||
        sp_set_stopbits(s->sp, 1) != SP_OK ||
        sp_set_flowcontrol(s->sp, SP_FLOWCONTROL_NONE) != SP_OK) {
        sp_errtext(text, sizeof text);
        return ed_seterr(err, errlen, ED_ERR_IO,
                         "cannot set %s to %u baud 8N1: %s", s->path,
                         (unsigned)baud, text);
    }
    s->base.has_lines = true;
    s->base.usb = sp_get_port_transport(s->sp) == SP_TRANSPORT_USB;
    if (s->base.usb &&
        sp_get_port_usb_vid_pid(s->sp, &vid, &pid) == SP_OK) {
        s->base.usb_vid = (uint16_t)vid;
        s->base.usb_pid = (uint16_t)pid;
        s->base.usb_jtag = vid == 0x303A && pid == 0x1001;
        desc = sp_get_port_usb_serial(s->sp);
        if (desc)
            snprintf(s->base.usb_serial, sizeof s->base.usb_serial, "%s",
                     desc);
    }
    desc = sp_get_port_description(s->sp);
    if (desc)
        snprintf(s->base.description, sizeof s->base.description, "%s",
                 desc);
    return ED_OK;
}

/* Open a pseudo-terminal (or other tty libserialport refuses). */
static int open_tty(struct serial_port *s, uint32_t baud, char *err,
                    size_t errlen)
{
    s->fd = open(s->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (s->fd < 0)
        return err_open(s->path, errno, strerror(errno), err, errlen);
    if (!isatty(s->fd))
        return err_not_serial(s->path, "not a terminal device", err, errlen);
    if (flock(s->fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK)
        return ED_ERR_BUSY;
    if (tty_configure(s->fd, baud) < 0)
        return ed_seterr(err, errlen, ED_ERR_IO, "cannot configure %s: %s",
                         s->path, strerror(errno));
    s->base.has_lines = false;
    snprintf(s->base.description, sizeof s->base.description,
             "pseudo-terminal");
    return ED_OK;
}

int port_serial_open(struct port **out, const char *path, uint32_t baud,
                     char *err, size_t errlen)
{
    struct serial_port *s = NULL;
    struct stat st;
    int rc;

    *out = NULL;
    pthread_once(&quiet_once, quiet_libserialport);
    if (stat(path, &st) < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return err_not_found(path, err, errlen);
        if (errno == EACCES)
            return err_permission(path, err, errlen);
        return ed_seterr(err, errlen, ED_ERR_IO, "cannot open %s: %s", path,
                         strerror(errno));
    }
    if (S_ISDIR(st.st_mode))
        return err_not_serial(path, "a directory", err, errlen);
    if (!S_ISCHR(st.st_mode))
        return err_not_serial(path,
                              S_ISREG(st.st_mode) ? "a regular file"
                                                  : "not a device",
                              err, errlen);
    if (access(path, R_OK | W_OK) < 0 && errno == EACCES)
        return err_permission(path, err, errlen);

    s = calloc(1, sizeof *s);
    if (!s)
        return ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory");
    s->fd = -1;
    s->base.ops = &serial_ops;
    s->base.kind = PORT_SERIAL;
    s->base.baud = baud;
    snprintf(s->path, sizeof s->path, "%s", path);

    if (sp_get_port_by_name(path, &s->sp) == SP_OK)
        rc = open_sp(s, baud, err, errlen);
    else
        rc = open_tty(s, baud, err, errlen);
    if (rc != ED_OK)
        goto out;
    /* Start from a known state: both lines released (the board runs). */
    if (s->base.has_lines && ser_set_lines(&s->base, 0, 0) != ED_OK) {
        rc = ed_seterr(err, errlen, ED_ERR_IO, "%s", s->base.errmsg);
        goto out;
    }
    s->base.dtr = 0;
    s->base.rts = 0;
    *out = &s->base;
    return ED_OK;
out:
    /* Close our descriptor before looking for who else holds the port. */
    ser_close(&s->base);
    if (rc == ED_ERR_BUSY)
        rc = err_busy(path, err, errlen);
    return rc;
}

/* ---- enumeration ---- */

/*
 * The USB physical path ("1-1.4": bus 1, root port 1, hub port 4) of a tty,
 * from sysfs: /sys/class/tty/NAME/device resolves to
 * .../usb1/1-1/1-1.4/1-1.4:1.0[/ttyUSB0]; the last component of the form
 * BUS-PORT[.PORT...] is the device.  libserialport reports the bus and the
 * address, but the address changes at every re-enumeration; the path names
 * the hub port and stays.  "" when not a USB tty (or not Linux).
 */
static void usb_path_of(const char *devname, char *out, size_t len)
{
    char link[300], real[PATH_MAX], *tok, *save = NULL;
    const char *base = strrchr(devname, '/');

    out[0] = '\0';
    snprintf(link, sizeof link, "/sys/class/tty/%s/device",
             base ? base + 1 : devname);
    if (!realpath(link, real))
        return;
    for (tok = strtok_r(real, "/", &save); tok;
         tok = strtok_r(NULL, "/", &save)) {
        size_t n = strspn(tok, "0123456789");

        if (n && tok[n] == '-' && tok[n + 1] &&
            strspn(tok + n + 1, "0123456789.") == strlen(tok + n + 1))
            snprintf(out, len, "%s", tok);
    }
}

int port_usb_resolve(char *out, size_t outlen, const char *ident,
                     char *err, size_t errlen)
{
    struct port_info *list = NULL;
    const char *want;
    bool by_path;
    int n, i, found = 0;

    if (!strncmp(ident, "usb-path:", 9)) {
        by_path = true;
        want = ident + 9;
    } else if (!strncmp(ident, "usb-serial:", 11)) {
        by_path = false;
        want = ident + 11;
    } else {
        return ed_seterr(err, errlen, ED_ERR_ARG, "'%s' is not a USB "
                         "identity: use usb-path:1-1.4 or usb-serial:SERIAL",
                         ident);
    }
    n = port_list(&list, err, errlen);
    if (n < 0)
        return n;
    for (i = 0; i < n; i++)
        if (list[i].usb &&
            !strcmp(by_path ? list[i].usb_path : list[i].serial, want)) {
            if (!found++)
                snprintf(out, outlen, "%s", list[i].name);
        }
    free(list);
    if (found == 1)
        return ED_OK;
    if (found > 1)
        return ed_seterr(err, errlen, ED_ERR_BUSY,
                         "%d serial ports have the USB serial number %s "
                         "(adapters without their own serial number): name "
                         "the slot by usb-path instead (espdeck ports shows "
                         "it)", found, want);
    return ed_seterr(err, errlen, ED_ERR_NOT_FOUND,
                     "no serial port at %s: plug the adapter in (espdeck "
                     "ports lists what is there)", ident);
}

/* ttyUSB2 before ttyUSB10 */
static int info_cmp(const void *a, const void *b)
{
    return strverscmp(((const struct port_info *)a)->name,
                      ((const struct port_info *)b)->name);
}

/*
 * Test hook: with ESPDECK_TEST_PORTS=FILE the machine's ports are the lines
 * of FILE, "NODE VID:PID SERIAL USB_PATH" ("-" for an empty field), read at
 * every call, so a test can move a "USB device" to another node (a pty) the
 * way a re-enumerated board moves.
 */
static int list_fake(struct port_info **out, const char *file, char *err,
                     size_t errlen)
{
    struct port_info *info = NULL;
    char line[512];
    int n = 0;
    FILE *f = fopen(file, "r");

    if (!f)
        return ed_seterr(err, errlen, ED_ERR_IO, "cannot read %s: %s", file,
                         strerror(errno));
    while (fgets(line, sizeof line, f)) {
        struct port_info *pi, *ni;
        char node[128], serial[64], path[32];
        unsigned vid, pid;

        if (sscanf(line, "%127s %x:%x %63s %31s", node, &vid, &pid, serial,
                   path) != 5)
            continue;
        ni = realloc(info, ((size_t)n + 1) * sizeof *info);
        if (!ni)
            break;
        info = ni;
        pi = &info[n++];
        memset(pi, 0, sizeof *pi);
        snprintf(pi->name, sizeof pi->name, "%s", node);
        pi->usb = true;
        pi->vid = (uint16_t)vid;
        pi->pid = (uint16_t)pid;
        pi->bridge = port_bridge_name(pi->vid, pi->pid);
        snprintf(pi->serial, sizeof pi->serial, "%s",
                 strcmp(serial, "-") ? serial : "");
        snprintf(pi->usb_path, sizeof pi->usb_path, "%s",
                 strcmp(path, "-") ? path : "");
    }
    fclose(f);
    *out = info;
    return n;
}

int port_usb_identity(char *out, size_t outlen, const char *node)
{
    struct port_info *list = NULL;
    char err[ED_ERRMSG_MAX], want[PATH_MAX], real[PATH_MAX];
    int n, i, rc = ED_ERR_NOT_FOUND;

    if (!strncmp(node, "usb-path:", 9) || !strncmp(node, "usb-serial:", 11)) {
        snprintf(out, outlen, "%s", node);
        return ED_OK;
    }
    if (!realpath(node, want))
        snprintf(want, sizeof want, "%s", node);
    n = port_list(&list, err, sizeof err);
    for (i = 0; i < n; i++) {
        const struct port_info *pi = &list[i];

        if (!pi->usb || (strcmp(pi->name, node) &&
                         (!realpath(pi->name, real) || strcmp(real, want))))
            continue;
        if (pi->serial[0]) {
            snprintf(out, outlen, "usb-serial:%s", pi->serial);
            rc = ED_OK;
        } else if (pi->usb_path[0]) {
            snprintf(out, outlen, "usb-path:%s", pi->usb_path);
            rc = ED_OK;
        }
        break;
    }
    free(list);
    return rc;
}

int port_list(struct port_info **out, char *err, size_t errlen)
{
    struct sp_port **list = NULL;
    struct port_info *info = NULL;
    const char *fake = getenv("ESPDECK_TEST_PORTS");
    char text[256];
    int n = 0, i;

    *out = NULL;
    if (fake && *fake)
        return list_fake(out, fake, err, errlen);
    pthread_once(&quiet_once, quiet_libserialport);
    if (sp_list_ports(&list) != SP_OK) {
        sp_errtext(text, sizeof text);
        return ed_seterr(err, errlen, ED_ERR_IO,
                         "cannot list serial ports: %s", text);
    }
    while (list[n])
        n++;
    info = calloc((size_t)n + 1, sizeof *info);
    if (!info) {
        sp_free_port_list(list);
        return ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory");
    }
    for (i = 0; i < n; i++) {
        struct port_info *pi = &info[i];
        const char *s;
        int vid, pid;

        snprintf(pi->name, sizeof pi->name, "%s", sp_get_port_name(list[i]));
        s = sp_get_port_description(list[i]);
        snprintf(pi->description, sizeof pi->description, "%s", s ? s : "");
        if (sp_get_port_transport(list[i]) != SP_TRANSPORT_USB)
            continue;
        pi->usb = true;
        if (sp_get_port_usb_vid_pid(list[i], &vid, &pid) == SP_OK) {
            pi->vid = (uint16_t)vid;
            pi->pid = (uint16_t)pid;
            pi->bridge = port_bridge_name(pi->vid, pi->pid);
        }
        s = sp_get_port_usb_serial(list[i]);
        snprintf(pi->serial, sizeof pi->serial, "%s", s ? s : "");
        usb_path_of(pi->name, pi->usb_path, sizeof pi->usb_path);
        s = sp_get_port_usb_manufacturer(list[i]);
        snprintf(pi->manufacturer, sizeof pi->manufacturer, "%s", s ? s : "");
        s = sp_get_port_usb_product(list[i]);
        if (s && *s && !pi->description[0])
            snprintf(pi->description, sizeof pi->description, "%s", s);
    }
    sp_free_port_list(list);
    qsort(info, (size_t)n, sizeof *info, info_cmp);
    *out = info;
    return n;
}
