import Foundation
import HVPolkit
import Testing

/// The polkit client as polkitd sees it: the call libpolkit would make, polkitd's three answers
/// kept apart, and a polkitd that never answers refused after the timeout rather than waited for.
@Suite struct PolkitAuthorityTests {
    let subject = PolkitSubject(pid: 4242, uid: 1003, startTime: 987_654_321)

    @Test func theCallIsLibpolkitsCheckAuthorization() throws {
        let polkitd = try StandInPolkitd(answer: (authorized: true, challenge: false))
        defer { polkitd.stop() }
        let authority = try PolkitAuthority(address: polkitd.address)
        let details = ["machine": "web", "owner_group": "lab", "exists": "true"]
        #expect(try authority.check(action: "org.hypernixos.vm.info", subject: subject, details: details) == .authorized)
        #expect(
            polkitd.received == [
                StandInPolkitd.Call(
                    kind: "unix-process", subject: ["pid": "u 4242", "start-time": "t 987654321", "uid": "i 1003"],
                    action: "org.hypernixos.vm.info", details: details, flags: 0, cancellationID: ""
                )
            ]
        )
    }

    @Test func aChallengeAndANoStayApart() throws {
        for (answer, expected) in [((false, true), PolkitDecision.challenge), ((false, false), .notAuthorized)] {
            let polkitd = try StandInPolkitd(answer: answer)
            defer { polkitd.stop() }
            let authority = try PolkitAuthority(address: polkitd.address)
            #expect(try authority.check(action: "org.hypernixos.vm.start", subject: subject) == expected)
            #expect(polkitd.received.first?.details == [:])
        }
    }

    @Test func aPolkitdThatNeverAnswersTimesOut() throws {
        let polkitd = try StandInPolkitd(answer: nil)
        defer { polkitd.stop() }
        let authority = try PolkitAuthority(address: polkitd.address)
        let start = ContinuousClock.now
        let error = #expect(throws: PolkitError.self) {
            try authority.check(action: "org.hypernixos.vm.info", subject: subject, timeout: .milliseconds(300))
        }
        #expect(error?.timedOut == true)
        #expect(error?.message.contains("did not answer within") == true)
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(polkitd.received.count == 1, "the call reached polkitd")
    }

    @Test func noBusIsAnErrorNotADecision() throws {
        let polkitd = try StandInPolkitd(answer: (authorized: true, challenge: false))
        polkitd.stop()
        #expect(throws: PolkitError.self) {
            let authority = try PolkitAuthority(address: polkitd.address)
            _ = try authority.check(action: "org.hypernixos.vm.info", subject: subject)
        }
    }

    @Test func theBackendIsReadFromItsProperties() throws {
        let polkitd = try StandInPolkitd(answer: nil)
        defer { polkitd.stop() }
        #expect(try PolkitAuthority(address: polkitd.address).backend == PolkitBackend(name: "js", version: "122"))
    }
}
