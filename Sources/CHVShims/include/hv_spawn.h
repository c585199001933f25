#ifndef HV_SPAWN_H
#define HV_SPAWN_H

#include <spawn.h>
#include <sys/types.h>

/// Creates a pipe whose both ends are close-on-exec from the start (pipe2 with O_CLOEXEC, which
/// Swift's Glibc module does not declare), so a child another thread spawns meanwhile cannot
/// inherit them. Returns 0, or -1 with errno set.
int hv_pipe_cloexec(int fds[2]);

/// Adds "close every descriptor from `lowest` up" to spawn file actions (glibc 2.34's
/// posix_spawn_file_actions_addclosefrom_np): a child then holds only the descriptors its other
/// file actions set up, whatever the rest of the process has open. Returns 0 or an errno value.
int hv_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest);

/// Creates an anonymous in-memory file, close-on-exec (memfd_create with MFD_CLOEXEC, which
/// Swift's Glibc module does not declare): a child's standard input of any size, written before
/// the child starts. Returns the descriptor, or -1 with errno set.
int hv_memfd_cloexec(const char *name);

/// A descriptor that becomes readable when the child `pid` ends (pidfd_open(2), Linux 5.3;
/// close-on-exec). Returns it, or -1 with errno set (ENOSYS on an older kernel).
int hv_pidfd_open(pid_t pid);

#endif
