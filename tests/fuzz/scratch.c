/* scratch.c - see scratch.h. */
#include "scratch.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static void rm_dir(void)
{
    char cmd[96];
    if (dir[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            return;
    }
}

const char *fuzz_dir(void)
{
    if (!dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/espdeck-fuzz.XXXXXX",
                 t && strlen(t) < 32 ? t : "/tmp");
        if (!mkdtemp(dir))
            abort();
        atexit(rm_dir);
    }
    return dir;
}

void fuzz_write(char *out, size_t cap, const char *name, const void *data,
                size_t len)
{
    char *slash;
    int fd;

    snprintf(out, cap, "%s/%s", fuzz_dir(), name);
    for (slash = strchr(out + strlen(fuzz_dir()) + 1, '/'); slash;
         slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(out, 0700); /* made as needed */
        *slash = '/';
    }
    fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        abort();
    if (len && write(fd, data, len) != (ssize_t)len)
        abort();
    close(fd);
}
