// Inner loops of the encoder and the metrics, one variant per instruction set (see CKernels.h).
// No fused multiply-adds anywhere: each variant rounds the same products and sums in the same
// order as the scalar loop, which is what keeps their results bit-identical.
#pragma STDC FP_CONTRACT OFF
#include "CKernels.h"
#include <immintrin.h>
#include <string.h>

#define AVX512 __attribute__((target("avx512f")))
#define AVX2 __attribute__((target("avx2")))

static int forced_level = -1;

static int best_level(void) {
    static int level = -1;
    if (level < 0) {
        __builtin_cpu_init();
        level = __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return level;
}

int ck_level(void) {
    int best = best_level();
    return forced_level >= 0 && forced_level < best ? forced_level : best;
}

void ck_force_level(int level) { forced_level = level; }

// MARK: Scan of an elementwise rule

static inline int scan_keeps(float v, float floor, int keeps_nan) {
    return keeps_nan ? !(v <= floor) : v > floor;
}

static size_t scan_scalar(const float *pre, const float *bias, const float *floor, size_t from, size_t f,
                          int adds_bias, int keeps_nan, int32_t *features, float *values, size_t n) {
    for (size_t j = from; j < f; j++) {
        float v = adds_bias ? pre[j] + bias[j] : pre[j];
        if (scan_keeps(v, floor[j], keeps_nan)) {
            features[n] = (int32_t)j;
            values[n] = pre[j] + bias[j];
            n++;
        }
    }
    return n;
}

static inline size_t scan_emit(uint32_t mask, size_t j, const float *pre, const float *bias,
                               int32_t *features, float *values, size_t n) {
    while (mask) {
        size_t k = j + (size_t)__builtin_ctz(mask);
        features[n] = (int32_t)k;
        values[n] = pre[k] + bias[k];
        n++;
        mask &= mask - 1;
    }
    return n;
}

AVX512 static size_t scan_avx512(const float *pre, const float *bias, const float *floor, size_t f,
                                 int adds_bias, int keeps_nan, int32_t *features, float *values) {
    size_t n = 0, j = 0;
    for (; j < f; j += 16) {
        __mmask16 lanes = f - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (f - j)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(lanes, pre + j);
        if (adds_bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(lanes, bias + j));
        __m512 fl = _mm512_maskz_loadu_ps(lanes, floor + j);
        __mmask16 kept = keeps_nan ? _mm512_mask_cmp_ps_mask(lanes, v, fl, _CMP_NLE_UQ)
                                   : _mm512_mask_cmp_ps_mask(lanes, v, fl, _CMP_GT_OQ);
        if (kept) n = scan_emit(kept, j, pre, bias, features, values, n);
    }
    return n;
}

AVX2 static size_t scan_avx2(const float *pre, const float *bias, const float *floor, size_t f,
                             int adds_bias, int keeps_nan, int32_t *features, float *values) {
    size_t n = 0, j = 0;
    for (; j + 8 <= f; j += 8) {
        __m256 v = _mm256_loadu_ps(pre + j);
        if (adds_bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));
        __m256 fl = _mm256_loadu_ps(floor + j);
        __m256 kept = keeps_nan ? _mm256_cmp_ps(v, fl, _CMP_NLE_UQ) : _mm256_cmp_ps(v, fl, _CMP_GT_OQ);
        uint32_t mask = (uint32_t)_mm256_movemask_ps(kept);
        if (mask) n = scan_emit(mask, j, pre, bias, features, values, n);
    }
    return scan_scalar(pre, bias, floor, j, f, adds_bias, keeps_nan, features, values, n);
}

size_t ck_scan_row(const float *pre, const float *bias, const float *floor, size_t f,
                   int adds_bias, int keeps_nan, int32_t *features, float *values) {
    switch (ck_level()) {
    case 2: return scan_avx512(pre, bias, floor, f, adds_bias, keeps_nan, features, values);
    case 1: return scan_avx2(pre, bias, floor, f, adds_bias, keeps_nan, features, values);
    default: return scan_scalar(pre, bias, floor, 0, f, adds_bias, keeps_nan, features, values, 0);
    }
}

// MARK: Sparse decode: target = start + sum of value * decoder row

static void accumulate_scalar(float *target, size_t from, size_t d, const int32_t *features, const float *values,
                              size_t count, const float *weights) {
    for (size_t e = 0; e < count; e++) {
        const float *row = weights + (size_t)features[e] * d;
        float v = values[e];
        for (size_t i = from; i < d; i++) target[i] = target[i] + v * row[i];
    }
}

