// The screened encode's kernels (see CKernelsScreened.h; the bound is proven in ScreenedEncoder.swift).
// Contractions stay off: the screen's rounding steps are the ones the proof counts.
#pragma STDC FP_CONTRACT OFF
#include "CKernelsScreened.h"
#include "screened_tiles.h"
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define AVX512 __attribute__((target("avx512f")))
#define TILE_ROWS CK_BF16_TILE_ROWS
#define PANEL CK_BF16_PANEL_COLUMNS

static int force_scalar = 0;

static int has_bf16(void) {
    static int known = -1;
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
    }
    return known;
}

static int has_avx512(void) {
    static int known = -1;
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx512f");
    }
    return known;
}

int ck_bf16_available(void) { return has_bf16(); }
void ck_bf16_force_scalar(int on) { force_scalar = on; }

// MARK: Conversion

uint16_t ck_bf16_round(float x) {
    uint32_t bits;
    memcpy(&bits, &x, 4);
    if ((bits & 0x7f800000u) == 0x7f800000u) return (uint16_t)(bits >> 16);  // inf/NaN: the caller rejects them
    uint32_t rounded = bits + 0x7fffu + ((bits >> 16) & 1u);                  // round to nearest, ties to even
    uint16_t h = (uint16_t)(rounded >> 16);
    if ((h & 0x7f80u) == 0) h &= 0x8000u;                                     // bf16 subnormal: flushed
    return h;
}

static inline float bf16_value(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float x;
    memcpy(&x, &bits, 4);
    return x;
}

size_t ck_bf16_packed_count(size_t d, size_t f) {
    size_t d_pad = (d + 1) & ~(size_t)1, f_pad = (f + PANEL - 1) / PANEL * PANEL;
    return d_pad * f_pad;
}

/// Round-to-nearest-even to bf16 of sixteen finite floats, bf16 subnormals flushed to a signed
/// zero (as ck_bf16_round), kept as the high halves of 32-bit lanes (the low halves zero).
__attribute__((target("avx512f,avx512bw,avx512vl"))) static inline __m512i round_bf16_high(__m512 v) {
    __m512i bits = _mm512_castps_si512(v);
    __m512i rounded = _mm512_add_epi32(bits, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1))));
    rounded = _mm512_and_si512(rounded, _mm512_set1_epi32((int)0xffff0000u));
    __mmask16 tiny = _mm512_testn_epi32_mask(rounded, _mm512_set1_epi32(0x7f800000));
    return _mm512_mask_and_epi32(rounded, tiny, rounded, _mm512_set1_epi32((int)0x80000000u));
}

/// Adds value^2, (value - rounded)^2 and rounded^2 of sixteen columns to their double sums
/// (multiply then add, as the scalar loop: the norms come out bit-identical).
#define ADD_SQUARES(half, v, back)                                                           \
    {                                                                                       \
        __m512d value = _mm512_cvtps_pd(half(v)), rounded = _mm512_cvtps_pd(half(back));    \
        __m512d residual = _mm512_sub_pd(value, rounded);                                   \
        sq_##half = _mm512_add_pd(sq_##half, _mm512_mul_pd(value, value));                  \
        res_##half = _mm512_add_pd(res_##half, _mm512_mul_pd(residual, residual));          \
        rnd_##half = _mm512_add_pd(rnd_##half, _mm512_mul_pd(rounded, rounded));            \
    }
#define LOW(v) _mm512_castps512_ps256(v)
#define HIGH(v) _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))

/// Inputs [2*kp0, 2*kp1) of one full panel (64 features), sixteen columns at a time: a pair of
/// inputs is rounded and interleaved in one 32-bit lane per feature, as `vdpbf16ps` reads it; the
/// squares are added to sums[0..<192] (value, residual, rounded; 64 columns each).
__attribute__((target("avx512f,avx512bw,avx512vl"))) static void pack_panel_rows_avx512(const float *w, size_t d, size_t f, size_t j0,
                                                                                      size_t kp0, size_t kp1, uint32_t *target, double *sums) {
    for (size_t g = 0; g < PANEL; g += 16) {
        __m512d sq_LOW = _mm512_loadu_pd(sums + g), sq_HIGH = _mm512_loadu_pd(sums + g + 8);
        __m512d res_LOW = _mm512_loadu_pd(sums + 64 + g), res_HIGH = _mm512_loadu_pd(sums + 64 + g + 8);
        __m512d rnd_LOW = _mm512_loadu_pd(sums + 128 + g), rnd_HIGH = _mm512_loadu_pd(sums + 128 + g + 8);
        for (size_t kp = kp0; kp < kp1; kp++) {
            size_t i = 2 * kp;
            __m512 even = _mm512_loadu_ps(w + i * f + j0 + g);
            __m512 odd = i + 1 < d ? _mm512_loadu_ps(w + (i + 1) * f + j0 + g) : _mm512_setzero_ps();
            __m512i even_rounded = round_bf16_high(even), odd_rounded = round_bf16_high(odd);
            _mm512_storeu_si512(target + kp * PANEL + g, _mm512_or_si512(odd_rounded, _mm512_srli_epi32(even_rounded, 16)));
            __m512 even_back = _mm512_castsi512_ps(even_rounded);
            ADD_SQUARES(LOW, even, even_back)
            ADD_SQUARES(HIGH, even, even_back)
            if (i + 1 < d) {
                __m512 odd_back = _mm512_castsi512_ps(odd_rounded);
                ADD_SQUARES(LOW, odd, odd_back)
                ADD_SQUARES(HIGH, odd, odd_back)
            }
        }
        _mm512_storeu_pd(sums + g, sq_LOW); _mm512_storeu_pd(sums + g + 8, sq_HIGH);
        _mm512_storeu_pd(sums + 64 + g, res_LOW); _mm512_storeu_pd(sums + 64 + g + 8, res_HIGH);
        _mm512_storeu_pd(sums + 128 + g, rnd_LOW); _mm512_storeu_pd(sums + 128 + g + 8, rnd_HIGH);
    }
}

