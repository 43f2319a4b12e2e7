/* placeholder: replaced by the module's owner */
#include <stdio.h>

#include "cmd.h"

int cmd_info(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "espdeck: 'info' is not built yet\n");
    return EXIT_INTERNAL;
}
