#include "hv_memory.h"

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