static void pack_panel_scalar(const float *w, size_t d, size_t f, size_t j0, size_t width, uint16_t *target, double *norms) {
    size_t d_pad = (d + 1) & ~(size_t)1, pairs = d_pad / 2;
    memset(target, 0, pairs * PANEL * 2 * sizeof(uint16_t));
    double squares[PANEL], residuals[PANEL], rounded_squares[PANEL];
    for (size_t c = 0; c < PANEL; c++) { squares[c] = 0; residuals[c] = 0; rounded_squares[c] = 0; }
    for (size_t i = 0; i < d; i++) {
        const float *row = w + i * f + j0;
        uint16_t *out = target + (i / 2) * PANEL * 2 + (i & 1);
        for (size_t c = 0; c < width; c++) {
            float value = row[c];
            uint16_t h = ck_bf16_round(value);
            out[2 * c] = h;
            double rounded = bf16_value(h), residual = (double)value - rounded;
            squares[c] += (double)value * value;
            residuals[c] += residual * residual;
            rounded_squares[c] += rounded * rounded;
        }
    }
    for (size_t c = 0; c < width; c++) {
        norms[3 * (j0 + c)] = sqrt(squares[c]);
        norms[3 * (j0 + c) + 1] = sqrt(residuals[c]);
        norms[3 * (j0 + c) + 2] = sqrt(rounded_squares[c]);
    }
}

void ck_bf16_pack_weights(const float *w, size_t d, size_t f, size_t first_panel, size_t last_panel, uint16_t *packed, double *norms) {
    size_t d_pad = (d + 1) & ~(size_t)1, pairs = d_pad / 2;
    size_t full_end = f / PANEL < last_panel ? f / PANEL : last_panel;
    double *sums = NULL;
    if (has_avx512() && !force_scalar && full_end > first_panel &&
        (sums = calloc((full_end - first_panel) * 3 * PANEL, sizeof(double)))) {
        // A band of 32 input pairs across every panel at a time: each input row is then read
        // along (64 rows in flight) instead of panel by panel, where every 256-byte piece sat on
        // its own page (at F=32768 the rows are 128 KiB apart) and the loop waited on the TLB.
        for (size_t kp0 = 0; kp0 < pairs; kp0 += 32) {
            size_t kp1 = pairs - kp0 < 32 ? pairs : kp0 + 32;
            for (size_t panel = first_panel; panel < full_end; panel++)
                pack_panel_rows_avx512(w, d, f, panel * PANEL, kp0, kp1, (uint32_t *)(packed + panel * pairs * PANEL * 2),
                                       sums + (panel - first_panel) * 3 * PANEL);
        }
        for (size_t panel = first_panel; panel < full_end; panel++) {
            const double *s = sums + (panel - first_panel) * 3 * PANEL;
            for (size_t c = 0; c < PANEL; c++) {
                size_t j = panel * PANEL + c;
                norms[3 * j] = sqrt(s[c]);
                norms[3 * j + 1] = sqrt(s[PANEL + c]);
                norms[3 * j + 2] = sqrt(s[2 * PANEL + c]);
            }
        }
        free(sums);
        first_panel = full_end;
    }
    // Panel by panel, writing the packed panel in order and reading 64 contiguous weights per input.
    for (size_t panel = first_panel; panel < last_panel; panel++) {
        size_t j0 = panel * PANEL, width = f - j0 < PANEL ? f - j0 : PANEL;
        pack_panel_scalar(w, d, f, j0, width, packed + panel * pairs * PANEL * 2, norms);
    }
}

void ck_transpose(const float *w, size_t d, size_t f, size_t first, size_t last, float *out) {
    // 16 x 16 blocks: both the rows read and the rows written stay in cache within a block.
    for (size_t j0 = first; j0 < last; j0 += 16) {
        size_t j1 = last - j0 < 16 ? last : j0 + 16;
        for (size_t i0 = 0; i0 < d; i0 += 16) {
            size_t i1 = d - i0 < 16 ? d : i0 + 16;
            for (size_t j = j0; j < j1; j++)
                for (size_t i = i0; i < i1; i++) out[j * d + i] = w[i * f + j];
        }
    }
}

static void convert_rows_scalar(const float *x, size_t d, size_t first, size_t last, uint16_t *out, double *norms) {
    size_t d_pad = (d + 1) & ~(size_t)1;
    for (size_t r = first; r < last; r++) {
        const float *row = x + r * d;
        uint16_t *target = out + r * d_pad;
        double residual_squares = 0, rounded_squares = 0;
        for (size_t i = 0; i < d; i++) {
            uint16_t h = ck_bf16_round(row[i]);
            target[i] = h;
            double rounded = bf16_value(h), residual = (double)row[i] - rounded;
            residual_squares += residual * residual;
            rounded_squares += rounded * rounded;
        }
        if (d_pad != d) target[d] = 0;
        norms[2 * r] = sqrt(residual_squares);
        norms[2 * r + 1] = sqrt(rounded_squares);
    }
}

