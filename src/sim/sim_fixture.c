/*
 * sim_fixture.c - a simulated board served on loopback by its own thread.
 */
#include "sim/sim_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "sim/sim.h"
#include "sim/sim_server.h"

struct sim_fixture {
    struct sim *sim;
    struct sim_server *srv;
    pthread_t thread;
    bool running;
    int stop[2];            /* write a byte to stop the server */
    int ctl[2];             /* command lines for the server */
    char url[300];
    atomic_bool gone;       /* sim_port_gone(), as of the last turn */
    atomic_uint vanished;   /* times the port went away */
};

/* Server thread: publish what other threads may ask. */
static void tick(void *ctx, struct sim *sim, int64_t now_us)
{
    struct sim_fixture *f = ctx;

    bool gone = sim_port_gone(sim, now_us);

    if (gone && !atomic_load(&f->gone))
        atomic_fetch_add(&f->vanished, 1);
    atomic_store(&f->gone, gone);
}

unsigned sim_fixture_vanished(struct sim_fixture *f)
{
    return atomic_load(&f->vanished);
}

bool sim_fixture_port_gone(struct sim_fixture *f)
{
    return atomic_load(&f->gone);
}

static void *serve(void *arg)
{
    struct sim_fixture *f = arg;
    char err[ED_ERRMSG_MAX];

    sim_server_run(f->srv, f->stop[0], err, sizeof err);
    return NULL;
}

bool sim_fixture_wanted(const char *url)
{
    const char *q;

    if (!url || strncmp(url, "sim:", 4))
        return false;
    q = strchr(url, '?');
    return q && (strstr(q, "?units=") || strstr(q, "&units="));
}

int sim_fixture_new(struct sim_fixture **out, const char *spec,
                    const struct log_sink *log, char *err, size_t errlen)
{
    struct sim_fixture *f;
    struct sim_config cfg;
    struct sim_server_config scfg;
    char *buf = NULL;
    int rc;

    *out = NULL;
    f = calloc(1, sizeof *f);
    if (!f)
        return ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory");
    f->stop[0] = f->stop[1] = f->ctl[0] = f->ctl[1] = -1;
    buf = strdup(!strncmp(spec, "sim:", 4) ? spec + 4 : spec);
    if (!buf) {
        rc = ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory");
        goto fail;
    }
    memset(&cfg, 0, sizeof cfg);
    rc = sim_server_parse_spec(buf, &cfg, err, errlen);
    if (rc != ED_OK)
        goto fail;
    if (log)
        cfg.log = *log;
    rc = sim_new(&f->sim, &cfg, err, errlen);
    if (rc != ED_OK)
        goto fail;
    if (pipe2(f->stop, O_CLOEXEC) != 0 ||
        pipe2(f->ctl, O_CLOEXEC | O_NONBLOCK) != 0) {
        rc = ed_seterr(err, errlen, ED_ERR_IO, "pipe: %s", strerror(errno));
        goto fail;
    }
    memset(&scfg, 0, sizeof scfg);
    scfg.listen = "rfc2217://127.0.0.1:0";
    if (log)
        scfg.log = *log;
    scfg.control = true;
    scfg.control_fd = f->ctl[0];
    scfg.tick = tick;
    scfg.tick_ctx = f;
    rc = sim_server_new(&f->srv, f->sim, &scfg, err, errlen);
    if (rc != ED_OK)
        goto fail;
    snprintf(f->url, sizeof f->url, "%s", sim_server_url(f->srv));
    if (pthread_create(&f->thread, NULL, serve, f) != 0) {
        rc = ed_seterr(err, errlen, ED_ERR_IO,
                       "could not start the simulator thread");
        goto fail;
    }
    f->running = true;
    free(buf);
    *out = f;
    return ED_OK;
fail:
    free(buf);
    sim_fixture_free(f);
    return rc;
}

const char *sim_fixture_url(const struct sim_fixture *f)
{
    return f->url;
}

int sim_fixture_command(struct sim_fixture *f, const char *line)
{
    char buf[256];
    int n = snprintf(buf, sizeof buf, "%s\n", line);

    if (n <= 0 || (size_t)n >= sizeof buf)
        return ED_ERR_ARG;
    return write(f->ctl[1], buf, (size_t)n) == n ? ED_OK : ED_ERR_IO;
}

void sim_fixture_free(struct sim_fixture *f)
{
    int i;

    if (!f)
        return;
    if (f->running) {
        (void)!write(f->stop[1], "x", 1);
        pthread_join(f->thread, NULL);
    }
    sim_server_free(f->srv);
    sim_free(f->sim);
    for (i = 0; i < 2; i++) {
        if (f->stop[i] >= 0)
            close(f->stop[i]);
        if (f->ctl[i] >= 0)
            close(f->ctl[i]);
    }
    free(f);
}
