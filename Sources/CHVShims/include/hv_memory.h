#ifndef HV_MEMORY_H
#define HV_MEMORY_H

/// glibc's allocator controls, declared in <malloc.h>, a header Swift's Glibc module does not
/// include. Where the C library is not glibc they do nothing.

/// mallopt(M_ARENA_MAX, 1): threads that have not allocated yet share the main arena.
void hv_malloc_use_one_arena(void);

/// malloc_trim(0): returns freed memory of every arena to the system. Returns 1 when memory was
/// returned, 0 when there was none to return.
int hv_return_freed_memory(void);

#endif