/// The same rounding sixteen at a time; squares summed in double (eight lanes each half), so the
/// norms differ from the scalar loop's only in double rounding (the caller widens them).
__attribute__((target("avx512f,avx512bw,avx512vl"))) static void convert_rows_avx512(const float *x, size_t d, size_t first, size_t last,
                                                                            uint16_t *out, double *norms) {
    size_t d_pad = (d + 1) & ~(size_t)1;
    const __m512i bias = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1), exponent = _mm512_set1_epi32(0x7f800000);
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u), keep_high = _mm512_set1_epi32((int)0xffff0000u);
    for (size_t r = first; r < last; r++) {
        const float *row = x + r * d;
        uint16_t *target = out + r * d_pad;
        __m512d residual_squares = _mm512_setzero_pd(), rounded_squares = _mm512_setzero_pd();
        for (size_t i = 0; i < d; i += 16) {
            __mmask16 lanes = d - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (d - i)) - 1);
            __m512 v = _mm512_maskz_loadu_ps(lanes, row + i);
            __m512i bits = _mm512_castps_si512(v);
            // Round to nearest even at bit 16 (inputs are finite: the caller checked).
            __m512i rounded = _mm512_add_epi32(bits, _mm512_add_epi32(bias, _mm512_and_si512(_mm512_srli_epi32(bits, 16), one)));
            rounded = _mm512_and_si512(rounded, keep_high);
            // bf16 subnormals (exponent zero) flushed to a signed zero.
            __mmask16 tiny = _mm512_testn_epi32_mask(rounded, exponent);
            rounded = _mm512_mask_and_epi32(rounded, tiny, rounded, sign);
            _mm256_mask_storeu_epi16(target + i, lanes, _mm512_cvtepi32_epi16(_mm512_srli_epi32(rounded, 16)));
            __m512 back = _mm512_castsi512_ps(rounded);
            __m512 residual = _mm512_sub_ps(v, back);  // exact: the low bits of v (or v itself when flushed)
            __m512d rl = _mm512_cvtps_pd(_mm512_castps512_ps256(residual));
            __m512d rh = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(residual), 1)));
            __m512d bl = _mm512_cvtps_pd(_mm512_castps512_ps256(back));
            __m512d bh = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(back), 1)));
            residual_squares = _mm512_fmadd_pd(rl, rl, _mm512_fmadd_pd(rh, rh, residual_squares));
            rounded_squares = _mm512_fmadd_pd(bl, bl, _mm512_fmadd_pd(bh, bh, rounded_squares));
        }
        if (d_pad != d) target[d] = 0;
        norms[2 * r] = sqrt(_mm512_reduce_add_pd(residual_squares));
        norms[2 * r + 1] = sqrt(_mm512_reduce_add_pd(rounded_squares));
    }
}

void ck_bf16_convert_rows(const float *x, size_t d, size_t first, size_t last, uint16_t *out, double *norms) {
    if (has_bf16() && !force_scalar) convert_rows_avx512(x, d, first, last, out, norms);
    else convert_rows_scalar(x, d, first, last, out, norms);
}

// MARK: fp32 dot product and selection

static float dot_scalar(const float *a, const float *b, size_t n) {
    float s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/// Dot products of x with `count` (1, 2 or 4) rows of wt, each over four sixteen-lane
/// accumulators (input block i of 16 into accumulator i mod 4) summed the same way, so an entry's
/// value does not depend on which others share the pass. One accumulator per entry made each dot
/// a chain of D/16 dependent multiply-adds: ~140 cycles at D=384 where the loads need ~30.
AVX512 static inline __attribute__((always_inline)) void dot_rows_n(const float *x, const float *const *w, size_t d, int count, float *out) {
    __m512 acc[4][4];
    for (int c = 0; c < count; c++)
        for (int k = 0; k < 4; k++) acc[c][k] = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= d; i += 64) {
        for (int k = 0; k < 4; k++) {
            __m512 xv = _mm512_loadu_ps(x + i + 16 * k);
            for (int c = 0; c < count; c++) acc[c][k] = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w[c] + i + 16 * k), acc[c][k]);
        }
    }
    // The last d mod 64 inputs, block k into accumulator k (k a constant: an index known only at
    // run time kept all sixteen accumulators in memory).
    for (int k = 0; k < 4; k++) {
        size_t at = i + 16 * (size_t)k;
        if (at >= d) break;
        __mmask16 lanes = d - at >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (d - at)) - 1);
        __m512 xv = _mm512_maskz_loadu_ps(lanes, x + at);
        for (int c = 0; c < count; c++) acc[c][k] = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(lanes, w[c] + at), acc[c][k]);
    }
    for (int c = 0; c < count; c++)
        out[c] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[c][0], acc[c][1]), _mm512_add_ps(acc[c][2], acc[c][3])));
}

AVX512 static void dot_rows_avx512(const float *x, const float *wt, size_t d, const size_t *js, int count, float *out) {
    const float *w[4];
    for (int c = 0; c < count; c++) w[c] = wt + js[c] * d;
    switch (count) {
    case 1: dot_rows_n(x, w, d, 1, out); break;
    case 2: dot_rows_n(x, w, d, 2, out); break;
    case 3: dot_rows_n(x, w, d, 3, out); break;
    default: dot_rows_n(x, w, d, 4, out); break;
    }
}

static void dot_rows(const float *x, const float *wt, size_t d, const size_t *js, int count, float *out) {
    if (has_avx512()) { dot_rows_avx512(x, wt, d, js, count, out); return; }
    for (int c = 0; c < count; c++) out[c] = dot_scalar(x, wt + js[c] * d, d);
}

float ck_kth_largest(const float *values, size_t n, size_t k, float *scratch) {
    memcpy(scratch, values, n * sizeof(float));
    // Quickselect for the element of rank k-1 in descending order.
    size_t lo = 0, hi = n - 1, target = k - 1;
    while (lo < hi) {
        float pivot = scratch[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (scratch[i] > pivot) i++;
            while (scratch[j] < pivot) j--;
            if (i <= j) {
                float t = scratch[i]; scratch[i] = scratch[j]; scratch[j] = t;
                i++;
                if (j == 0) break;
                j--;
            }
        }
        if (target <= j) hi = j;
        else if (target >= i) lo = i;
        else break;
    }
    return scratch[target];
}

// MARK: The bf16 multiply, one tile of TILE_ROWS rows by one panel of 64 features

