#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hv_spawn.h"

int hv_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int hv_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
}

int hv_memfd_cloexec(const char *name) {
    return memfd_create(name, MFD_CLOEXEC);
}

int hv_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}
