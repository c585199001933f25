// KVM usability probe: see hv_kvm_probe.h.
//
// The KVM work runs in a forked child so that a hung KVM_RUN (nested virtualisation without
// working VMX/SVM pass-through, a wedged host module, ...) or a crash can never take the caller
// down. The caller is a multi-threaded daemon, so between fork() and _exit() the child only uses
// async-signal-safe system-call wrappers (open, ioctl, mmap, sigaction, setitimer, clock_gettime,
// write, prctl, _exit): no malloc, no stdio, no locks. The child reports a fixed-size binary record
// through a pipe; all text formatting happens in the parent.
//
// "Runs a guest instruction" is not enough: some hosts expose a /dev/kvm that emulates every guest
// instruction in software (a paravirtual or nested KVM without VT-x/AMD-V underneath). A handful
// of instructions succeed there, but a real guest crawls so slowly that it looks hung. So the test
// guest runs a one-million-iteration loop, which takes about a millisecond with hardware
// virtualisation; if it has not reached HLT within a generous budget the probe reports code 5.

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "hv_kvm_probe.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__linux__)

#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROBE_DEFAULT_TIMEOUT_MS 2000
#define PROBE_REAP_ATTEMPTS 500  // x 1 ms: give up reaping a killed child after ~0.5 s
#define PROBE_REAP_SLEEP_NS 1000000L
#define PROBE_MAX_RUNS 16        // KVM_RUN calls before giving up on reaching HLT
#define PROBE_SLOW_BUDGET_MS 250 // the guest loop must finish within this (or timeout_ms / 2)
#define GUEST_LOOP_ITERATIONS 1000000u

#define GUEST_PHYS_ADDR 0x1000u
#define GUEST_MEM_SIZE 0x1000u
#define GUEST_IO_PORT 0x10u
#define GUEST_IO_VALUE 0x42u

// Where the child stopped. Only used to build the reason text in the parent.
enum probe_stage {
    STAGE_NONE = 0,
    STAGE_OPEN,
    STAGE_API_VERSION,
    STAGE_CREATE_VM,
    STAGE_GUEST_MMAP,
    STAGE_SET_MEMORY,
    STAGE_CREATE_VCPU,
    STAGE_VCPU_MMAP_SIZE,
    STAGE_VCPU_MMAP,
    STAGE_GET_SREGS,
    STAGE_SET_SREGS,
    STAGE_SET_REGS,
    STAGE_RUN,
    STAGE_EXIT,
    STAGE_RUN_LIMIT,
    STAGE_TOO_SLOW,
};

// Child -> parent record. 32 bytes, well below PIPE_BUF, so the write is atomic.
struct probe_msg {
    int32_t code;
    int32_t stage;
    int32_t err;          // errno of the failing call, 0 if none
    uint32_t exit_reason; // kvm_run.exit_reason for STAGE_EXIT
    uint64_t detail;      // stage-specific (API version, hardware reason, port, elapsed ms, ...)
    uint64_t detail2;     // stage-specific (I/O data, ...)
};

// Real-mode guest, loaded at GUEST_PHYS_ADDR:
//   66 b9 imm32   mov ecx, GUEST_LOOP_ITERATIONS
//   66 49         1: dec ecx
//   75 fc         jnz 1b
//   b0 42         mov al, 0x42
//   e6 10         out 0x10, al
//   f4            hlt
#define GUEST_LOOP_BYTE(shift) ((GUEST_LOOP_ITERATIONS >> (shift)) & 0xffu)
static const unsigned char guest_code[] = {
    0x66, 0xb9, GUEST_LOOP_BYTE(0), GUEST_LOOP_BYTE(8), GUEST_LOOP_BYTE(16), GUEST_LOOP_BYTE(24),
    0x66, 0x49,
    0x75, 0xfc,
    0xb0, GUEST_IO_VALUE,
    0xe6, GUEST_IO_PORT,
    0xf4,
};

