// The two passes `index --codes` makes over a delphi split's mapped columns: checking the
// locations (and counting entries per latent), then scattering them into per-latent lists.
// Both are streaming loops over millions of entries; the float16 values are widened in blocks
// with F16C where the machine has it (Swift is built for baseline x86-64, without it).
#include "CKernels.h"
#include <immintrin.h>
#include <math.h>
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

static void ck_halves_to_floats(const uint16_t *h, float *out, int64_t n) {
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
// Latents of one scatter that get a staging line (64 bytes each, 4 MB at most); more go direct.
#define SCATTER_STAGED_LATENTS 65536

// Each latent's codes first go to a 64-byte staging line of its own (the staging lines stay in
// cache); a full line is written to the list with streaming stores, which do not read the
// destination line first. Storing each code straight into its list instead (thousands of lists
// at once) makes every store a cache miss that reads the line before writing it: about twice
// the time. Lines that are partly another list's are written code by code.
static inline void flush_line(ck_code *out, const ck_code *line, uint32_t at, uint32_t list_start) {
    uint32_t line_start = at & ~7u;
    if (line_start >= list_start) {
        __m128i *to = (__m128i *)(out + line_start);
        const __m128i *from = (const __m128i *)line;
        _mm_stream_si128(to, _mm_load_si128(from));
        _mm_stream_si128(to + 1, _mm_load_si128(from + 1));
        _mm_stream_si128(to + 2, _mm_load_si128(from + 2));
        _mm_stream_si128(to + 3, _mm_load_si128(from + 3));
    } else {
        for (uint32_t q = list_start; q <= at; q++) out[q] = line[q & 7];
    }
}

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
                ck_code code = {(uint32_t)((int64_t)location[0] * ctx + (int64_t)location[1] - base_row), widened[i]}; \
                if (!stage) {                                                                      \
                    out[at] = code;                                                                \
                    continue;                                                                      \
                }                                                                                  \
                ck_code *line = stage + 8 * latent;                                                \
                line[at & 7] = code;                                                               \
                if ((at & 7) == 7) flush_line(out, line, at, list_start[latent]);                  \
            }                                                                                      \
        }                                                                                          \
        break;                                                                                     \
    }

void ck_delphi_scatter(const void *locations, int type, const void *values, int value_type, int64_t lo, int64_t hi,
                       int64_t ctx, int64_t base_row, int64_t latent_lo, int64_t latent_hi, uint32_t *cursor,
                       ck_code *out) {
    float widened[SCATTER_BLOCK];
    uint64_t span = (uint64_t)(latent_hi - latent_lo);
    // Staging needs the lines of `out` aligned to 64 bytes (its index 8k starts a line).
    ck_code *stage = NULL;
    uint32_t *list_start = NULL;
    if (span > 0 && span <= SCATTER_STAGED_LATENTS && ((uintptr_t)out & 63) == 0) {
        stage = aligned_alloc(64, (size_t)span * 64);
        list_start = malloc((size_t)span * sizeof(uint32_t));
        if (!stage || !list_start) {
            free(stage);
            free(list_start);
            stage = NULL;
            list_start = NULL;
        } else {
            memcpy(list_start, cursor, (size_t)span * sizeof(uint32_t));
        }
    }
    switch (type) {
    case CK_LOCATIONS_U16: SCATTER_LOOP(uint16_t)
    case CK_LOCATIONS_U32: SCATTER_LOOP(uint32_t)
    case CK_LOCATIONS_I32: SCATTER_LOOP(int32_t)
    default: SCATTER_LOOP(int64_t)
    }
    if (stage) {
        // Each list's last line, when it did not fill.
        for (uint64_t latent = 0; latent < span; latent++) {
            uint32_t end = cursor[latent], from = end & ~7u;
            if (from < list_start[latent]) from = list_start[latent];
            for (uint32_t q = from; q < end; q++) out[q] = stage[8 * latent + (q & 7)];
        }
        _mm_sfence();
        free(stage);
        free(list_start);
    }
}

// ---- Recording one latent's list (FeatureAccumulator+Lists.swift) ----

