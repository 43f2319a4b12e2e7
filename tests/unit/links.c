/*
 * Unit tests for src/flash/links.c: the remembered state of links, in a
 * temporary XDG_STATE_HOME.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "links.h"
#include "port.h"
#include "test.h"

static void state_here(void)
{
    setenv("XDG_STATE_HOME", t_tmpdir(), 1);
}

void test_links__port_round_trip(void)
{
    struct links_port lp = {.stub = true, .baud = 921600}, got;

    state_here();
    T_EQ_INT(links_port_get("socket://h:1", &got), ED_ERR_NOT_FOUND);
    T_ASSERT(!got.stub && got.baud == 0);
    T_EQ_INT(links_port_put("socket://h:1", &lp), ED_OK);
    lp.stub = false;
    lp.baud = 115200;
    T_EQ_INT(links_port_put("rfc2217://h:2", &lp), ED_OK);
    T_EQ_INT(links_port_get("socket://h:1", &got), ED_OK);
    T_ASSERT(got.stub);
    T_EQ_INT(got.baud, 921600);
    T_EQ_INT(links_port_get("rfc2217://h:2", &got), ED_OK);
    T_ASSERT(!got.stub);
    /* adapters are kept apart from ports */
    T_EQ_INT(links_adapter_baud("socket://h:1"), 0);
    T_EQ_INT(links_adapter_put("usb:10c4:ea60:0001", 2000000), ED_OK);
    T_EQ_INT(links_adapter_baud("usb:10c4:ea60:0001"), 2000000);
    T_EQ_INT(links_port_get("socket://h:1", &got), ED_OK);
    T_EQ_INT(got.baud, 921600);
}

void test_links__unreadable_file_is_empty(void)
{
    char path[600];
    struct links_port lp = {.stub = true, .baud = 460800}, got;
    int fd;

    state_here();
    T_EQ_INT(links_path(path, sizeof path), ED_OK);
    T_EQ_INT(links_port_put("a", &lp), ED_OK);
    fd = open(path, O_WRONLY | O_TRUNC);
    T_ASSERT(fd >= 0);
    T_ASSERT(write(fd, "{\"ports\": [tru", 14) == 14);
    close(fd);
    T_EQ_INT(links_port_get("a", &got), ED_ERR_NOT_FOUND);
    /* and it is written anew */
    T_EQ_INT(links_port_put("b", &lp), ED_OK);
    T_EQ_INT(links_port_get("b", &got), ED_OK);
    T_EQ_INT(got.baud, 460800);
}

static void *writer(void *arg)
{
    char key[32];
    struct links_port lp = {.stub = true};
    int i, id = (int)(long)arg;

    for (i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "port-%d-%d", id, i);
        lp.baud = (uint32_t)(id * 1000 + i);
        links_port_put(key, &lp);
    }
    return NULL;
}

void test_links__boards_side_by_side_lose_nothing(void)
{
    pthread_t th[4];
    struct links_port got;
    char key[32];
    long t;
    int i;

    state_here();
    for (t = 0; t < 4; t++)
        T_ASSERT(pthread_create(&th[t], NULL, writer, (void *)t) == 0);
    for (t = 0; t < 4; t++)
        pthread_join(th[t], NULL);
    for (t = 0; t < 4; t++)
        for (i = 0; i < 20; i++) {
            snprintf(key, sizeof key, "port-%ld-%d", t, i);
            T_EQ_INT(links_port_get(key, &got), ED_OK);
            T_EQ_INT(got.baud, t * 1000 + i);
        }
}

/* Which ports take --baud auto when nothing names a baud. */
void test_links__auto_by_default(void)
{
    struct port p;

    memset(&p, 0, sizeof p);
    p.kind = PORT_SERIAL; /* /dev/ttyS0: not USB */
    T_ASSERT(!links_auto_by_default(&p));
    p.usb = true;         /* /dev/ttyUSB0, a CP2102N */
    p.usb_vid = 0x10C4;
    p.usb_pid = 0xEA60;
    T_ASSERT(links_auto_by_default(&p));
    p.usb_vid = 0x303A;   /* USB-Serial/JTAG: auto, which keeps the baud */
    p.usb_pid = 0x1001;
    p.usb_jtag = true;
    T_ASSERT(links_auto_by_default(&p));
    memset(&p, 0, sizeof p);
    p.kind = PORT_RFC2217;
    T_ASSERT(links_auto_by_default(&p));
    p.kind = PORT_SOCKET;
    T_ASSERT(!links_auto_by_default(&p));
    p.kind = PORT_SIM;    /* no adapter */
    T_ASSERT(!links_auto_by_default(&p));
    p.usb = true;         /* adapter=cp2102n */
    T_ASSERT(links_auto_by_default(&p));
}
