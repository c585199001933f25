import HVProtocol

extension AuditVerifyReply {
    /// A verification's result as `Audit.Verify` replies it.
    public init(_ verification: AuditChain.Verification) {
        self.init(
            intact: verification.intact, records: verification.records, brokenAtLine: verification.brokenAtLine,
            reason: verification.reason, segment: verification.segment, segments: verification.segments,
            retiredSegments: verification.retiredSegments
        )
    }
}
