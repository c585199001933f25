#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hv_fd_passing.h"

ssize_t hv_send_with_descriptors(int socket, const void *data, size_t length, const int *descriptors, int count) {
    if (count < 0 || count > HV_FD_RECEIVE_CAPACITY) {
        errno = EINVAL;
        return -1;
    }
    union {
        struct cmsghdr align;
        char buffer[CMSG_SPACE(sizeof(int) * HV_FD_RECEIVE_CAPACITY)];
    } control;
    memset(&control, 0, sizeof control);
    struct iovec iov = {.iov_base = (void *)data, .iov_len = length};
    struct msghdr message = {.msg_iov = &iov, .msg_iovlen = 1};
    if (count > 0) {
        message.msg_control = control.buffer;
        message.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)count);
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)count);
        memcpy(CMSG_DATA(header), descriptors, sizeof(int) * (size_t)count);
    }
    ssize_t sent;
    do {
        sent = sendmsg(socket, &message, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    return sent;
}

ssize_t hv_receive_with_descriptors(
    int socket, void *data, size_t length, int *descriptors, int capacity, int *count, int *truncated) {
    union {
        struct cmsghdr align;
        char buffer[CMSG_SPACE(sizeof(int) * HV_FD_RECEIVE_CAPACITY)];
    } control;
    memset(&control, 0, sizeof control);
    if (capacity < 0) capacity = 0;
    if (capacity > HV_FD_RECEIVE_CAPACITY) capacity = HV_FD_RECEIVE_CAPACITY;
    struct iovec iov = {.iov_base = data, .iov_len = length};
    struct msghdr message = {.msg_iov = &iov, .msg_iovlen = 1};
    if (capacity > 0) {
        // Room for exactly `capacity` descriptors: the kernel installs no more than that and
        // releases the rest itself (MSG_CTRUNC), so they never enter this process.
        message.msg_control = control.buffer;
        message.msg_controllen = CMSG_LEN(sizeof(int) * (size_t)capacity);
    }
    ssize_t received = recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    if (received < 0) return -1;
    if (message.msg_flags & MSG_CTRUNC) *truncated = 1;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        size_t bytes = header->cmsg_len - CMSG_LEN(0);
        size_t n = bytes / sizeof(int);
        const unsigned char *payload = CMSG_DATA(header);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, payload + i * sizeof(int), sizeof(int));
            if (*count < capacity) {
                descriptors[*count] = fd;
            } else {
                close(fd);
            }
            *count += 1;
        }
    }
    return received;
}

int hv_accept_cloexec(int listener) {
    return accept4(listener, NULL, NULL, SOCK_CLOEXEC);
}

int hv_flags_allow_reading(int flags) {
    if (flags & O_PATH) return 0;
    int mode = flags & O_ACCMODE;
    return mode == O_RDONLY || mode == O_RDWR;
}