// ---------------------------------------------------------------------------------------------
// Child side (async-signal-safe only)
// ---------------------------------------------------------------------------------------------

static void child_report(int fd, int code, int stage, int err, uint32_t exit_reason,
                         uint64_t detail, uint64_t detail2) {
    struct probe_msg msg;
    msg.code = code;
    msg.stage = stage;
    msg.err = err;
    msg.exit_reason = exit_reason;
    msg.detail = detail;
    msg.detail2 = detail2;
    for (;;) {
        ssize_t n = write(fd, &msg, sizeof msg);
        if (n >= 0 || errno != EINTR) break;
    }
    _exit(0);
}

static volatile sig_atomic_t child_budget_expired;

static void child_on_alarm(int sig) {
    (void)sig;
    child_budget_expired = 1;
}

static uint64_t child_elapsed_ms(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ms = (int64_t)(now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
    return ms < 0 ? 0 : (uint64_t)ms;
}

static int ioctl_retry(int fd, unsigned long request, void *arg) {
    int rc;
    do {
        rc = ioctl(fd, request, arg);
    } while (rc < 0 && (errno == EINTR || errno == EAGAIN));
    return rc;
}

static void child_main(int out, int budget_ms, pid_t parent) {
    // Die with the forking thread if the daemon goes away while we are still running.
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);

    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        int e = errno;
        int code = (e == EACCES || e == EPERM) ? 2
                 : (e == ENOENT || e == ENXIO || e == ENODEV) ? 1
                 : 4;
        child_report(out, code, STAGE_OPEN, e, 0, 0, 0);
    }

    int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        child_report(out, 3, STAGE_API_VERSION, api < 0 ? errno : 0, 0, (uint64_t)(int64_t)api, 0);
    }

    int vm;
    do {
        vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
    } while (vm < 0 && errno == EINTR);
    if (vm < 0) child_report(out, 4, STAGE_CREATE_VM, errno, 0, 0, 0);

    unsigned char *mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) child_report(out, 4, STAGE_GUEST_MMAP, errno, 0, 0, 0);
    for (size_t i = 0; i < sizeof guest_code; i++) mem[i] = guest_code[i];

    struct kvm_userspace_memory_region region;
    region.slot = 0;
    region.flags = 0;
    region.guest_phys_addr = GUEST_PHYS_ADDR;
    region.memory_size = GUEST_MEM_SIZE;
    region.userspace_addr = (uint64_t)(uintptr_t)mem;
    if (ioctl_retry(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        child_report(out, 4, STAGE_SET_MEMORY, errno, 0, 0, 0);

    int vcpu;
    do {
        vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
    } while (vcpu < 0 && errno == EINTR);
    if (vcpu < 0) child_report(out, 4, STAGE_CREATE_VCPU, errno, 0, 0, 0);

    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < (int)sizeof(struct kvm_run))
        child_report(out, 4, STAGE_VCPU_MMAP_SIZE, run_size < 0 ? errno : 0, 0,
                     (uint64_t)(int64_t)run_size, 0);

    struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) child_report(out, 4, STAGE_VCPU_MMAP, errno, 0, 0, 0);

    struct kvm_sregs sregs;
    if (ioctl_retry(vcpu, KVM_GET_SREGS, &sregs) < 0)
        child_report(out, 4, STAGE_GET_SREGS, errno, 0, 0, 0);
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl_retry(vcpu, KVM_SET_SREGS, &sregs) < 0)
        child_report(out, 4, STAGE_SET_SREGS, errno, 0, 0, 0);

    struct kvm_regs regs;
    unsigned char *rp = (unsigned char *)&regs;
    for (size_t i = 0; i < sizeof regs; i++) rp[i] = 0;
    regs.rip = GUEST_PHYS_ADDR;
    regs.rflags = 0x2;
    if (ioctl_retry(vcpu, KVM_SET_REGS, &regs) < 0)
        child_report(out, 4, STAGE_SET_REGS, errno, 0, 0, 0);

    // Interrupt KVM_RUN with SIGALRM once the budget is spent (no SA_RESTART: KVM_RUN returns EINTR).
    struct sigaction sa;
    unsigned char *sp = (unsigned char *)&sa;
    for (size_t i = 0; i < sizeof sa; i++) sp[i] = 0;
    sa.sa_handler = child_on_alarm;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGALRM, &sa, NULL);
    sigset_t alarm_set;
    sigemptyset(&alarm_set);
    sigaddset(&alarm_set, SIGALRM);
    (void)sigprocmask(SIG_UNBLOCK, &alarm_set, NULL);

    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct itimerval budget;
    budget.it_interval.tv_sec = 0;
    budget.it_interval.tv_usec = 0;
    budget.it_value.tv_sec = budget_ms / 1000;
    budget.it_value.tv_usec = (budget_ms % 1000) * 1000;
    (void)setitimer(ITIMER_REAL, &budget, NULL);

    int saw_io = 0;
    for (int runs = 0; runs < PROBE_MAX_RUNS; runs++) {
        int rc = ioctl(vcpu, KVM_RUN, 0);
        if (child_budget_expired && (rc < 0 || run->exit_reason == KVM_EXIT_INTR))
            child_report(out, 5, STAGE_TOO_SLOW, 0, 0, child_elapsed_ms(&start), (uint64_t)budget_ms);
        if (rc < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            child_report(out, 6, STAGE_RUN, errno, 0, 0, 0);
        }
        uint32_t reason = run->exit_reason;
        switch (reason) {
        case KVM_EXIT_IO: {
            const unsigned char *data = (const unsigned char *)run + run->io.data_offset;
            int ok = run->io.direction == KVM_EXIT_IO_OUT && run->io.port == GUEST_IO_PORT &&
                     run->io.size == 1 && run->io.count == 1 &&
                     run->io.data_offset < (uint64_t)run_size && data[0] == GUEST_IO_VALUE;
            if (!ok || saw_io) {
                uint64_t d = ((uint64_t)run->io.direction << 16) | run->io.port;
                uint64_t v = run->io.data_offset < (uint64_t)run_size ? data[0] : 0;
                child_report(out, 6, STAGE_EXIT, 0, reason, d, v);
            }
            saw_io = 1;
            continue;
        }
        case KVM_EXIT_HLT:
            if (saw_io) child_report(out, 0, STAGE_NONE, 0, 0, child_elapsed_ms(&start), 0);
            child_report(out, 6, STAGE_EXIT, 0, reason, 0, 0);
            break;
        case KVM_EXIT_INTR:
            continue;
        case KVM_EXIT_FAIL_ENTRY:
            child_report(out, 6, STAGE_EXIT, 0, reason,
                         run->fail_entry.hardware_entry_failure_reason, 0);
            break;
        case KVM_EXIT_INTERNAL_ERROR:
            child_report(out, 6, STAGE_EXIT, 0, reason, run->internal.suberror, 0);
            break;
        case KVM_EXIT_UNKNOWN:
            child_report(out, 6, STAGE_EXIT, 0, reason, run->hw.hardware_exit_reason, 0);
            break;
        default:
            child_report(out, 6, STAGE_EXIT, 0, reason, 0, 0);
            break;
        }
    }
    // Too many KVM_RUN round trips without reaching HLT.
    child_report(out, 6, STAGE_RUN_LIMIT, 0, run->exit_reason, 0, 0);
}

