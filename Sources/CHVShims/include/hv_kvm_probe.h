#ifndef HV_KVM_PROBE_H
#define HV_KVM_PROBE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Checks whether KVM is *usable* on this host, not merely present: a throw-away child process
/// creates a VM with one vCPU and runs a small real-mode guest (a one-million-iteration loop, an
/// I/O port write, HLT). With hardware virtualisation the guest needs about a millisecond; a KVM
/// that emulates guest instructions in software fails the probe with code 5, because real guests
/// crawl on it as if hung.
///
/// The caller can never hang or crash: all KVM work happens in a forked child that is killed
/// (SIGKILL) if it has not reported back within `timeout_ms` (values <= 0 select 2000 ms).
/// Safe to call from a multi-threaded process; the call blocks the calling thread for at most
/// about `timeout_ms` plus half a second.
///
/// Returns 0 when KVM can run guest instructions at hardware speed. Otherwise returns a positive
/// code and writes a one-line human reason into `reason` (NUL-terminated, truncated to reason_len).
/// Codes: 1 = /dev/kvm missing, 2 = permission denied opening /dev/kvm, 3 = unexpected API version,
/// 4 = KVM_CREATE_VM/VCPU or memory setup failed, 5 = the test guest did not finish within timeout_ms
/// (KVM_RUN hung) or ran far too slowly to be hardware-accelerated, 6 = the test guest exited with
/// an unexpected exit reason (or KVM_RUN itself failed), 7 = probe process failed (fork etc.)
/// On success `reason` receives a short confirmation line. `reason` may be NULL or reason_len 0.
int hv_kvm_probe(int timeout_ms, char *reason, size_t reason_len);

#ifdef __cplusplus
}
#endif

#endif /* HV_KVM_PROBE_H */
