#ifndef HV_FLUSH_H
#define HV_FLUSH_H

/// Linux's flushes that glibc declares only under _GNU_SOURCE, which Swift's Glibc module leaves out.

/// syncfs(2): flushes the whole file system holding `fd`, data and metadata. Returns 0 or -1 with errno.
int hv_sync_file_system(int fd);

/// sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE): starts writing the file's dirty pages back
/// and returns without waiting; a later flush then has less to wait for. Returns 0 or -1 with errno.
int hv_start_writeback(int fd);

#endif
