/*
 * cmd_ports.c - `espdeck ports [--json]`: the local serial ports, with the
 * known ESP USB bridges marked, and the built-in simulated boards.
 *
 * Human output is a table (port, VID:PID, USB path, serial, description,
 * bridge); --json prints one array of objects on one line of stdout and nothing
 * else (unformatted, like every other --json output).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chip.h"
#include "cmd.h"
#include "port.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: espdeck ports [--json]\n"
               "  lists local serial ports; known ESP USB bridges are "
               "marked\n");
}

static int print_json(const struct port_info *ports, int n)
{
    cJSON *arr = cJSON_CreateArray();
    char *text;
    char hex[8];
    int i;

    if (!arr)
        return EXIT_INTERNAL;
    for (i = 0; i < n; i++) {
        const struct port_info *pi = &ports[i];
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddStringToObject(o, "name", pi->name);
        cJSON_AddBoolToObject(o, "usb", pi->usb);
        if (pi->usb) {
            snprintf(hex, sizeof hex, "%04x", pi->vid);
            cJSON_AddStringToObject(o, "vid", hex);
            snprintf(hex, sizeof hex, "%04x", pi->pid);
            cJSON_AddStringToObject(o, "pid", hex);
        } else {
            cJSON_AddNullToObject(o, "vid");
            cJSON_AddNullToObject(o, "pid");
        }
        cJSON_AddStringToObject(o, "serial", pi->serial);
        cJSON_AddStringToObject(o, "usb_path", pi->usb_path);
        cJSON_AddStringToObject(o, "manufacturer", pi->manufacturer);
        cJSON_AddStringToObject(o, "description", pi->description);
        if (pi->bridge)
            cJSON_AddStringToObject(o, "bridge", pi->bridge);
        else
            cJSON_AddNullToObject(o, "bridge");
        cJSON_AddBoolToObject(o, "usb_serial_jtag",
                              pi->vid == 0x303A && pi->pid == 0x1001);
        cJSON_AddItemToArray(arr, o);
    }
    text = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    if (!text)
        return EXIT_INTERNAL;
    printf("%s\n", text);
    free(text);
    return EXIT_OK_;
}

static int col(int cur, const char *s)
{
    int n = (int)strlen(s);
    return n > cur ? n : cur;
}

static void print_sim_line(void)
{
    int i, used;

    used = printf("\nsimulated boards (use as --port):") - 1;
    for (i = 0; i < CHIP_COUNT; i++) {
        const struct chip_desc *c = chip_get((enum chip_id)i);
        int w;
        if (!c)
            continue;
        w = (int)strlen(c->name) + 5;
        if (used + w > 78) {
            printf("\n ");
            used = 1;
        }
        used += printf(" sim:%s", c->name);
    }
    printf("\n");
}

static int print_table(const struct port_info *ports, int n)
{
    int w_name = 4, w_id = 7, w_path = 8, w_serial = 6, w_desc = 11, i;
    char id[16];

    if (n == 0) {
        printf("no serial ports found: plug in a board (a data cable, not a "
               "charge-only one), or check dmesg for its driver\n");
        print_sim_line();
        return EXIT_OK_;
    }
    for (i = 0; i < n; i++) {
        w_name = col(w_name, ports[i].name);
        w_serial = col(w_serial, ports[i].serial);
        w_path = col(w_path, ports[i].usb_path);
        w_desc = col(w_desc, ports[i].description);
    }
    if (w_desc > 44)
        w_desc = 44;
    if (w_serial > 24)
        w_serial = 24;
    printf("%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", w_name, "PORT", w_id,
           "VID:PID", w_path, "USB PATH", w_serial, "SERIAL", w_desc,
           "DESCRIPTION", "BRIDGE");
    for (i = 0; i < n; i++) {
        const struct port_info *pi = &ports[i];
        if (pi->usb)
            snprintf(id, sizeof id, "%04x:%04x", pi->vid, pi->pid);
        else
            snprintf(id, sizeof id, "-");
        printf("%-*s  %-*s  %-*s  %-*.*s  %-*.*s  %s\n", w_name, pi->name,
               w_id, id, w_path, pi->usb_path[0] ? pi->usb_path : "-",
               w_serial, w_serial, pi->serial[0] ? pi->serial : "-", w_desc,
               w_desc, pi->description[0] ? pi->description : "-",
               pi->bridge ? pi->bridge : "-");
    }
    print_sim_line();
    return EXIT_OK_;
}

int cmd_ports(int argc, char **argv)
{
    struct port_info *ports = NULL;
    char err[512];
    int json = 0, n, i, rc;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return EXIT_OK_;
        } else {
            fprintf(stderr, "espdeck ports: unknown argument '%s'\n",
                    argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    n = port_list(&ports, err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "espdeck: %s\n", err);
        return EXIT_INTERNAL;
    }
    rc = json ? print_json(ports, n) : print_table(ports, n);
    free(ports);
    return rc;
}
