/* placeholder: replaced by the module's owner */
#include <stdio.h>

#include "cmd.h"

int cmd_flash(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "espdeck: 'flash' is not built yet\n");
    return EXIT_INTERNAL;
}
