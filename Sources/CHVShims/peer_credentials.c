#define _GNU_SOURCE
#include <stddef.h>
#include <sys/socket.h>
#include "hv_shims.h"

_Static_assert(sizeof(struct ucred) == sizeof(hv_ucred), "struct ucred size");
_Static_assert(offsetof(struct ucred, pid) == offsetof(hv_ucred, pid), "ucred.pid offset");
_Static_assert(offsetof(struct ucred, uid) == offsetof(hv_ucred, uid), "ucred.uid offset");
_Static_assert(offsetof(struct ucred, gid) == offsetof(hv_ucred, gid), "ucred.gid offset");
