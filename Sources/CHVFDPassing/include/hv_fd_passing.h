#ifndef HV_FD_PASSING_H
#define HV_FD_PASSING_H

#include <stddef.h>
#include <sys/types.h>

/// The most descriptors one call of hv_send_with_descriptors sends, or of
/// hv_receive_with_descriptors makes room for.
#define HV_FD_RECEIVE_CAPACITY 16

/// Sends `length` bytes of `data` with `count` descriptors attached as one SCM_RIGHTS control
/// message (count 0 sends none; at most HV_FD_RECEIVE_CAPACITY). Returns the number of bytes sent,
/// or -1 with errno set. The descriptors travel with the first byte sent.
ssize_t hv_send_with_descriptors(int socket, const void *data, size_t length, const int *descriptors, int count);

/// Receives up to `length` bytes with recvmsg and MSG_CMSG_CLOEXEC, with room for at most
/// `capacity` descriptors (0 to HV_FD_RECEIVE_CAPACITY): the kernel installs no more than that
/// into this process. Those are counted in *count and stored in `descriptors` (open,
/// close-on-exec, now owned by the caller). *truncated is set to 1 when more came than there was
/// room for (MSG_CTRUNC; the kernel releases them without installing them).
/// Returns the number of bytes received (0 at end of stream), or -1 with errno set.
ssize_t hv_receive_with_descriptors(
    int socket, void *data, size_t length, int *descriptors, int capacity, int *count, int *truncated);

/// accept4 with SOCK_CLOEXEC, which Swift's Glibc module does not declare. Returns the new
/// descriptor or -1 with errno set.
int hv_accept_cloexec(int listener);

/// Whether open-file-status `flags` (fcntl F_GETFL) allow reading the file's contents: the access
/// mode is read-only or read-write, and the descriptor is not an O_PATH reference.
int hv_flags_allow_reading(int flags);

#endif