/// tile[r * 64 + c] = sum over inputs of x~[m + r] * w~[panel column c], fp32 accumulation.
/// The 24 accumulators are named variables (an array of them was kept in memory by the compiler).
#define ROW_STEP(i)                                                                         \
    {                                                                                       \
        __m512bh a = (__m512bh)_mm512_set1_epi32((int)a##i[kp]);                            \
        c##i##0 = _mm512_dpbf16_ps(c##i##0, a, b0);                                         \
        c##i##1 = _mm512_dpbf16_ps(c##i##1, a, b1);                                         \
        c##i##2 = _mm512_dpbf16_ps(c##i##2, a, b2);                                         \
        c##i##3 = _mm512_dpbf16_ps(c##i##3, a, b3);                                         \
    }
#define ROW_STORE(i)                                                                        \
    _mm512_storeu_ps(tile + i * PANEL, c##i##0);                                            \
    _mm512_storeu_ps(tile + i * PANEL + 16, c##i##1);                                       \
    _mm512_storeu_ps(tile + i * PANEL + 32, c##i##2);                                       \
    _mm512_storeu_ps(tile + i * PANEL + 48, c##i##3);
#define ROW_ZERO(i) __m512 c##i##0 = _mm512_setzero_ps(), c##i##1 = c##i##0, c##i##2 = c##i##0, c##i##3 = c##i##0;

#define TILE_LOOP                                                                           \
    ROW_ZERO(0) ROW_ZERO(1) ROW_ZERO(2) ROW_ZERO(3) ROW_ZERO(4) ROW_ZERO(5)                 \
    const uint32_t *a0 = (const uint32_t *)(xq + m * d_pad), *a1 = a0 + pairs, *a2 = a1 + pairs; \
    const uint32_t *a3 = a2 + pairs, *a4 = a3 + pairs, *a5 = a4 + pairs;                    \
    for (size_t kp = 0; kp < pairs; kp++) {                                                 \
        const uint16_t *b = panel + kp * PANEL * 2;                                         \
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 32), \
                 b2 = (__m512bh)_mm512_loadu_si512(b + 64), b3 = (__m512bh)_mm512_loadu_si512(b + 96); \
        ROW_STEP(0) ROW_STEP(1) ROW_STEP(2) ROW_STEP(3) ROW_STEP(4) ROW_STEP(5)             \
    }

BF16 static void tile_bf16(const uint16_t *xq, const uint16_t *panel, size_t pairs, size_t d_pad, size_t m, float *tile) {
    TILE_LOOP
    ROW_STORE(0) ROW_STORE(1) ROW_STORE(2) ROW_STORE(3) ROW_STORE(4) ROW_STORE(5)
}

/// The screen of row i straight from its accumulators: bit c set when not (s + e*p + n*q <= cut),
/// the same two fused multiply-adds as `screen_row_scalar` (the proof counts their rounding).
#define ROW_SCREEN(i)                                                                       \
    {                                                                                       \
        __m512 ev = _mm512_set1_ps(e[i]), nv = _mm512_set1_ps(n[i]);                        \
        __mmask16 k0 = _mm512_cmp_ps_mask(_mm512_fmadd_ps(nv, _mm512_loadu_ps(q), _mm512_fmadd_ps(ev, _mm512_loadu_ps(p), c##i##0)), \
                                          _mm512_loadu_ps(cut), _CMP_NLE_UQ);               \
        __mmask16 k1 = _mm512_cmp_ps_mask(_mm512_fmadd_ps(nv, _mm512_loadu_ps(q + 16), _mm512_fmadd_ps(ev, _mm512_loadu_ps(p + 16), c##i##1)), \
                                          _mm512_loadu_ps(cut + 16), _CMP_NLE_UQ);          \
        __mmask16 k2 = _mm512_cmp_ps_mask(_mm512_fmadd_ps(nv, _mm512_loadu_ps(q + 32), _mm512_fmadd_ps(ev, _mm512_loadu_ps(p + 32), c##i##2)), \
                                          _mm512_loadu_ps(cut + 32), _CMP_NLE_UQ);          \
        __mmask16 k3 = _mm512_cmp_ps_mask(_mm512_fmadd_ps(nv, _mm512_loadu_ps(q + 48), _mm512_fmadd_ps(ev, _mm512_loadu_ps(p + 48), c##i##3)), \
                                          _mm512_loadu_ps(cut + 48), _CMP_NLE_UQ);          \
        masks[i] = (uint64_t)k0 | (uint64_t)k1 << 16 | (uint64_t)k2 << 32 | (uint64_t)k3 << 48; \
    }

/// The multiply of one tile with the screen in its epilogue: the accumulators are screened where
/// they are (storing the tile and screening it from memory cost ~10% of the multiply at D=384).
/// e, n: the tile rows' factors (zero past the last row); masks[i]: row i's candidates.
BF16 static void tile_bf16_screen(const uint16_t *xq, const uint16_t *panel, size_t pairs, size_t d_pad, size_t m,
                                  const float *e, const float *n, const float *p, const float *q, const float *cut, uint64_t *masks) {
    TILE_LOOP
    ROW_SCREEN(0) ROW_SCREEN(1) ROW_SCREEN(2) ROW_SCREEN(3) ROW_SCREEN(4) ROW_SCREEN(5)
}

/// The same sums without the instruction: each pair's products (exact in fp32) added one at a
/// time, the odd input first as `vdpbf16ps` does, results flushed to zero below the normal range.
static void tile_scalar(const uint16_t *xq, const uint16_t *panel, size_t pairs, size_t d_pad, size_t m, float *tile) {
    for (int i = 0; i < TILE_ROWS; i++) {
        const uint16_t *a = xq + (m + (size_t)i) * d_pad;
        for (int c = 0; c < PANEL; c++) {
            float s = 0;
            for (size_t kp = 0; kp < pairs; kp++) {
                const uint16_t *b = panel + (kp * PANEL + (size_t)c) * 2;
                s += bf16_value(a[2 * kp + 1]) * bf16_value(b[1]);
                if (fabsf(s) < 0x1p-126f) s = 0;
                s += bf16_value(a[2 * kp]) * bf16_value(b[0]);
                if (fabsf(s) < 0x1p-126f) s = 0;
            }
            tile[i * PANEL + c] = s;
        }
    }
}

static inline void multiply_tile(const uint16_t *xq, const uint16_t *panel, size_t pairs, size_t d_pad, size_t m, float *tile) {
    if (has_bf16() && !force_scalar) tile_bf16(xq, panel, pairs, d_pad, m, tile);
    else tile_scalar(xq, panel, pairs, d_pad, m, tile);
}

// MARK: The screen

/// Per block when W^T (F*D floats) fits in L3 with room to spare: then the fp32 rows of the block
/// are the reads that matter, and they sit in L2 (D=384/F=3072, one core: 37.8 -> 35.3 ns per
/// candidate). With larger W^T every candidate's weight row comes from memory and a larger batch
/// shares more of them (D=512/F=32768: 233 ns per candidate batched, 328 per block).
static int recomputes_per_block(size_t d, size_t f) {
    return (double)f * (double)d * 4 <= (double)(16u << 20);
}

/// Rows per block: a multiple of the tile whose low-precision rows (row_bytes each), and the fp32
/// rows (4*d bytes each) when the block's candidates are recomputed with it (`recomputes`: the
/// elementwise screen; not the top-k multiply, which only writes products), take about 512 KiB
/// (half of this machine's 1 MiB L2) while every panel of the part passes over them.
static size_t row_block(size_t row_bytes, size_t d, size_t f, int recomputes) {
    size_t per_row = row_bytes + (recomputes && recomputes_per_block(d, f) ? 4 * d : 0);
    size_t rows = ((size_t)512 << 10) / (per_row ? per_row : 1);
    rows = rows / TILE_ROWS * TILE_ROWS;
    return rows < TILE_ROWS ? TILE_ROWS : rows;
}

/// Bit c set when (tile row r, column c) is a candidate: not (s + e*p + n*q <= cut), two roundings.
AVX512 static uint64_t screen_row_avx512(const float *s, float e, float n, const float *p, const float *q, const float *cut) {
    uint64_t mask = 0;
    __m512 ev = _mm512_set1_ps(e), nv = _mm512_set1_ps(n);
    for (int v = 0; v < 4; v++) {
        __m512 t = _mm512_fmadd_ps(ev, _mm512_loadu_ps(p + v * 16), _mm512_loadu_ps(s + v * 16));
        t = _mm512_fmadd_ps(nv, _mm512_loadu_ps(q + v * 16), t);
        __mmask16 m = _mm512_cmp_ps_mask(t, _mm512_loadu_ps(cut + v * 16), _CMP_NLE_UQ);
        mask |= (uint64_t)m << (v * 16);
    }
    return mask;
}

static uint64_t screen_row_scalar(const float *s, float e, float n, const float *p, const float *q, const float *cut) {
    uint64_t mask = 0;
    for (int c = 0; c < PANEL; c++) {
        float t = fmaf(n, q[c], fmaf(e, p[c], s[c]));
        if (!(t <= cut[c])) mask |= (uint64_t)1 << c;
    }
    return mask;
}

/// Candidates waiting for their fp32 recomputation, collected over many tiles and panels in the
/// order the multiply meets them (for each row, features ascending).
#define PENDING_CAPACITY 32768
typedef struct {
    uint32_t row[PENDING_CAPACITY];
    uint32_t feature[PENDING_CAPACITY];
    /// The same candidates grouped by feature (rows ascending within a feature).
    uint32_t sorted_row[PENDING_CAPACITY];
    size_t count;
} pending_candidates;

static inline void prefetch_rows(const float *row, size_t d) {
    const char *start = (const char *)row, *end = (const char *)(row + d);
    for (const char *line = start; line < end; line += 64) _mm_prefetch(line, _MM_HINT_T0);
}

/// Recomputes the pending candidates in fp32, feature by feature, and appends the kept ones
/// grouped by feature (for each row still in ascending feature order, as the CSR assembly needs);
/// -1 when `capacity` is hit. Grouped by feature, a weight row is read once for all of its
/// candidates (up to four per pass), and weight rows are visited in address order; one pass after
/// many tiles also keeps these reads from evicting the multiply's working set between tiles.
/// `starts` has room for the features [col_lo, col_hi] + 1.
static long recompute_pending(pending_candidates *pending, size_t col_lo, size_t col_hi, size_t *starts,
                              const float *x, const float *wt, size_t d,
                              const float *bias, const float *floor, int adds_bias, int keeps_nan,
                              int32_t *out_row, int32_t *out_feature, float *out_value, size_t capacity, size_t kept) {
    size_t n = pending->count, columns = col_hi - col_lo;
    // Counting sort by feature, stable (rows stay ascending within a feature).
    memset(starts, 0, (columns + 1) * sizeof(size_t));
    for (size_t i = 0; i < n; i++) starts[pending->feature[i] - col_lo + 1]++;
    for (size_t c = 0; c < columns; c++) starts[c + 1] += starts[c];
    for (size_t i = 0; i < n; i++) pending->sorted_row[starts[pending->feature[i] - col_lo]++] = pending->row[i];
    // starts[c] is now the end of feature c's group (the start of c + 1's).
    size_t group_start = 0;
    for (size_t c = 0; c < columns; c++) {
        size_t group_end = starts[c];
        if (group_end == group_start) continue;
        size_t j = col_lo + c;
        // The next group's weight row, fetched while this one computes.
        for (size_t next = c + 1; next < columns; next++) {
            if (starts[next] != group_end) { prefetch_rows(wt + (col_lo + next) * d, d); break; }
        }
        const float *w = wt + j * d;
        for (size_t i = group_start; i < group_end;) {
            size_t rs[4];
            float pres[4];
            int count = 0;
            while (i < group_end && count < 4) rs[count++] = pending->sorted_row[i++];
            // Four token rows against one weight row: the same dot products (dot_rows is symmetric).
            dot_rows(w, x, d, rs, count, pres);
            float b = bias[j], fl = floor[j];
            for (int k = 0; k < count; k++) {
                float pre = pres[k];
                float v = adds_bias ? pre + b : pre;
                int keep = keeps_nan ? !(v <= fl) : v > fl;
                if (keep) {
                    if (kept == capacity) return -1;
                    out_row[kept] = (int32_t)rs[k];
                    out_feature[kept] = (int32_t)j;
                    out_value[kept] = pre + b;
                    kept++;
                }
            }
        }
        group_start = group_end;
    }
    pending->count = 0;
    return (long)kept;
}

/// The low-precision operands of one screen: bf16 (xq, wq as uint16) or int8 (u8 rows with
/// per-row scales, s8 panels with per-feature scales and the 128 * column-sum corrections).
typedef struct {
    int int8;
    const void *xq, *wq;
    const float *row_scale, *col_scale;
    const int32_t *correction;
    size_t steps, row_bytes, panel_bytes;  // pairs or quads; bytes of a row of xq and of a packed panel
} operands;

static operands bf16_operands(const uint16_t *xq, const uint16_t *wq, size_t d) {
    size_t d_pad = (d + 1) & ~(size_t)1;
    return (operands){0, xq, wq, NULL, NULL, NULL, d_pad / 2, 2 * d_pad, d_pad * PANEL * 2};
}

static operands i8_operands(const uint8_t *xq, const int8_t *wq, const float *row_scale, const float *col_scale,
                            const int32_t *correction, size_t d) {
    size_t quads = (d + 3) / 4;
    return (operands){1, xq, wq, row_scale, col_scale, correction, quads, 4 * quads, 4 * quads * PANEL};
}

/// Products of one tile (rows [m, m + TILE_ROWS), one panel starting at feature panel_start).
static void operands_tile(const operands *op, size_t panel_start, size_t m, float *tile) {
    const char *panel = (const char *)op->wq + (panel_start / PANEL) * op->panel_bytes;
    if (op->int8) ck_i8_tile(op->xq, (const int8_t *)panel, op->steps, op->row_bytes, m, op->row_scale + m,
                             op->col_scale + panel_start, op->correction + panel_start, tile);
    else multiply_tile(op->xq, (const uint16_t *)panel, op->steps, op->row_bytes / 2, m, tile);
}

/// The screened tile when the instructions are there; 0 when the caller must screen the products.
static int operands_tile_screen(const operands *op, size_t panel_start, size_t m, const float *e, const float *n,
                                const float *p, const float *q, const float *cut, uint64_t *masks) {
    const char *panel = (const char *)op->wq + (panel_start / PANEL) * op->panel_bytes;
    if (op->int8) return ck_i8_tile_screen(op->xq, (const int8_t *)panel, op->steps, op->row_bytes, m, op->row_scale + m,
                                           op->col_scale + panel_start, op->correction + panel_start, e, n, p, q, cut, masks);
    if (!has_bf16() || force_scalar) return 0;
    tile_bf16_screen(op->xq, (const uint16_t *)panel, op->steps, op->row_bytes / 2, m, e, n, p, q, cut, masks);
    return 1;
}

static long screen_elementwise(const operands *op, size_t rows, size_t d, size_t f,
                               size_t col_lo, size_t col_hi,
                               const float *row_e, const float *row_n, const float *col_p, const float *col_q,
                               const float *cut, const float *x, const float *wt,
                               const float *bias, const float *floor, int adds_bias, int keeps_nan,
                               int32_t *out_row, int32_t *out_feature, float *out_value, size_t capacity,
                               size_t max_candidates, size_t *candidates) {
    size_t end = col_hi < f ? col_hi : f;
    size_t met = 0;
    long kept = 0;
    int vector = has_avx512() && !force_scalar;
    float tile[TILE_ROWS * PANEL] __attribute__((aligned(64)));
    // Heap, not thread-local: the test bundle is loaded with dlopen, whose static TLS is small.
    pending_candidates *held = malloc(sizeof(pending_candidates));
    size_t *starts = malloc((end - col_lo + 1) * sizeof(size_t));
    if (!held || !starts) { free(held); free(starts); *candidates = 0; return -1; }
    held->count = 0;
    // Per-feature factors of a panel padded to 64 with values that never make a candidate.
    float p_pad[PANEL], q_pad[PANEL], cut_pad[PANEL];
    size_t block = row_block(op->row_bytes, d, f, 1);
    for (size_t block_start = 0; block_start < rows; block_start += block) {
    size_t block_end = rows - block_start < block ? rows : block_start + block;
    for (size_t panel_start = col_lo; panel_start < end; panel_start += PANEL) {
        size_t width = end - panel_start < PANEL ? end - panel_start : PANEL;
        const float *p = col_p + panel_start, *q = col_q + panel_start, *c = cut + panel_start;
        if (width < PANEL) {
            for (size_t k = 0; k < PANEL; k++) {
                p_pad[k] = k < width ? col_p[panel_start + k] : 0;
                q_pad[k] = k < width ? col_q[panel_start + k] : 0;
                cut_pad[k] = k < width ? cut[panel_start + k] : INFINITY;
            }
            p = p_pad; q = q_pad; c = cut_pad;
        }
        for (size_t m = block_start; m < block_end; m += TILE_ROWS) {
            size_t tile_rows = block_end - m < TILE_ROWS ? block_end - m : TILE_ROWS;
            uint64_t masks[TILE_ROWS];
            float e[TILE_ROWS], n[TILE_ROWS];
            for (size_t i = 0; i < TILE_ROWS; i++) {
                e[i] = i < tile_rows ? row_e[m + i] : 0;
                n[i] = i < tile_rows ? row_n[m + i] : 0;
            }
            if (!operands_tile_screen(op, panel_start, m, e, n, p, q, c, masks)) {
                operands_tile(op, panel_start, m, tile);
                for (size_t i = 0; i < tile_rows; i++)
                    masks[i] = vector ? screen_row_avx512(tile + i * PANEL, row_e[m + i], row_n[m + i], p, q, c)
                                      : screen_row_scalar(tile + i * PANEL, row_e[m + i], row_n[m + i], p, q, c);
            }
            for (size_t i = tile_rows; i < TILE_ROWS; i++) masks[i] = 0;
            if (held->count > PENDING_CAPACITY - TILE_ROWS * PANEL) {
                kept = recompute_pending(held, col_lo, end, starts, x, wt, d, bias, floor, adds_bias, keeps_nan, out_row, out_feature, out_value, capacity, (size_t)kept);
                if (kept < 0) goto done;
            }
            for (size_t i = 0; i < tile_rows; i++) {
                size_t r = m + i;
                uint64_t mask = masks[i];
                if (!mask) continue;
                met += (size_t)__builtin_popcountll(mask);
                if (met > max_candidates) { kept = -1; goto done; }
                while (mask) {
                    held->row[held->count] = (uint32_t)r;
                    held->feature[held->count++] = (uint32_t)(panel_start + (size_t)__builtin_ctzll(mask));
                    mask &= mask - 1;
                }
            }
        }
    }
    // The block's candidates recomputed while its fp32 rows are still in L2 (row_block sized them so).
    if (held->count && recomputes_per_block(d, f)) {
        kept = recompute_pending(held, col_lo, end, starts, x, wt, d, bias, floor, adds_bias, keeps_nan, out_row, out_feature, out_value, capacity, (size_t)kept);
        if (kept < 0) goto done;
    }
    }
    if (held->count) {
        kept = recompute_pending(held, col_lo, end, starts, x, wt, d, bias, floor, adds_bias, keeps_nan, out_row, out_feature, out_value, capacity, (size_t)kept);
    }
    // kept is -1 when the screen gave up (too many candidates, or the output is full).
done:
    free(starts); free(held);
    *candidates = met;
    return kept;
}

long ck_screen_elementwise(const uint16_t *xq, const uint16_t *wq, size_t rows, size_t d, size_t f,
                           size_t col_lo, size_t col_hi,
                           const float *row_e, const float *row_n, const float *col_p, const float *col_q,
                           const float *cut, const float *x, const float *wt,
                           const float *bias, const float *floor, int adds_bias, int keeps_nan,
                           int32_t *out_row, int32_t *out_feature, float *out_value, size_t capacity,
                           size_t max_candidates, size_t *candidates) {
    operands op = bf16_operands(xq, wq, d);
    return screen_elementwise(&op, rows, d, f, col_lo, col_hi, row_e, row_n, col_p, col_q, cut, x, wt, bias, floor,
                              adds_bias, keeps_nan, out_row, out_feature, out_value, capacity, max_candidates, candidates);
}

long ck_i8_screen_elementwise(const uint8_t *xq, const float *row_scale, const int8_t *wq, const float *col_scale,
                              const int32_t *correction, size_t rows, size_t d, size_t f,
                              size_t col_lo, size_t col_hi,
                              const float *row_e, const float *row_n, const float *col_p, const float *col_q,
                              const float *cut, const float *x, const float *wt,
                              const float *bias, const float *floor, int adds_bias, int keeps_nan,
                              int32_t *out_row, int32_t *out_feature, float *out_value, size_t capacity,
                              size_t max_candidates, size_t *candidates) {
    operands op = i8_operands(xq, wq, row_scale, col_scale, correction, d);
    return screen_elementwise(&op, rows, d, f, col_lo, col_hi, row_e, row_n, col_p, col_q, cut, x, wt, bias, floor,
                              adds_bias, keeps_nan, out_row, out_feature, out_value, capacity, max_candidates, candidates);
}

static void operands_multiply(const operands *op, size_t rows, size_t d, size_t f, size_t col_lo, size_t col_hi, float *s, size_t ld) {
    size_t end = col_hi < f ? col_hi : f;
    float tile[TILE_ROWS * PANEL] __attribute__((aligned(64)));
    size_t block = row_block(op->row_bytes, d, f, 0);
    for (size_t block_start = 0; block_start < rows; block_start += block) {
    size_t block_end = rows - block_start < block ? rows : block_start + block;
    for (size_t panel_start = col_lo; panel_start < end; panel_start += PANEL) {
        size_t width = end - panel_start < PANEL ? end - panel_start : PANEL;
        for (size_t m = block_start; m < block_end; m += TILE_ROWS) {
            operands_tile(op, panel_start, m, tile);
            size_t tile_rows = block_end - m < TILE_ROWS ? block_end - m : TILE_ROWS;
            for (size_t i = 0; i < tile_rows; i++) memcpy(s + (m + i) * ld + panel_start, tile + i * PANEL, width * sizeof(float));
        }
    }
    }
}

void ck_bf16_multiply(const uint16_t *xq, const uint16_t *wq, size_t rows, size_t d, size_t f,
                      size_t col_lo, size_t col_hi, float *s, size_t ld) {
    operands op = bf16_operands(xq, wq, d);
    operands_multiply(&op, rows, d, f, col_lo, col_hi, s, ld);
}

void ck_i8_multiply(const uint8_t *xq, const float *row_scale, const int8_t *wq, const float *col_scale, const int32_t *correction,
                    size_t rows, size_t d, size_t f, size_t col_lo, size_t col_hi, float *s, size_t ld) {
    operands op = i8_operands(xq, wq, row_scale, col_scale, correction, d);
    operands_multiply(&op, rows, d, f, col_lo, col_hi, s, ld);
}

// MARK: The top-k screen

static void bounds_row_scalar(const float *s, const float *bias, float e, float n, const float *p, const float *q,
                              float absolute, size_t f, float *lower, float *upper) {
    for (size_t j = 0; j < f; j++) {
        float centre = s[j] + bias[j];
        float radius = (e * p[j] + n * q[j]) * (1 + 0x1p-20f) + 0x1p-21f * (fabsf(s[j]) + fabsf(bias[j])) + absolute;
        lower[j] = centre - radius;
        upper[j] = centre + radius;
    }
}

AVX512 static void bounds_row_avx512(const float *s, const float *bias, float e, float n, const float *p, const float *q,
                                     float absolute, size_t f, float *lower, float *upper) {
    __m512 ev = _mm512_set1_ps(e), nv = _mm512_set1_ps(n), grow = _mm512_set1_ps(1 + 0x1p-20f);
    __m512 small = _mm512_set1_ps(0x1p-21f), abs_term = _mm512_set1_ps(absolute);
    for (size_t j = 0; j < f; j += 16) {
        __mmask16 lanes = f - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (f - j)) - 1);
        __m512 sv = _mm512_maskz_loadu_ps(lanes, s + j), bv = _mm512_maskz_loadu_ps(lanes, bias + j);
        __m512 centre = _mm512_add_ps(sv, bv);
        __m512 radius = _mm512_add_ps(_mm512_mul_ps(ev, _mm512_maskz_loadu_ps(lanes, p + j)), _mm512_mul_ps(nv, _mm512_maskz_loadu_ps(lanes, q + j)));
        radius = _mm512_mul_ps(radius, grow);
        radius = _mm512_add_ps(radius, _mm512_mul_ps(small, _mm512_add_ps(_mm512_abs_ps(sv), _mm512_abs_ps(bv))));
        radius = _mm512_add_ps(radius, abs_term);
        _mm512_mask_storeu_ps(lower + j, lanes, _mm512_sub_ps(centre, radius));
        _mm512_mask_storeu_ps(upper + j, lanes, _mm512_add_ps(centre, radius));
    }
}

static void bounds_row(const float *s, const float *bias, float e, float n, const float *p, const float *q,
                       float absolute, size_t f, float *lower, float *upper) {
    if (has_avx512() && !force_scalar) bounds_row_avx512(s, bias, e, n, p, q, absolute, f, lower, upper);
    else bounds_row_scalar(s, bias, e, n, p, q, absolute, f, lower, upper);
}

/// The k-th largest of values[0..<n] (k <= n) in one pass: values above a rising threshold are
/// kept in `buffer` (room for n); when it holds 4k, it is cut to its k largest and the threshold
/// raised to the k-th of those. Exact: no value above the final k-th largest is ever dropped.
static float kth_largest_streaming(const float *values, size_t n, size_t k, float *buffer) {
    if (n <= 8 * k) return ck_kth_largest(values, n, k, buffer);
    float threshold = -INFINITY;
    size_t held = 0, limit = 4 * k;
    for (size_t j = 0; j < n; j++) {
        if (values[j] > threshold || held < k) {
            buffer[held++] = values[j];
            if (held >= limit) {
                float kth = ck_kth_largest(buffer, held, k, buffer + held);
                size_t kept = 0;
                for (size_t i = 0; i < held; i++) if (buffer[i] >= kth && kept < limit) buffer[kept++] = buffer[i];
                held = kept;
                threshold = kth;
                if (held >= limit) break;  // (ties filling the buffer: fall back below)
            }
        }
    }
    if (held >= limit) return ck_kth_largest(values, n, k, buffer);
    return ck_kth_largest(buffer, held, k, buffer + held);
}

long ck_screen_topk_rows(const float *s, size_t ld, size_t first, size_t last, size_t f, size_t k,
                         const float *row_e, const float *row_n, const float *col_p, const float *col_q,
                         const float *bias, double absolute, const float *x, size_t d, const float *wt,
                         float *lower, float *upper, float *scratch, int32_t *candidate_feature, float *candidate_value,
                         int32_t *out_row, int32_t *out_feature, float *out_value, size_t capacity,
                         size_t max_candidates, size_t *candidates) {
    size_t kept = 0, met = 0;
    for (size_t r = first; r < last; r++) {
        const float *sr = s + r * ld;
        // Bounds on the fp32 path's v = fl(p + b): |v - (s + b)| <= B + u*|p + b| (see ScreenedEncode.swift),
        // evaluated in fp32 with cushions that cover this evaluation's own roundings: each of its
        // at most six operations errs by u = 2^-24 relative, so 2^-21*(|s| + |b|) and (1 + 2^-20)
        // on the radius more than cover them and the bias add's u*|p + b|.
        bounds_row(sr, bias, row_e[r], row_n[r], col_p, col_q, (float)absolute + 0x1p-125f, f, lower, upper);
        // Every member of the fp32 top k has v >= the k-th largest v >= the k-th largest lower bound.
        float floor = k <= f ? kth_largest_streaming(lower, f, k, scratch) : -INFINITY;
        size_t listed = 0;
        const float *xr = x + r * d;
        for (size_t j = 0; j < f; j++) {
            if (upper[j] >= floor && upper[j] > 0) candidate_feature[listed++] = (int32_t)j;
        }
        met += listed;
        if (met > max_candidates) { *candidates = met; return -1; }
        // Recomputed four at a time; the positive ones kept, in feature order.
        size_t count = 0;
        for (size_t c = 0; c < listed; c += 4) {
            size_t js[4];
            float pres[4];
            int group = listed - c < 4 ? (int)(listed - c) : 4;
            for (int g = 0; g < group; g++) js[g] = (size_t)candidate_feature[c + (size_t)g];
            dot_rows(xr, wt, d, js, group, pres);
            for (int g = 0; g < group; g++) {
                float v = pres[g] + bias[js[g]];
                if (v > 0) {
                    candidate_feature[count] = (int32_t)js[g];
                    candidate_value[count] = v;
                    count++;
                }
            }
        }
        // The k largest of the candidates, ties to the lower feature (as the fp32 path's selector).
        size_t take = count < k ? count : k;
        if (take == 0) continue;
        float kth = ck_kth_largest(candidate_value, count, take, scratch);
        size_t above = 0;
        for (size_t c = 0; c < count; c++) above += candidate_value[c] > kth;
        size_t ties = take - above;
        if (kept + take > capacity) { *candidates = met; return -1; }
        for (size_t c = 0; c < count; c++) {
            float v = candidate_value[c];
            if (v > kth || (v == kth && ties > 0)) {
                if (v == kth) ties--;
                out_row[kept] = (int32_t)r;
                out_feature[kept] = candidate_feature[c];
                out_value[kept] = v;
                kept++;
            }
        }
    }
    *candidates = met;
    return (long)kept;
}