// Eight decoder rows per sweep of the target: the target is loaded and stored an eighth as often.
// The first sweep reads `start` instead of the target, so a row starting from the decoder bias
// needs no separate fill pass over the reconstruction.
AVX512 static void accumulate_avx512(float *target, const float *start, size_t d, const int32_t *features, const float *values,
                                     size_t count, const float *weights) {
    const float *source = start;
    size_t e = 0;
    for (; e + 8 <= count; e += 8) {
        const float *r[8];
        __m512 v[8];
        for (int k = 0; k < 8; k++) {
            r[k] = weights + (size_t)features[e + k] * d;
            v[k] = _mm512_set1_ps(values[e + k]);
        }
        for (size_t i = 0; i < d; i += 16) {
            __mmask16 lanes = d - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (d - i)) - 1);
            __m512 t = _mm512_maskz_loadu_ps(lanes, source + i);
            for (int k = 0; k < 8; k++) t = _mm512_add_ps(t, _mm512_mul_ps(v[k], _mm512_maskz_loadu_ps(lanes, r[k] + i)));
            _mm512_mask_storeu_ps(target + i, lanes, t);
        }
        source = target;
    }
    for (; e < count; e++) {
        const float *row = weights + (size_t)features[e] * d;
        __m512 v = _mm512_set1_ps(values[e]);
        for (size_t i = 0; i < d; i += 16) {
            __mmask16 lanes = d - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (d - i)) - 1);
            __m512 t = _mm512_maskz_loadu_ps(lanes, source + i);
            t = _mm512_add_ps(t, _mm512_mul_ps(v, _mm512_maskz_loadu_ps(lanes, row + i)));
            _mm512_mask_storeu_ps(target + i, lanes, t);
        }
        source = target;
    }
    if (source != target) memmove(target, start, d * sizeof(float));
}

AVX2 static void accumulate_avx2(float *target, size_t d, const int32_t *features, const float *values,
                                 size_t count, const float *weights) {
    size_t vector_end = d & ~(size_t)7, e = 0;
    for (; e + 8 <= count; e += 8) {
        const float *r[8];
        __m256 v[8];
        for (int k = 0; k < 8; k++) {
            r[k] = weights + (size_t)features[e + k] * d;
            v[k] = _mm256_set1_ps(values[e + k]);
        }
        for (size_t i = 0; i < vector_end; i += 8) {
            __m256 t = _mm256_loadu_ps(target + i);
            for (int k = 0; k < 8; k++) t = _mm256_add_ps(t, _mm256_mul_ps(v[k], _mm256_loadu_ps(r[k] + i)));
            _mm256_storeu_ps(target + i, t);
        }
    }
    for (; e < count; e++) {
        const float *row = weights + (size_t)features[e] * d;
        __m256 v = _mm256_set1_ps(values[e]);
        for (size_t i = 0; i < vector_end; i += 8)
            _mm256_storeu_ps(target + i, _mm256_add_ps(_mm256_loadu_ps(target + i), _mm256_mul_ps(v, _mm256_loadu_ps(row + i))));
    }
    // The columns past the last full vector, every entry in order.
    accumulate_scalar(target, vector_end, d, features, values, count, weights);
}

void ck_accumulate_rows(float *target, const float *start, size_t d, const int32_t *features, const float *values,
                        size_t count, const float *weights) {
    if (ck_level() == 2) {
        accumulate_avx512(target, start, d, features, values, count, weights);
        return;
    }
    if (start != target) memmove(target, start, d * sizeof(float));
    if (ck_level() == 1) accumulate_avx2(target, d, features, values, count, weights);
    else accumulate_scalar(target, 0, d, features, values, count, weights);
}

// MARK: Finite check

static int all_finite_scalar(const float *x, size_t from, size_t n) {
    for (size_t i = from; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, x + i, 4);
        if ((bits & 0x7f800000u) == 0x7f800000u) return 0;
    }
    return 1;
}

AVX512 static int all_finite_avx512(const float *x, size_t n) {
    const __m512i exponent = _mm512_set1_epi32(0x7f800000);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i bits = _mm512_and_si512(_mm512_loadu_si512((const void *)(x + i)), exponent);
        if (_mm512_cmpeq_epi32_mask(bits, exponent)) return 0;
    }
    return all_finite_scalar(x, i, n);
}

int ck_all_finite(const float *x, size_t n) {
    return ck_level() == 2 ? all_finite_avx512(x, n) : all_finite_scalar(x, 0, n);
}

// MARK: Metrics

void ck_row_sums(const float *x, const float *y, size_t d, double out[4]) {
    // Four running sums in index order (as the Swift loop did): scalar in every variant.
    double error = 0, xx = 0, yy = 0, xy = 0;
    for (size_t i = 0; i < d; i++) {
        double a = x[i], b = y[i], r = a - b;
        error += r * r;
        xx += a * a;
        yy += b * b;
        xy += a * b;
    }
    out[0] = error;
    out[1] = xx;
    out[2] = yy;
    out[3] = xy;
}

// Per-dimension chunk moments. A block of columns is summed over all rows, its means taken,
// and the squared deviations summed over the same rows while that block (two cache lines of x
// and of y per row: 1 MiB at 4096 rows) is still in cache: x and y are read from memory once
// instead of twice (27-40% less time than the two passes at D=384-576, 4096 rows). Each column's sums still run over the rows in order, so the results are
// those of the two plain loops.