// Both running sums are chains of dependent adds (the order is the file's: rows ascending); in
// one loop they overlap, and the max and the validity test cost nothing beside them.
void ck_code_sums(const ck_code *codes, int64_t n, float minimum, double *absolute_sum, int64_t *valid, double *sum,
                  float *max) {
    double absolute = *absolute_sum, total = *sum;
    float largest = *max;
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) {
        float value = codes[i].value;
        absolute += (double)fabsf(value);
        if (value >= minimum && isfinite(value) && value != 0) {
            count += 1;
            total += (double)value;
            largest = value > largest ? value : largest;
        }
    }
    *absolute_sum = absolute;
    *valid = count;
    *sum = total;
    *max = largest;
}

// BinScale.index(of:bins:) for values in (0, 2^exponent): the same float operations in the
// same order (value times the exact reciprocal 2^-exponent, or divided by 2^exponent when that
// reciprocal is not a float), then times `bins`, truncated and clamped.
static inline int64_t bin_index(float value, float reciprocal, float upper, int divides, float bins) {
    float unit = divides ? value / upper : value * reciprocal;
    int64_t index = (int64_t)(unit * bins);
    int64_t last = (int64_t)bins - 1;
    return index < 0 ? 0 : index > last ? last : index;
}

// exemplarKey(seed:feature:row:) of ExemplarKey.swift (splitmix64's finaliser).
#define EXEMPLAR_KEYS_BODY                                                                         \
    for (int64_t i = 0; i < n; i++) {                                                              \
        uint64_t z = seed + (uint64_t)(base_row + (int64_t)codes[i].row) * 0x9E3779B97F4A7C15ull + \
                     (uint64_t)feature * 0xD1B54A32D192ED03ull;                                    \
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;                                               \
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;                                               \
        keys[i] = z ^ (z >> 31);                                                                   \
    }

__attribute__((target("avx512f,avx512dq,avx512vl")))
static void exemplar_keys_avx512(const ck_code *codes, int64_t n, int64_t base_row, uint64_t seed, int64_t feature, uint64_t *keys) {
    EXEMPLAR_KEYS_BODY
}

static void exemplar_keys_scalar(const ck_code *codes, int64_t n, int64_t base_row, uint64_t seed, int64_t feature, uint64_t *keys) {
    EXEMPLAR_KEYS_BODY
}

static void exemplar_keys(const ck_code *codes, int64_t n, int64_t base_row, uint64_t seed, int64_t feature, uint64_t *keys) {
    static int has_avx512dq = -1;
    if (has_avx512dq < 0) has_avx512dq = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    if (has_avx512dq) {
        exemplar_keys_avx512(codes, n, base_row, seed, feature, keys);
    } else {
        exemplar_keys_scalar(codes, n, base_row, seed, feature, keys);
    }
}

int ck_all_recorded(const ck_code *codes, int64_t n, float minimum) {
    // Branch-free over the list (almost always all recorded): one test at the end.
    int failed = 0;
    for (int64_t i = 0; i < n; i++) {
        float value = codes[i].value;
        failed |= !(value >= minimum && isfinite(value) && value != 0);
    }
    return !failed;
}

// One feature's interval samples (BinnedCells), as separate pointers that do not alias, so the
// stores of an offer do not make the loop reload the others. worst[cell] is the slot (0..<m) of
// the largest kept key of a full cell, the one its ceiling names (keys of one feature's rows are
// distinct: splitmix's finaliser is a bijection, and so is row -> seed + row * odd constant).
typedef struct {
    int32_t *restrict count;
    uint64_t *restrict key;
    int64_t *restrict row;
    float *restrict value;
    float *restrict context;
    uint64_t *restrict ceiling;
    int64_t *restrict worst;
    int64_t m, width;
} sampler;

static inline void find_worst(const sampler *samples, int64_t cell) {
    int64_t base = cell * samples->m, worst = 0;
    uint64_t ceiling = samples->key[base];
    for (int64_t s = 1; s < samples->m; s++) {
        int larger = samples->key[base + s] > ceiling;
        ceiling = larger ? samples->key[base + s] : ceiling;
        worst = larger ? s : worst;
    }
    samples->ceiling[cell] = ceiling;
    samples->worst[cell] = worst;
}

