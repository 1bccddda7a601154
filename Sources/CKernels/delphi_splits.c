// The two passes `index --codes` makes over a delphi split's mapped columns: checking the
// locations (and counting entries per latent), then scattering them into per-latent lists.
// Both are streaming loops over millions of entries; the float16 values are widened in blocks
// with F16C where the machine has it (Swift is built for baseline x86-64, without it).
#include "CKernels.h"
#include <immintrin.h>
#include <string.h>

#define F16C_AVX __attribute__((target("f16c,avx")))

static inline int64_t location_at(const void *locations, int type, int64_t index) {
    switch (type) {
    case CK_LOCATIONS_U16: return ((const uint16_t *)locations)[index];
    case CK_LOCATIONS_U32: return ((const uint32_t *)locations)[index];
    case CK_LOCATIONS_I32: return ((const int32_t *)locations)[index];
    default: return ((const int64_t *)locations)[index];
    }
}

// One specialisation per location type, so the inner loops have no per-entry switch.
#define CHECK_LOOP(T)                                                                              \
    {                                                                                              \
        const T *l = (const T *)locations;                                                         \
        for (int64_t e = lo; e < hi; e++) {                                                        \
            int64_t batch_row = (int64_t)l[3 * e], position = (int64_t)l[3 * e + 1];               \
            int64_t offset = (int64_t)l[3 * e + 2];                                                \
            if (batch_row < 0 || batch_row >= sequences || position < 0 || position >= ctx ||      \
                offset < 0 || offset >= width)                                                     \
                return e;                                                                          \
            int64_t row = batch_row * ctx + position;                                              \
            if (row < previous) return e;                                                          \
            previous = row;                                                                        \
            if (counts) counts[offset] += 1;                                                       \
        }                                                                                          \
        return -1;                                                                                 \
    }

int64_t ck_delphi_check(const void *locations, int type, int64_t lo, int64_t hi, int64_t sequences, int64_t ctx,
                        int64_t width, int64_t previous, uint32_t *counts) {
    switch (type) {
    case CK_LOCATIONS_U16: CHECK_LOOP(uint16_t)
    case CK_LOCATIONS_U32: CHECK_LOOP(uint32_t)
    case CK_LOCATIONS_I32: CHECK_LOOP(int32_t)
    default: CHECK_LOOP(int64_t)
    }
}

int64_t ck_delphi_row(const void *locations, int type, int64_t ctx, int64_t entry) {
    return location_at(locations, type, 3 * entry) * ctx + location_at(locations, type, 3 * entry + 1);
}

// Values widened to float32: float16 exactly (F16C, or the bit arithmetic below), bfloat16 by a shift.
static inline float half_to_float_scalar(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF, bits;
    if (exponent == 0x1F) {
        bits = sign | 0x7F800000u | (mantissa << 13) | (mantissa ? 0x00400000u : 0);
    } else if (exponent == 0) {
        float magnitude = (float)mantissa * (1.0f / 16777216.0f);  // mantissa * 2^-24, exact
        uint32_t m;
        memcpy(&m, &magnitude, 4);
        bits = sign | m;
    } else {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

F16C_AVX static void halves_f16c(const uint16_t *h, float *out, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
    }
    for (; i < n; i++) out[i] = half_to_float_scalar(h[i]);
}

void ck_halves_to_floats(const uint16_t *h, float *out, int64_t n) {
    static int has_f16c = -1;
    if (has_f16c < 0) has_f16c = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
    if (has_f16c) {
        halves_f16c(h, out, n);
    } else {
        for (int64_t i = 0; i < n; i++) out[i] = half_to_float_scalar(h[i]);
    }
}

static void widen(const void *values, int value_type, int64_t from, int64_t n, float *out) {
    switch (value_type) {
    case CK_VALUES_F16: ck_halves_to_floats((const uint16_t *)values + from, out, n); break;
    case CK_VALUES_F32: memcpy(out, (const float *)values + from, (size_t)n * 4); break;
    default:
        for (int64_t i = 0; i < n; i++) {
            uint32_t bits = (uint32_t)((const uint16_t *)values)[from + i] << 16;
            memcpy(out + i, &bits, 4);
        }
    }
}

#define SCATTER_BLOCK 1024

#define SCATTER_LOOP(T)                                                                            \
    {                                                                                              \
        const T *l = (const T *)locations;                                                         \
        for (int64_t block = lo; block < hi; block += SCATTER_BLOCK) {                             \
            int64_t n = hi - block < SCATTER_BLOCK ? hi - block : SCATTER_BLOCK;                   \
            widen(values, value_type, block, n, widened);                                          \
            for (int64_t i = 0; i < n; i++) {                                                      \
                const T *location = l + 3 * (block + i);                                           \
                uint64_t latent = (uint64_t)location[2] - latent_lo;                               \
                if (latent >= span) continue;                                                      \
                uint32_t at = cursor[latent]++;                                                    \
                rows_out[at] = (uint32_t)((int64_t)location[0] * ctx + (int64_t)location[1] - base_row); \
                values_out[at] = widened[i];                                                       \
            }                                                                                      \
        }                                                                                          \
        return;                                                                                    \
    }

void ck_delphi_scatter(const void *locations, int type, const void *values, int value_type, int64_t lo, int64_t hi,
                       int64_t ctx, int64_t base_row, int64_t latent_lo, int64_t latent_hi, uint32_t *cursor,
                       uint32_t *rows_out, float *values_out) {
    float widened[SCATTER_BLOCK];
    uint64_t span = (uint64_t)(latent_hi - latent_lo);
    switch (type) {
    case CK_LOCATIONS_U16: SCATTER_LOOP(uint16_t)
    case CK_LOCATIONS_U32: SCATTER_LOOP(uint32_t)
    case CK_LOCATIONS_I32: SCATTER_LOOP(int32_t)
    default: SCATTER_LOOP(int64_t)
    }
}