// ---------------------------------------------------------------------------------------------
// Parent side
// ---------------------------------------------------------------------------------------------

static void set_reason(char *reason, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_reason(char *reason, size_t len, const char *fmt, ...) {
    if (reason == NULL || len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(reason, len, fmt, ap);
    va_end(ap);
    if (n < 0) reason[0] = '\0';
}

// Thread-safe strerror for both glibc (GNU variant under _GNU_SOURCE) and musl (XSI variant).
static const char *err_text(int err, char *buf, size_t len) {
#if defined(__GLIBC__)
    return strerror_r(err, buf, len);
#else
    if (strerror_r(err, buf, len) != 0) snprintf(buf, len, "errno %d", err);
    return buf;
#endif
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *stage_name(int stage) {
    switch (stage) {
    case STAGE_CREATE_VM: return "KVM_CREATE_VM";
    case STAGE_GUEST_MMAP: return "mapping guest memory";
    case STAGE_SET_MEMORY: return "KVM_SET_USER_MEMORY_REGION";
    case STAGE_CREATE_VCPU: return "KVM_CREATE_VCPU";
    case STAGE_VCPU_MMAP_SIZE: return "KVM_GET_VCPU_MMAP_SIZE";
    case STAGE_VCPU_MMAP: return "mapping the vCPU run area";
    case STAGE_GET_SREGS: return "KVM_GET_SREGS";
    case STAGE_SET_SREGS: return "KVM_SET_SREGS";
    case STAGE_SET_REGS: return "KVM_SET_REGS";
    default: return "KVM setup";
    }
}

static const char *exit_name(uint32_t reason) {
    switch (reason) {
    case KVM_EXIT_UNKNOWN: return "UNKNOWN";
    case KVM_EXIT_EXCEPTION: return "EXCEPTION";
    case KVM_EXIT_IO: return "IO";
    case KVM_EXIT_HYPERCALL: return "HYPERCALL";
    case KVM_EXIT_DEBUG: return "DEBUG";
    case KVM_EXIT_HLT: return "HLT";
    case KVM_EXIT_MMIO: return "MMIO";
    case KVM_EXIT_SHUTDOWN: return "SHUTDOWN";
    case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
    case KVM_EXIT_INTR: return "INTR";
    case KVM_EXIT_NMI: return "NMI";
    case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
    case KVM_EXIT_SYSTEM_EVENT: return "SYSTEM_EVENT";
    default: return "other";
    }
}

static const char *const hint_tcg = "use domain type qemu (TCG)";

static int format_child_result(const struct probe_msg *m, int64_t elapsed, char *reason, size_t len) {
    char eb[128];
    const char *es = m->err ? err_text(m->err, eb, sizeof eb) : "";

    switch (m->code) {
    case 0:
        set_reason(reason, len, "KVM is usable: a test guest ran %u loop iterations in %llu ms (probe: %lld ms)",
                   GUEST_LOOP_ITERATIONS, (unsigned long long)m->detail, (long long)elapsed);
        return 0;
    case 1:
        if (m->err == ENOENT)
            set_reason(reason, len,
                       "/dev/kvm does not exist: the KVM module (kvm_intel/kvm_amd) is not loaded or "
                       "hardware virtualisation is unavailable; %s", hint_tcg);
        else
            set_reason(reason, len,
                       "cannot open /dev/kvm (%s): the KVM module is not loaded or virtualisation is "
                       "disabled in firmware; %s", es, hint_tcg);
        return 1;
    case 2:
        set_reason(reason, len,
                   "permission denied opening /dev/kvm: run the broker as root or add it to the kvm group");
        return 2;
    case 3:
        if (m->err)
            set_reason(reason, len, "KVM_GET_API_VERSION failed (%s): the host KVM is unusable; %s",
                       es, hint_tcg);
        else
            set_reason(reason, len,
                       "unexpected KVM API version %lld (expected %d): the host KVM is incompatible; %s",
                       (long long)(int64_t)m->detail, KVM_API_VERSION, hint_tcg);
        return 3;
    case 4:
        if (m->stage == STAGE_OPEN)
            set_reason(reason, len, "cannot open /dev/kvm (%s); %s", es, hint_tcg);
        else if (m->err)
            set_reason(reason, len,
                       "%s failed (%s): KVM is present but cannot set up a virtual machine%s; %s",
                       stage_name(m->stage), es,
                       (m->stage == STAGE_CREATE_VM && m->err == EBUSY)
                           ? " (another hypervisor may own VT-x/AMD-V)" : "",
                       hint_tcg);
        else
            set_reason(reason, len,
                       "%s returned an invalid value (%lld): KVM is present but cannot set up a "
                       "virtual machine; %s",
                       stage_name(m->stage), (long long)(int64_t)m->detail, hint_tcg);
        return 4;
    case 5:
        set_reason(reason, len,
                   "a test guest was still running a %u-iteration loop after %llu ms (hardware virtualisation "
                   "needs about 1 ms): KVM is present but not usable (it emulates guest instructions in "
                   "software, e.g. nested virtualisation without VT-x/AMD-V); %s",
                   GUEST_LOOP_ITERATIONS, (unsigned long long)m->detail, hint_tcg);
        return 5;
    case 6:
        if (m->stage == STAGE_RUN) {
            set_reason(reason, len, "KVM_RUN failed (%s): KVM is present but cannot run a guest; %s",
                       es, hint_tcg);
        } else if (m->stage == STAGE_RUN_LIMIT) {
            set_reason(reason, len,
                       "the test guest did not reach HLT after %d KVM_RUN calls (last exit %s): KVM "
                       "is present but not working correctly; %s",
                       PROBE_MAX_RUNS, exit_name(m->exit_reason), hint_tcg);
        } else {
            char extra[96] = "";
            switch (m->exit_reason) {
            case KVM_EXIT_FAIL_ENTRY:
                snprintf(extra, sizeof extra, ", hardware entry failure reason 0x%llx",
                         (unsigned long long)m->detail);
                break;
            case KVM_EXIT_INTERNAL_ERROR:
                snprintf(extra, sizeof extra, ", suberror %llu", (unsigned long long)m->detail);
                break;
            case KVM_EXIT_UNKNOWN:
                snprintf(extra, sizeof extra, ", hardware exit reason 0x%llx",
                         (unsigned long long)m->detail);
                break;
            case KVM_EXIT_IO:
                snprintf(extra, sizeof extra, ", %s port 0x%llx value 0x%llx",
                         ((m->detail >> 16) & 0xff) == KVM_EXIT_IO_OUT ? "out" : "in",
                         (unsigned long long)(m->detail & 0xffff), (unsigned long long)m->detail2);
                break;
            case KVM_EXIT_HLT:
                snprintf(extra, sizeof extra, " without first writing to port 0x%x", GUEST_IO_PORT);
                break;
            default:
                break;
            }
            set_reason(reason, len,
                       "the test guest stopped with unexpected exit reason %u (%s%s): KVM is present "
                       "but not working correctly; %s",
                       m->exit_reason, exit_name(m->exit_reason), extra, hint_tcg);
        }
        return 6;
    default:
        set_reason(reason, len, "the KVM probe process sent an invalid result code %d", (int)m->code);
        return 7;
    }
}

// Reaps `pid` without blocking for more than ~0.5 s. Returns 1 if reaped (or already gone).
static int reap_bounded(pid_t pid, int *status) {
    for (int i = 0; i < PROBE_REAP_ATTEMPTS; i++) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid) return 1;
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return 1;  // ECHILD: SIGCHLD ignored or someone else reaped it
        struct timespec ts = {0, PROBE_REAP_SLEEP_NS};
        nanosleep(&ts, NULL);
    }
    return 0;
}

int hv_kvm_probe(int timeout_ms, char *reason, size_t reason_len) {
    if (reason != NULL && reason_len > 0) reason[0] = '\0';
    if (timeout_ms <= 0) timeout_ms = PROBE_DEFAULT_TIMEOUT_MS;

    char eb[128];
    int fds[2];
    // O_CLOEXEC: children forked concurrently by other threads must not keep the write end open.
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        int e = errno;
        set_reason(reason, reason_len, "could not start the KVM probe: pipe failed (%s)",
                   err_text(e, eb, sizeof eb));
        return 7;
    }

    int budget_ms = timeout_ms / 2 < PROBE_SLOW_BUDGET_MS ? timeout_ms / 2 : PROBE_SLOW_BUDGET_MS;
    if (budget_ms < 1) budget_ms = 1;

    pid_t parent = getpid();
    int64_t start = now_ms();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        set_reason(reason, reason_len, "could not start the KVM probe: fork failed (%s)",
                   err_text(e, eb, sizeof eb));
        return 7;
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(fds[1], budget_ms, parent);
        _exit(0);  // not reached
    }
    close(fds[1]);

    struct probe_msg msg;
    size_t got = 0;
    int timed_out = 0, poll_err = 0;
    while (got < sizeof msg) {
        int64_t remaining = (int64_t)timeout_ms - (now_ms() - start);
        if (remaining <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN, .revents = 0};
        int pr = poll(&pfd, 1, (int)remaining);
        if (pr < 0) {
            if (errno == EINTR) continue;
            poll_err = errno;
            break;
        }
        if (pr == 0) {
            timed_out = 1;
            break;
        }
        ssize_t n = read(fds[0], (char *)&msg + got, sizeof msg - got);
        if (n > 0) {
            got += (size_t)n;
        } else if (n == 0) {
            break;  // EOF: the child died without reporting
        } else if (errno != EINTR && errno != EAGAIN) {
            poll_err = errno;
            break;
        }
    }
    close(fds[0]);
    int64_t elapsed = now_ms() - start;

    int status = 0;
    if (got == sizeof msg) {
        // The child _exits right after writing; give it a moment, then make sure it is gone.
        if (!reap_bounded(pid, &status)) {
            kill(pid, SIGKILL);
            (void)reap_bounded(pid, &status);
        }
        return format_child_result(&msg, elapsed, reason, reason_len);
    }

    if (timed_out || poll_err) kill(pid, SIGKILL);
    int reaped = reap_bounded(pid, &status);
    if (!reaped && !timed_out && !poll_err) {
        kill(pid, SIGKILL);
        reaped = reap_bounded(pid, &status);
    }
    char tail[96] = "";
    if (!reaped)
        snprintf(tail, sizeof tail, " (probe process %d is stuck in the kernel and was not reaped)",
                 (int)pid);

    if (timed_out) {
        set_reason(reason, reason_len,
                   "a test guest did not finish within %d ms: KVM is present but not usable (nested "
                   "virtualisation or a hung host module); %s%s",
                   timeout_ms, hint_tcg, tail);
        return 5;
    }
    if (poll_err) {
        set_reason(reason, reason_len, "waiting for the KVM probe failed (%s)%s",
                   err_text(poll_err, eb, sizeof eb), tail);
        return 7;
    }
    if (reaped && WIFSIGNALED(status))
        set_reason(reason, reason_len,
                   "the KVM probe process was killed by signal %d before reporting; %s",
                   WTERMSIG(status), hint_tcg);
    else if (reaped && WIFEXITED(status))
        set_reason(reason, reason_len,
                   "the KVM probe process exited (status %d) without reporting a result",
                   WEXITSTATUS(status));
    else
        set_reason(reason, reason_len, "the KVM probe process ended without reporting a result%s",
                   tail);
    return 7;
}

#else /* !__linux__ */

int hv_kvm_probe(int timeout_ms, char *reason, size_t reason_len) {
    (void)timeout_ms;
    if (reason != NULL && reason_len > 0)
        snprintf(reason, reason_len, "KVM is only available on Linux; use domain type qemu (TCG)");
    return 1;
}

#endif /* __linux__ */