// BinnedCells.offerSample (a C copy of it, for a few percent of the codes) for a value the cell
// keeps: it has fewer than m samples, or the key is below its ceiling (the caller's test). The
// kept slot's context holds the code's list entry until the contexts are read (stash).
static inline __attribute__((always_inline)) void offer_sample(const sampler *samples, int64_t cell, uint64_t key, int64_t row,
                                                               float value, uint32_t entry) {
    int64_t base = cell * samples->m;
    int32_t filled = samples->count[cell];
    int64_t slot;
    if (filled < samples->m) {
        slot = base + filled;
        samples->count[cell] = filled + 1;
    } else {
        slot = base + samples->worst[cell];
    }
    samples->key[slot] = key;
    samples->row[slot] = row;
    samples->value[slot] = value;
    memcpy(samples->context + slot * samples->width, &entry, sizeof entry);
    if (filled + 1 >= samples->m) find_worst(samples, cell);
}

// Keys are computed a block ahead with the vector loop (three 64-bit products each).
#define RECORD_BLOCK 256

typedef struct {
    float reciprocal, upper;
    int divides;
} bin_scale;

// Bin of each value among `bins` (as bin_index; values below 2^exponent, so the index fits 32 bits):
// a loop the compiler vectorizes.
static inline void bin_indices(const ck_code *codes, int64_t n, bin_scale scale, int32_t bins, uint16_t *out) {
    const float float_bins = (float)bins;
    const int32_t last = bins - 1;
    if (scale.divides) {
        for (int64_t i = 0; i < n; i++) {
            int32_t index = (int32_t)(codes[i].value / scale.upper * float_bins);
            out[i] = (uint16_t)(index < 0 ? 0 : index > last ? last : index);
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            int32_t index = (int32_t)(codes[i].value * scale.reciprocal * float_bins);
            out[i] = (uint16_t)(index < 0 ? 0 : index > last ? last : index);
        }
    }
}

// The loop of ck_record_bins; `with_sums` is a constant in each of its two uses.
static inline __attribute__((always_inline)) int64_t record_bins_loop(
    const ck_code *codes, int64_t i, int64_t n, int64_t base_row, bin_scale scale, float stop_at,
    const ck_binned_feature *cells, const uint32_t *entry_of, int64_t first_entry, ck_running_sums *sums, int64_t *worst,
    const int with_sums) {
    const int32_t bins = cells->bins, intervals = cells->intervals, m = cells->per_interval;
    int64_t *restrict histogram = cells->histogram, *restrict interval_count = cells->interval_count;
    sampler samples = {cells->sample_count, cells->sample_key, cells->sample_row, cells->sample_value, cells->sample_context,
                       cells->sample_ceiling, worst, m, cells->width};
    for (int64_t cell = 0; m > 0 && cell < intervals; cell++) {
        if (samples.count[cell] == m) find_worst(&samples, cell);
    }
    double absolute = with_sums ? sums->absolute_sum : 0, total = with_sums ? sums->sum : 0;
    float largest = with_sums ? sums->max : 0;
    uint64_t keys[RECORD_BLOCK];
    uint16_t bin_of[RECORD_BLOCK], interval_of[RECORD_BLOCK];
    while (i < n) {
        int64_t block_end = n - i < RECORD_BLOCK ? n : i + RECORD_BLOCK;
        int64_t stop = ck_next_at_least(codes, i, block_end, stop_at), count = stop - i;
        if (m > 0) exemplar_keys(codes + i, count, base_row, cells->seed, cells->feature, keys);
        bin_indices(codes + i, count, scale, bins, bin_of);
        bin_indices(codes + i, count, scale, intervals, interval_of);
        for (int64_t j = 0; j < count; j++) {
            float value = codes[i + j].value;
            if (with_sums) {
                absolute += (double)fabsf(value);
                total += (double)value;
                largest = value > largest ? value : largest;
            }
            int64_t interval = interval_of[j];
            histogram[bin_of[j]] += 1;
            interval_count[interval] += 1;
            if (m > 0 && (samples.count[interval] < m || keys[j] < samples.ceiling[interval])) {
                offer_sample(&samples, interval, keys[j], base_row + (int64_t)codes[i + j].row, value,
                             entry_of ? entry_of[i + j] : (uint32_t)(first_entry + i + j));
            }
        }
        i = stop;
        if (stop < block_end) break;
    }
    if (with_sums) {
        sums->absolute_sum = absolute;
        sums->sum = total;
        sums->max = largest;
    }
    return i;
}

