/*
 * test.c - runner for the unit tests (main() is generated into
 * build/gen/unit_main.c and calls t_main with the table of tests).
 */
#include "test.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct t_case {
    const char *name;
    void (*fn)(void);
};

int t_main(const struct t_case *cases, int n, int argc, char **argv);

static int failed;
static int skipped;
static char tmpdir[256];

void t_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    failed = 1;
}

void t_skip(const char *why)
{
    fprintf(stderr, "    skipped: %s\n", why);
    skipped = 1;
}

int t_failed(void)
{
    return failed;
}

const char *t_shared_dir(void)
{
    static char path[512];
    const char *env = getenv("ESPDECK_SHARED");
    struct stat st;

    if (env && *env)
        snprintf(path, sizeof path, "%s", env);
    else
        snprintf(path, sizeof path, "../shared");
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return path;
    return NULL;
}

const char *t_tmpdir(void)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "%s/espdeck-test-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(tmpdir))
            tmpdir[0] = 0;
    }
    return tmpdir;
}

uint8_t *t_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        if (buf) {
            buf[n] = 0;
            *len = (size_t)n;
        }
    }
    fclose(f);
    return buf;
}

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char sub[1024];

    if (!d) {
        unlink(path);
        return;
    }
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        rm_rf(sub);
    }
    closedir(d);
    rmdir(path);
}

/* Exit codes of a child: 0 pass, 1 fail, 77 skip. */
static int run_one(const struct t_case *c)
{
    pid_t pid;
    int status;

    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        alarm(300);
        c->fn();
        if (tmpdir[0])
            rm_rf(tmpdir);
        fflush(NULL);
        _exit(failed ? 1 : skipped ? 77 : 0);
    }
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return 1;
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "    killed by signal %d%s\n", WTERMSIG(status),
                WTERMSIG(status) == SIGALRM ? " (hung for 300 s)" : "");
        return 1;
    }
    return WEXITSTATUS(status);
}

int t_main(const struct t_case *cases, int n, int argc, char **argv)
{
    int pass = 0, fail = 0, skip = 0, i, j;

    signal(SIGPIPE, SIG_IGN);
    for (i = 0; i < n; i++) {
        const char *name = cases[i].name + 5; /* after "test_" */
        int want = argc <= 1;
        for (j = 1; j < argc; j++)
            if (!strncmp(name, argv[j], strlen(argv[j])))
                want = 1;
        if (!want)
            continue;
        switch (run_one(&cases[i])) {
        case 0:
            printf("ok - unit %s\n", name);
            pass++;
            break;
        case 77:
            printf("skip - unit %s\n", name);
            skip++;
            break;
        default:
            printf("not ok - unit %s\n", name);
            fail++;
            break;
        }
        fflush(stdout);
    }
    fprintf(stderr, "unit: %d passed, %d failed, %d skipped\n", pass, fail, skip);
    return fail ? 1 : 0;
}
