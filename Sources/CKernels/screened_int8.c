// The int8 variant of the screened encode's multiply (see CKernelsScreened.h; the bound, which
// covers both precisions, is proven in ScreenedEncode.swift): per-row scales for the tokens,
// per-feature scales for the encoder weights, exact int32 dot products with AVX-512 VNNI
// (`vpdpbusd`, four u8 x s8 products per lane), twice the multiply-adds per instruction of bf16.
#pragma STDC FP_CONTRACT OFF
#include "CKernelsScreened.h"
#include "screened_tiles.h"
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define PANEL CK_BF16_PANEL_COLUMNS

static int force_scalar_i8 = 0;

int ck_i8_available(void) {
    static int known = -1;
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    }
    return known;
}

void ck_i8_force_scalar(int on) { force_scalar_i8 = on; }

static inline size_t quads_of(size_t d) { return (d + 3) / 4; }

size_t ck_i8_packed_count(size_t d, size_t f) {
    return quads_of(d) * 4 * ((f + PANEL - 1) / PANEL * PANEL);
}

/// The scale that maps [-max, max] onto [-127, 127] (0 for an all-zero vector), and the integer
/// nearest value/scale clamped to that range. Any integers would do for the proof (it measures
/// the actual residual); nearest keeps the residual small.
static inline float scale_for(float largest) { return largest / 127.0f; }
static inline int quantize(float value, float scale) {
    if (!(scale > 0)) return 0;
    float q = nearbyintf(value / scale);
    return q > 127 ? 127 : q < -127 ? -127 : (int)q;
}

void ck_i8_pack_weights(const float *wt, size_t d, size_t f, size_t first_panel, size_t last_panel,
                        int8_t *packed, float *scale, int32_t *correction, double *norms) {
    size_t quads = quads_of(d);
    for (size_t panel = first_panel; panel < last_panel; panel++) {
        size_t j0 = panel * PANEL;
        int8_t *target = packed + panel * quads * PANEL * 4;
        memset(target, 0, quads * PANEL * 4);
        for (size_t c = 0; c < PANEL; c++) {
            size_t j = j0 + c;
            if (j >= f) { scale[j] = 0; correction[j] = 0; continue; }
            const float *column = wt + j * d;  // feature j's weights, contiguous in the transposed copy
            float largest = 0;
            for (size_t i = 0; i < d; i++) largest = fmaxf(largest, fabsf(column[i]));
            float t = scale_for(largest);
            double squares = 0, residuals = 0, rounded_squares = 0;
            int32_t sum = 0;
            for (size_t i = 0; i < d; i++) {
                float value = column[i];
                int q = quantize(value, t);
                target[(i / 4) * PANEL * 4 + c * 4 + (i & 3)] = (int8_t)q;
                sum += q;
                // t*q is exact in double (24 + 8 bits), so the residual is the value's own.
                double rounded = (double)t * q, residual = (double)value - rounded;
                squares += (double)value * value;
                residuals += residual * residual;
                rounded_squares += rounded * rounded;
            }
            scale[j] = t;
            correction[j] = 128 * sum;
            norms[3 * j] = sqrt(squares);
            norms[3 * j + 1] = sqrt(residuals);
            norms[3 * j + 2] = sqrt(rounded_squares);
        }
    }
}

static void convert_rows_i8_scalar(const float *x, size_t d, size_t first, size_t last, uint8_t *out, float *scale, double *norms) {
    size_t d_pad = quads_of(d) * 4;
    for (size_t r = first; r < last; r++) {
        const float *row = x + r * d;
        uint8_t *target = out + r * d_pad;
        float largest = 0;
        for (size_t i = 0; i < d; i++) largest = fmaxf(largest, fabsf(row[i]));
        float s = scale_for(largest);
        double residual_squares = 0, rounded_squares = 0;
        for (size_t i = 0; i < d; i++) {
            int q = quantize(row[i], s);
            target[i] = (uint8_t)(q + 128);
            double rounded = (double)s * q, residual = (double)row[i] - rounded;
            residual_squares += residual * residual;
            rounded_squares += rounded * rounded;
        }
        for (size_t i = d; i < d_pad; i++) target[i] = 128;  // against zero weights
        scale[r] = s;
        norms[2 * r] = sqrt(residual_squares);
        norms[2 * r + 1] = sqrt(rounded_squares);
    }
}