static void column_moments_scalar(const float *x, const float *y, size_t rows, size_t stride, size_t lo, size_t hi,
                                  double *x_mean, double *r_mean, double *x_m2, double *r_m2) {
    for (size_t i = lo; i < hi; i++) {
        double xs = 0, rs = 0;
        for (size_t row = 0; row < rows; row++) {
            double a = x[row * stride + i];
            xs += a;
            rs += a - (double)y[row * stride + i];
        }
        double xm = xs / (double)rows, rm = rs / (double)rows, xd = 0, rd = 0;
        x_mean[i] = xm;
        r_mean[i] = rm;
        for (size_t row = 0; row < rows; row++) {
            double a = x[row * stride + i];
            double deviation = a - xm, residual = (a - (double)y[row * stride + i]) - rm;
            xd += deviation * deviation;
            rd += residual * residual;
        }
        x_m2[i] = xd;
        r_m2[i] = rd;
    }
}

// Columns [i, i + 8 * LANES): LANES vectors of eight doubles.
#define MOMENTS_BLOCK(LANES)                                                                                   \
    do {                                                                                                       \
        __m512d xs[LANES], rs[LANES], xm[LANES], rm[LANES], xd[LANES], rd[LANES];                              \
        for (int v = 0; v < LANES; v++) { xs[v] = _mm512_setzero_pd(); rs[v] = _mm512_setzero_pd(); }          \
        for (size_t row = 0; row < rows; row++) {                                                              \
            for (int v = 0; v < LANES; v++) {                                                                  \
                __m512d a = _mm512_cvtps_pd(_mm256_loadu_ps(x + row * stride + i + 8 * v));                    \
                __m512d b = _mm512_cvtps_pd(_mm256_loadu_ps(y + row * stride + i + 8 * v));                    \
                xs[v] = _mm512_add_pd(xs[v], a);                                                               \
                rs[v] = _mm512_add_pd(rs[v], _mm512_sub_pd(a, b));                                             \
            }                                                                                                  \
        }                                                                                                      \
        for (int v = 0; v < LANES; v++) {                                                                      \
            xm[v] = _mm512_div_pd(xs[v], count);                                                               \
            rm[v] = _mm512_div_pd(rs[v], count);                                                               \
            _mm512_storeu_pd(x_mean + i + 8 * v, xm[v]);                                                       \
            _mm512_storeu_pd(r_mean + i + 8 * v, rm[v]);                                                       \
            xd[v] = _mm512_setzero_pd();                                                                       \
            rd[v] = _mm512_setzero_pd();                                                                       \
        }                                                                                                      \
        for (size_t row = 0; row < rows; row++) {                                                              \
            for (int v = 0; v < LANES; v++) {                                                                  \
                __m512d a = _mm512_cvtps_pd(_mm256_loadu_ps(x + row * stride + i + 8 * v));                    \
                __m512d b = _mm512_cvtps_pd(_mm256_loadu_ps(y + row * stride + i + 8 * v));                    \
                __m512d deviation = _mm512_sub_pd(a, xm[v]), residual = _mm512_sub_pd(_mm512_sub_pd(a, b), rm[v]); \
                xd[v] = _mm512_add_pd(xd[v], _mm512_mul_pd(deviation, deviation));                             \
                rd[v] = _mm512_add_pd(rd[v], _mm512_mul_pd(residual, residual));                               \
            }                                                                                                  \
        }                                                                                                      \
        for (int v = 0; v < LANES; v++) {                                                                      \
            _mm512_storeu_pd(x_m2 + i + 8 * v, xd[v]);                                                         \
            _mm512_storeu_pd(r_m2 + i + 8 * v, rd[v]);                                                         \
        }                                                                                                      \
    } while (0)

AVX512 static void column_moments_avx512(const float *x, const float *y, size_t rows, size_t stride, size_t lo, size_t hi,
                                         double *x_mean, double *r_mean, double *x_m2, double *r_m2) {
    const __m512d count = _mm512_set1_pd((double)rows);
    size_t i = lo;
    for (; i + 32 <= hi; i += 32) MOMENTS_BLOCK(4);
    for (; i + 16 <= hi; i += 16) MOMENTS_BLOCK(2);
    for (; i + 8 <= hi; i += 8) MOMENTS_BLOCK(1);
    column_moments_scalar(x, y, rows, stride, i, hi, x_mean, r_mean, x_m2, r_m2);
}

void ck_column_moments(const float *x, const float *y, size_t rows, size_t stride, size_t lo, size_t hi,
                       double *x_mean, double *r_mean, double *x_m2, double *r_m2) {
    if (ck_level() == 2) column_moments_avx512(x, y, rows, stride, lo, hi, x_mean, r_mean, x_m2, r_m2);
    else column_moments_scalar(x, y, rows, stride, lo, hi, x_mean, r_mean, x_m2, r_m2);
}