int64_t ck_record_bins(const ck_code *codes, int64_t from, int64_t n, int64_t base_row, int32_t exponent, float stop_at,
                       const ck_binned_feature *cells, const uint32_t *entry_of, int64_t first_entry, ck_running_sums *sums,
                       int64_t *worst) {
    bin_scale scale = {0, exponent >= 128 ? __builtin_inff() : ldexpf(1.0f, exponent), 0};
    if (exponent >= 128) {
        scale.reciprocal = 0;
    } else if (exponent >= -127) {
        scale.reciprocal = ldexpf(1.0f, -exponent);
    } else {
        scale.divides = 1;
    }
    return sums ? record_bins_loop(codes, from, n, base_row, scale, stop_at, cells, entry_of, first_entry, sums, worst, 1)
                : record_bins_loop(codes, from, n, base_row, scale, stop_at, cells, entry_of, first_entry, sums, worst, 0);
}

void ck_fill_context_at(const ck_code *codes, int64_t n, int64_t base_row, int64_t entry, int64_t context,
                        int64_t sequence_length, float *slot) {
    int64_t row = base_row + (int64_t)codes[entry].row;
    int64_t sequence_start = row / sequence_length * sequence_length;
    int64_t from = row - context > sequence_start ? row - context : sequence_start;
    int64_t to = row + context + 1 < sequence_start + sequence_length ? row + context + 1 : sequence_start + sequence_length;
    for (int64_t p = 0; p <= 2 * context; p++) {
        int64_t neighbour = row - context + p;
        slot[p] = neighbour >= from && neighbour < to ? 0.0f : __builtin_nanf("");
    }
    // Rows ascend and are distinct: the neighbours in the window are at most `context` entries away.
    for (int64_t e = entry; e >= 0; e--) {
        int64_t neighbour = base_row + (int64_t)codes[e].row;
        if (neighbour < from) break;
        slot[neighbour - row + context] = codes[e].value;
    }
    for (int64_t e = entry + 1; e < n; e++) {
        int64_t neighbour = base_row + (int64_t)codes[e].row;
        if (neighbour >= to) break;
        slot[neighbour - row + context] = codes[e].value;
    }
}

// How many windows ahead the token ids are prefetched (each a random read, mostly from memory).
#define TOKEN_PREFETCH_AHEAD 16

void ck_token_windows(const void *ids, int is_int64, int64_t length, int64_t context, const int64_t *rows, int64_t n,
                      int32_t *windows) {
    int64_t width = 2 * context + 1, size = is_int64 ? 8 : 4;
    const char *bytes = (const char *)ids;
    for (int64_t i = 0; i < n; i++) {
        if (i + TOKEN_PREFETCH_AHEAD < n && rows[i + TOKEN_PREFETCH_AHEAD] >= 0) {
            int64_t ahead = rows[i + TOKEN_PREFETCH_AHEAD];
            int64_t sequence = ahead / length * length;
            int64_t first = ahead - context > sequence ? ahead - context : sequence;
            int64_t last = ahead + context < sequence + length - 1 ? ahead + context : sequence + length - 1;
            const char *start = bytes + first * size, *end = bytes + last * size;
            for (const char *line = (const char *)((uintptr_t)start & ~(uintptr_t)63); line <= end; line += 64)
                __builtin_prefetch(line);
        }
        int64_t row = rows[i];
        if (row < 0) continue;
        int32_t *window = windows + i * width;
        int64_t first = row / length * length, end = first + length;
        for (int64_t p = 0; p < width; p++) {
            int64_t neighbour = row - context + p;
            if (neighbour < first || neighbour >= end) {
                window[p] = -1;
                continue;
            }
            int64_t id;
            if (is_int64) {
                memcpy(&id, bytes + neighbour * 8, 8);
            } else {
                int32_t narrow;
                memcpy(&narrow, bytes + neighbour * 4, 4);
                id = narrow;
            }
            window[p] = id >= 0 && id <= INT32_MAX ? (int32_t)id : -1;
        }
    }
}

int64_t ck_next_at_least(const ck_code *codes, int64_t from, int64_t n, float floor) {
    int64_t i = from;
    __m128 bound = _mm_set1_ps(floor);
    for (; i + 4 <= n; i += 4) {
        // Four codes are (row, value) x 4: the odd lanes of two loads.
        __m128 a = _mm_loadu_ps((const float *)(codes + i)), b = _mm_loadu_ps((const float *)(codes + i + 2));
        int mask = _mm_movemask_ps(_mm_cmpge_ps(_mm_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)), bound));
        if (mask) return i + __builtin_ctz((unsigned)mask);
    }
    for (; i < n; i++) {
        if (codes[i].value >= floor) return i;
    }
    return n;
}
