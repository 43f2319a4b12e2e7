/*
 * port_sim.c - the in-process simulated board ("sim:CHIP").  Placeholder
 * until the real backend lands: opening fails with one sentence.
 */
#include "port_internal.h"

int port_sim_open(struct port **out, const char *spec, uint32_t baud,
                  char *err, size_t errlen)
{
    (void)baud;
    *out = NULL;
    return ed_seterr(err, errlen, ED_ERR_UNSUPPORTED,
                     "sim:%s is not available yet in this build", spec);
}
