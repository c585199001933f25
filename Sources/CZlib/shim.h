#include <zlib.h>

/* deflateInit2 and inflateInit2 are macros Swift can't call: these open a gzip stream (a gzip
   header and trailer around the deflate data, windowBits 15 + 16). */
static inline int hv_gzip_deflate_init(z_stream *stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

static inline int hv_gzip_inflate_init(z_stream *stream) {
    return inflateInit2(stream, 15 + 16);
}
