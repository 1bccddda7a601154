#ifndef SAESCOPE_CZLIB_SHIM_H
#define SAESCOPE_CZLIB_SHIM_H
// zlib (Debian's zlib1g-dev), for writing .jsonl.gz exports.
#include <zlib.h>
#endif
