#ifndef HV_CLOCK_H
#define HV_CLOCK_H

/// The kernel's clock discipline state, read with ntp_adjtime(2) in read-only mode (modes 0),
/// which glibc declares in <sys/timex.h>, a header Swift's Glibc module does not include.
typedef struct hv_clock_status {
    /// ntp_adjtime's return value: TIME_OK (0) … TIME_ERROR (5); -1 when the call failed.
    int state;
    /// The STA_* status bits.
    int status;
    /// Whether STA_UNSYNC is set: no time source disciplines the clock.
    int unsynchronized;
    /// Estimated and maximum error, in microseconds.
    long estimated_error_us;
    long maximum_error_us;
    /// errno when the call failed, else 0.
    int error;
} hv_clock_status;

/// Reads the clock's synchronization state; changes nothing.
hv_clock_status hv_read_clock_status(void);

/// TIME_ERROR, for callers that compare `state` against it.
int hv_clock_time_error(void);

#endif
