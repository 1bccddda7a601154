#ifndef SAESCOPE_CLAPACK_SHIM_H
#define SAESCOPE_CLAPACK_SHIM_H
// LAPACK's C interface (Debian's liblapacke-dev), backed by OpenBLAS's LAPACK.
#include <lapacke.h>
#endif
