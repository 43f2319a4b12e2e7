/* profile.c - placeholder until the parser lands (see profile.h). */
#include "profile.h"

#include <stdlib.h>

#include "engine.h"
#include "err.h"

int profile_load(struct profile **out, const char *path, char *err,
                 size_t errlen)
{
    *out = NULL;
    return ed_seterr(err, errlen, ED_ERR_UNSUPPORTED,
                     "%s: profiles are not supported yet", path);
}

void profile_free(struct profile *p)
{
    (void)p;
}

int profile_to_job(const struct profile *p, const char *port_override,
                   struct engine_job *job, char *err, size_t errlen)
{
    return ed_seterr(err, errlen, ED_ERR_UNSUPPORTED,
                     "profiles are not supported yet");
}