/// The same integers sixteen at a time (the same division and rounding, so the same bytes); the
/// squares summed in another order, so the norms differ in double rounding (the caller widens them).
VNNI static void convert_rows_i8_avx512(const float *x, size_t d, size_t first, size_t last, uint8_t *out, float *scale, double *norms) {
    size_t d_pad = quads_of(d) * 4;
    const __m512 limit = _mm512_set1_ps(127), negative_limit = _mm512_set1_ps(-127);
    for (size_t r = first; r < last; r++) {
        const float *row = x + r * d;
        uint8_t *target = out + r * d_pad;
        __m512 largest_v = _mm512_setzero_ps();
        for (size_t i = 0; i < d; i += 16) {
            __mmask16 lanes = d - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (d - i)) - 1);
            largest_v = _mm512_max_ps(largest_v, _mm512_abs_ps(_mm512_maskz_loadu_ps(lanes, row + i)));
        }
        float s = scale_for(_mm512_reduce_max_ps(largest_v));
        if (!(s > 0)) { convert_rows_i8_scalar(x, d, r, r + 1, out, scale, norms); continue; }
        __m512 sv = _mm512_set1_ps(s);
        __m512d sd = _mm512_set1_pd((double)s);
        __m512d residual_squares = _mm512_setzero_pd(), rounded_squares = _mm512_setzero_pd();
        for (size_t i = 0; i < d; i += 16) {
            __mmask16 lanes = d - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (d - i)) - 1);
            __m512 v = _mm512_maskz_loadu_ps(lanes, row + i);
            __m512 q = _mm512_roundscale_ps(_mm512_div_ps(v, sv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            q = _mm512_min_ps(_mm512_max_ps(q, negative_limit), limit);
            __m512i qi = _mm512_cvtps_epi32(q);
            _mm_mask_storeu_epi8(target + i, lanes, _mm512_cvtepi32_epi8(_mm512_add_epi32(qi, _mm512_set1_epi32(128))));
            __m512d vl = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
            __m512d vh = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
            __m512d bl = _mm512_mul_pd(sd, _mm512_cvtepi32_pd(_mm512_castsi512_si256(qi)));  // exact
            __m512d bh = _mm512_mul_pd(sd, _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(qi, 1)));
            __m512d rl = _mm512_sub_pd(vl, bl), rh = _mm512_sub_pd(vh, bh);
            residual_squares = _mm512_add_pd(residual_squares, _mm512_add_pd(_mm512_mul_pd(rl, rl), _mm512_mul_pd(rh, rh)));
            rounded_squares = _mm512_add_pd(rounded_squares, _mm512_add_pd(_mm512_mul_pd(bl, bl), _mm512_mul_pd(bh, bh)));
        }
        for (size_t i = d; i < d_pad; i++) target[i] = 128;  // against zero weights
        scale[r] = s;
        norms[2 * r] = sqrt(_mm512_reduce_add_pd(residual_squares));
        norms[2 * r + 1] = sqrt(_mm512_reduce_add_pd(rounded_squares));
    }
}

void ck_i8_convert_rows(const float *x, size_t d, size_t first, size_t last, uint8_t *out, float *scale, double *norms) {
    if (ck_i8_available() && !force_scalar_i8) convert_rows_i8_avx512(x, d, first, last, out, scale, norms);
    else convert_rows_i8_scalar(x, d, first, last, out, scale, norms);
}

// MARK: The tile: 6 rows x one panel of 64 features

