#include "hv_memory.h"

// Any C library header defines __GLIBC__ on glibc; before one is included nothing does, and the
// controls below would silently be the no-ops.
#include <stdlib.h>

#if defined(__GLIBC__)
#include <malloc.h>

void hv_malloc_use_one_arena(void) {
    mallopt(M_ARENA_MAX, 1);
}

int hv_return_freed_memory(void) {
    return malloc_trim(0);
}
#else
void hv_malloc_use_one_arena(void) {}

int hv_return_freed_memory(void) {
    return 0;
}
#endif
