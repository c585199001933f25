import CHVShims
import Foundation
import HVProtocol

/// The kernel's view of clock synchronization, as `ntp_adjtime` (modes 0) reports it.
public struct ClockReading: Sendable, Hashable {
    /// No time source disciplines the clock (STA_UNSYNC), or the kernel reports TIME_ERROR.
    public var unsynchronized: Bool
    public var estimatedErrorMicroseconds: Int
    public var maximumErrorMicroseconds: Int
    /// Why the clock could not be read; nil when it was.
    public var failure: String?

    public init(unsynchronized: Bool, estimatedErrorMicroseconds: Int, maximumErrorMicroseconds: Int, failure: String? = nil) {
        self.unsynchronized = unsynchronized
        self.estimatedErrorMicroseconds = estimatedErrorMicroseconds
        self.maximumErrorMicroseconds = maximumErrorMicroseconds
        self.failure = failure
    }

    /// Reads the kernel's clock state; changes nothing.
    public static func read() -> ClockReading {
        let status = hv_read_clock_status()
        guard status.state >= 0 else {
            return ClockReading(
                unsynchronized: true, estimatedErrorMicroseconds: 0, maximumErrorMicroseconds: 0,
                failure: "ntp_adjtime failed: \(String(cString: strerror(status.error)))"
            )
        }
        return ClockReading(
            unsynchronized: status.unsynchronized != 0 || status.state == hv_clock_time_error(),
            estimatedErrorMicroseconds: status.estimated_error_us, maximumErrorMicroseconds: status.maximum_error_us
        )
    }
}

/// The `clock` check: time stamps in logs, alerts, audit records and TLS all rely on it.
public enum ClockCheck {
    public static func check(_ reading: ClockReading) -> HealthCheck {
        let title = "clock synchronized"
        if let failure = reading.failure {
            return HealthCheck(
                id: "clock", title: title, status: .unknown, value: failure,
                explanation: "The kernel's clock state could not be read.",
                fix: "check 'timedatectl' by hand"
            )
        }
        if reading.unsynchronized {
            return HealthCheck(
                id: "clock", title: title, status: .warning,
                value: "not synchronized (maximum error \(milliseconds(reading.maximumErrorMicroseconds)))",
                explanation: "No time source disciplines the clock, so audit, log and alert times drift from other machines'.",
                fix: "enable systemd-timesyncd or chrony (timedatectl set-ntp true)"
            )
        }
        return HealthCheck(
            id: "clock", title: title, status: .ok,
            value: "synchronized (estimated error \(milliseconds(reading.estimatedErrorMicroseconds)))",
            explanation: "A time source disciplines the clock.", fix: nil
        )
    }

    static func milliseconds(_ microseconds: Int) -> String {
        microseconds >= 10_000 ? "\(microseconds / 1_000) ms" : String(format: "%.1f ms", Double(microseconds) / 1_000)
    }
}