#define I8_STEP(i)                                                                          \
    {                                                                                       \
        __m512i a = _mm512_set1_epi32((int)a##i[kq]);                                       \
        c##i##0 = _mm512_dpbusd_epi32(c##i##0, a, b0);                                      \
        c##i##1 = _mm512_dpbusd_epi32(c##i##1, a, b1);                                      \
        c##i##2 = _mm512_dpbusd_epi32(c##i##2, a, b2);                                      \
        c##i##3 = _mm512_dpbusd_epi32(c##i##3, a, b3);                                      \
    }
#define I8_ZERO(i) __m512i c##i##0 = _mm512_setzero_si512(), c##i##1 = c##i##0, c##i##2 = c##i##0, c##i##3 = c##i##0;
#define I8_LOOP                                                                             \
    I8_ZERO(0) I8_ZERO(1) I8_ZERO(2) I8_ZERO(3) I8_ZERO(4) I8_ZERO(5)                       \
    const uint32_t *a0 = (const uint32_t *)(xq + m * d_pad), *a1 = a0 + quads, *a2 = a1 + quads; \
    const uint32_t *a3 = a2 + quads, *a4 = a3 + quads, *a5 = a4 + quads;                    \
    for (size_t kq = 0; kq < quads; kq++) {                                                 \
        const int8_t *b = panel + kq * PANEL * 4;                                           \
        __m512i b0 = _mm512_loadu_si512(b), b1 = _mm512_loadu_si512(b + 64),                \
                b2 = _mm512_loadu_si512(b + 128), b3 = _mm512_loadu_si512(b + 192);         \
        I8_STEP(0) I8_STEP(1) I8_STEP(2) I8_STEP(3) I8_STEP(4) I8_STEP(5)                   \
    }

/// s = fl(fl(row scale * column scale) * fl(P)), P = accumulator - 128 * column sum (exact in
/// int32: see the proof), for the 16 columns of accumulator v of row i.
#define I8_PRODUCT(i, v) \
    _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(row_scale[i]), _mm512_loadu_ps(col_scale + 16 * v)), \
                  _mm512_cvtepi32_ps(_mm512_sub_epi32(c##i##v, _mm512_loadu_si512(correction + 16 * v))))

#define I8_SCREEN_ONE(i, v)                                                                 \
    _mm512_cmp_ps_mask(_mm512_fmadd_ps(nv, _mm512_loadu_ps(q + 16 * v), _mm512_fmadd_ps(ev, _mm512_loadu_ps(p + 16 * v), I8_PRODUCT(i, v))), \
                       _mm512_loadu_ps(cut + 16 * v), _CMP_NLE_UQ)
#define I8_SCREEN(i)                                                                        \
    {                                                                                       \
        __m512 ev = _mm512_set1_ps(e[i]), nv = _mm512_set1_ps(n[i]);                        \
        masks[i] = (uint64_t)I8_SCREEN_ONE(i, 0) | (uint64_t)I8_SCREEN_ONE(i, 1) << 16 |    \
                   (uint64_t)I8_SCREEN_ONE(i, 2) << 32 | (uint64_t)I8_SCREEN_ONE(i, 3) << 48; \
    }
#define I8_STORE(i)                                                                         \
    _mm512_storeu_ps(tile + i * PANEL, I8_PRODUCT(i, 0));                                   \
    _mm512_storeu_ps(tile + i * PANEL + 16, I8_PRODUCT(i, 1));                              \
    _mm512_storeu_ps(tile + i * PANEL + 32, I8_PRODUCT(i, 2));                              \
    _mm512_storeu_ps(tile + i * PANEL + 48, I8_PRODUCT(i, 3));

VNNI static void tile_i8_screen(const uint8_t *xq, const int8_t *panel, size_t quads, size_t d_pad, size_t m,
                                const float *row_scale, const float *col_scale, const int32_t *correction,
                                const float *e, const float *n, const float *p, const float *q, const float *cut, uint64_t *masks) {
    I8_LOOP
    I8_SCREEN(0) I8_SCREEN(1) I8_SCREEN(2) I8_SCREEN(3) I8_SCREEN(4) I8_SCREEN(5)
}

VNNI static void tile_i8(const uint8_t *xq, const int8_t *panel, size_t quads, size_t d_pad, size_t m,
                         const float *row_scale, const float *col_scale, const int32_t *correction, float *tile) {
    I8_LOOP
    I8_STORE(0) I8_STORE(1) I8_STORE(2) I8_STORE(3) I8_STORE(4) I8_STORE(5)
}

/// The same products without the instructions: the exact integer sums, then the same two roundings.
static void tile_i8_scalar(const uint8_t *xq, const int8_t *panel, size_t quads, size_t d_pad, size_t m,
                           const float *row_scale, const float *col_scale, const int32_t *correction, float *tile) {
    for (int i = 0; i < CK_BF16_TILE_ROWS; i++) {
        const uint8_t *a = xq + (m + (size_t)i) * d_pad;
        for (int c = 0; c < PANEL; c++) {
            int64_t sum = 0;
            for (size_t k = 0; k < quads * 4; k++) sum += (int64_t)a[k] * panel[(k / 4) * PANEL * 4 + (size_t)c * 4 + (k & 3)];
            float scale = row_scale[i] * col_scale[c];
            tile[i * PANEL + c] = scale * (float)(int32_t)(sum - correction[c]);
        }
    }
}

void ck_i8_tile(const uint8_t *xq, const int8_t *panel, size_t quads, size_t d_pad, size_t m,
                const float *row_scale, const float *col_scale, const int32_t *correction, float *tile) {
    if (ck_i8_available() && !force_scalar_i8) tile_i8(xq, panel, quads, d_pad, m, row_scale, col_scale, correction, tile);
    else tile_i8_scalar(xq, panel, quads, d_pad, m, row_scale, col_scale, correction, tile);
}

int ck_i8_tile_screen(const uint8_t *xq, const int8_t *panel, size_t quads, size_t d_pad, size_t m,
                      const float *row_scale, const float *col_scale, const int32_t *correction,
                      const float *e, const float *n, const float *p, const float *q, const float *cut, uint64_t *masks) {
    if (!ck_i8_available() || force_scalar_i8) return 0;
    tile_i8_screen(xq, panel, quads, d_pad, m, row_scale, col_scale, correction, e, n, p, q, cut, masks);
    return 1;
}
