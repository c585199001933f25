#define _GNU_SOURCE
#include "hv_flush.h"
#include <fcntl.h>
#include <unistd.h>

int hv_sync_file_system(int fd) {
    return syncfs(fd);
}

int hv_start_writeback(int fd) {
    return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}
