#ifndef SAESCOPE_CKERNELS_H
#define SAESCOPE_CKERNELS_H
// The encoder's and the metrics' inner loops, with AVX-512 and AVX2 variants chosen at run
// time (the Swift code is built for baseline x86-64, which has 4-wide SIMD only). Every
// variant does the same float operations in the same order as the scalar one, so results are
// bit-identical whichever runs.
#include <stddef.h>
#include <stdint.h>
#include "delphi_splits.h"
#include "file_writeback.h"

/// Which variant runs: 0 scalar, 1 AVX2, 2 AVX-512 (the best the CPU has, or the one forced
/// with `ck_force_level`).
int ck_level(void);
/// Forces a variant (for tests); a level the CPU lacks is lowered to the best it has. -1 restores the default.
void ck_force_level(int level);

/// The nonzero codes of one row of an elementwise rule: for each j in 0..<f, with
/// v = adds_bias ? pre[j] + bias[j] : pre[j], j is kept when !(v <= floor[j]) (keeps_nan) or
/// v > floor[j] (otherwise); kept j are written in order to features/values (pre[j] + bias[j]).
/// Returns how many were written (at most f).
size_t ck_scan_row(const float *pre, const float *bias, const float *floor, size_t f,
                   int adds_bias, int keeps_nan, int32_t *features, float *values);

/// target[i] = start[i] + values[e] * weights[features[e] * d + i] for e in 0..<count, added in
/// entry order (a multiply rounded, then an add, per term: no fused multiply-add). `start` may
/// be `target` itself (accumulate in place); otherwise the two must not overlap.
void ck_accumulate_rows(float *target, const float *start, size_t d, const int32_t *features, const float *values,
                        size_t count, const float *weights);

/// 1 when all n values are finite.
int ck_all_finite(const float *x, size_t n);

/// Per-row sums over i in 0..<d, in index order, in double: out[0] = sum (x-y)^2,
/// out[1] = sum x^2, out[2] = sum y^2, out[3] = sum x*y.
void ck_row_sums(const float *x, const float *y, size_t d, double out[4]);

/// For rows 0..<rows of x, y (row stride `stride`), columns [lo, hi), each column summed in row
/// order in double: x_mean[i] = sum x / rows, r_mean[i] = sum (x - y) / rows; then
/// x_m2[i] = sum (x - x_mean[i])^2, r_m2[i] = sum ((x - y) - r_mean[i])^2 over the same rows.
/// The outputs are written, not added to: one chunk's moments (the caller merges chunks).
void ck_column_moments(const float *x, const float *y, size_t rows, size_t stride, size_t lo, size_t hi,
                       double *x_mean, double *r_mean, double *x_m2, double *r_m2);
// The screened encode's bf16 kernels.
#include "CKernelsScreened.h"
#endif
