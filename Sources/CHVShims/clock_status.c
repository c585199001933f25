#include <errno.h>
#include <string.h>
#include <sys/timex.h>

#include "hv_clock.h"

hv_clock_status hv_read_clock_status(void) {
    struct timex tx;
    memset(&tx, 0, sizeof tx);
    tx.modes = 0;
    hv_clock_status result;
    memset(&result, 0, sizeof result);
    result.state = ntp_adjtime(&tx);
    if (result.state < 0) {
        result.error = errno;
        return result;
    }
    result.status = tx.status;
    result.unsynchronized = (tx.status & STA_UNSYNC) != 0;
    result.estimated_error_us = tx.esterror;
    result.maximum_error_us = tx.maxerror;
    return result;
}

int hv_clock_time_error(void) {
    return TIME_ERROR;
}
