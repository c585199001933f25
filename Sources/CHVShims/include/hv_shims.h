#ifndef HV_SHIMS_H
#define HV_SHIMS_H

#include <stdint.h>
#include "hv_kvm_probe.h"
#include "hv_memory.h"
#include "hv_flush.h"
/// setxattr(2), which Swift's Glibc module does not include: the POSIX access ACL of a backup's
/// working directory.
#include <sys/xattr.h>

/// The layout of Linux's `struct ucred` (SO_PEERCRED), which glibc only declares under _GNU_SOURCE.
/// peer_credentials.c checks at compile time that the two agree.
typedef struct hv_ucred {
    int32_t pid;
    uint32_t uid;
    uint32_t gid;
} hv_ucred;

#endif
