#ifndef SAESCOPE_CKERNELS_SCREENED_H
#define SAESCOPE_CKERNELS_SCREENED_H
// The screened encode's kernels (see ScreenedEncoder.swift for the error bound and its proof):
// bf16 copies of the inputs and the encoder weights, a bf16 matrix multiply with AVX-512 BF16
// (`vdpbf16ps`, fp32 accumulation) whose epilogue screens every pre-activation against a
// rigorous bound and recomputes in fp32 only the entries that the bound cannot rule out.
#include <stddef.h>
#include <stdint.h>

/// Rows per micro-tile of the bf16 multiply: chunk buffers of bf16 rows are padded to a multiple.
#define CK_BF16_TILE_ROWS 6
/// Columns per panel of the packed bf16 weights: the feature count is padded to a multiple.
#define CK_BF16_PANEL_COLUMNS 64

/// 1 when the CPU has AVX-512 F/BW/VL and AVX512_BF16 (the screened multiply's instructions).
int ck_bf16_available(void);
/// Forces the portable scalar multiply (same bf16 products, same fp32 accumulation order) for
/// tests on any CPU: 1 forces it, 0 restores the default.
void ck_bf16_force_scalar(int on);

/// Round-to-nearest-even bf16 of a finite float, with bf16 subnormals flushed to zero (the
/// multiply's instruction treats them as zero, so the copy holds exactly what it multiplies).
uint16_t ck_bf16_round(float x);

/// Elements (uint16) of the packed weights for d inputs and f features: d padded to even, f to a panel.
size_t ck_bf16_packed_count(size_t d, size_t f);

/// Packs panels [first_panel, last_panel) of w ([d, f] row-major, column j is feature j) into
/// bf16 panels of 64 features, pairs of inputs interleaved as `vdpbf16ps` reads them; padding is
/// zero. For each feature j of those panels: norms[3j] = ||w_j||, norms[3j+1] = ||w_j - w~_j||,
/// norms[3j+2] = ||w~_j|| (in double, from the stored bf16).
void ck_bf16_pack_weights(const float *w, size_t d, size_t f, size_t first_panel, size_t last_panel, uint16_t *packed, double *norms);

/// Rows [first, last) of w^T: out[j * d + i] = w[i * f + j].
void ck_transpose(const float *w, size_t d, size_t f, size_t first, size_t last, float *out);

/// Converts rows [first, last) of x ([rows, d] row-major) to bf16 rows of d_pad = d rounded up to
/// even (padding zero), and per row: norms[2r] = ||x_r - x~_r||, norms[2r+1] = ||x~_r|| (double).
void ck_bf16_convert_rows(const float *x, size_t d, size_t first, size_t last, uint16_t *out, double *norms);

/// The screen of an elementwise rule, for the rows [0, rows) and the panels of features [col_lo, col_hi)
/// (col_lo a multiple of 64). With s the bf16 product of row r and feature j (fp32 accumulation),
/// entry (r, j) is a candidate unless s + row_e[r]*col_p[j] + row_n[r]*col_q[j] <= cut[j] (each step
/// rounded in fp32, as the proof in ScreenedEncoder.swift allows for). Every candidate's
/// pre-activation p = x_r . wt_j is recomputed in fp32 and tested exactly as `ck_scan_row` tests it:
/// v = adds_bias ? p + bias[j] : p, kept when !(v <= floor[j]) (keeps_nan) or v > floor[j]; kept
/// entries are appended (row, feature, p + bias[j]) in batches grouped by feature (rows ascending
/// within a feature); each row's features come out ascending. Candidates are recomputed in batches
/// after many tiles (grouped by feature: a weight row read once for its rows), not between tiles.
/// Returns the number kept, or -1 when more than `max_candidates` candidates were met (the caller
/// then takes the fp32 path). `*candidates` receives the number of candidates met.
/// xq: [rows_pad, d_pad] bf16 rows (rows_pad a multiple of CK_BF16_TILE_ROWS); x: [rows, d] fp32;
/// wt: [f, d] fp32 (the encoder weights transposed).
long ck_screen_elementwise(const uint16_t *xq, const uint16_t *wq, size_t rows, size_t d, size_t f,
                           size_t col_lo, size_t col_hi,
                           const float *row_e, const float *row_n, const float *col_p, const float *col_q,
                           const float *cut, const float *x, const float *wt,
                           const float *bias, const float *floor, int adds_bias, int keeps_nan,
                           int32_t *out_row, int32_t *out_feature, float *out_value, size_t capacity,
                           size_t max_candidates, size_t *candidates);

/// The bf16 products themselves (no screen) for rows [0, rows) and panels [col_lo, col_hi), into
/// s ([rows, ld] row-major): for the top-k screen and for the benchmarks.
void ck_bf16_multiply(const uint16_t *xq, const uint16_t *wq, size_t rows, size_t d, size_t f,
                      size_t col_lo, size_t col_hi, float *s, size_t ld);

/// The top-k screen of rows [first, last) of the bf16 products s ([rows, ld]): for each row, lower
/// and upper bounds on the fp32 path's v_j = fl(p_j + bias[j]) (radius row_e*col_p + row_n*col_q,
/// widened by the rounding of the bias add, plus `absolute`), and every j whose upper bound is
/// positive and at least the row's k-th largest lower bound (a candidate) recomputed in fp32; of
/// those, the k largest positive v (ties to the lower feature) are appended (row, feature, v) in
/// feature order. Scratch: lower, upper, scratch, candidate_* of f entries each. Returns the number
/// kept, or -1 past `max_candidates` candidates or `capacity` kept.
long ck_screen_topk_rows(const float *s, size_t ld, size_t first, size_t last, size_t f, size_t k,
                         const float *row_e, const float *row_n, const float *col_p, const float *col_q,
                         const float *bias, double absolute, const float *x, size_t d, const float *wt,
                         float *lower, float *upper, float *scratch, int32_t *candidate_feature, float *candidate_value,
                         int32_t *out_row, int32_t *out_feature, float *out_value, size_t capacity,
                         size_t max_candidates, size_t *candidates);

/// The k-th largest of values[0..<n] (1 <= k <= n); scratch holds n floats. NaN are not expected.
float ck_kth_largest(const float *values, size_t n, size_t k, float *scratch);
// MARK: int8 (AVX-512 VNNI)

/// 1 when the CPU has AVX-512 F/BW/VL and AVX512_VNNI (the int8 multiply's `vpdpbusd`).
int ck_i8_available(void);
/// Forces the portable scalar int8 multiply (the same exact integer sums and the same two
/// roundings, so the same products bit for bit) for tests: 1 forces it, 0 restores the default.
void ck_i8_force_scalar(int on);

/// Bytes of the packed int8 weights for d inputs and f features: d padded to a multiple of 4, f to a panel.
size_t ck_i8_packed_count(size_t d, size_t f);

/// Packs panels [first_panel, last_panel) of wt ([f, d]: the encoder weights transposed, a
/// feature's weights contiguous) into int8 panels of 64 features,
/// four inputs per 32-bit lane as `vpdpbusd` reads them (padding zero). Feature j: scale[j] =
/// max_i |w_ij| / 127 (fp32), w~_j = scale[j] * q_j with q_j the nearest integers in [-127, 127],
/// correction[j] = 128 * sum_i q_ij; norms[3j] = ||w_j||, norms[3j+1] = ||w_j - w~_j||,
/// norms[3j+2] = ||w~_j|| (double). scale, correction: room for the padded panels.
void ck_i8_pack_weights(const float *wt, size_t d, size_t f, size_t first_panel, size_t last_panel,
                        int8_t *packed, float *scale, int32_t *correction, double *norms);

/// Rows [first, last) of x as u8 rows of d_pad = d rounded up to a multiple of 4: out = q + 128
/// with x~_r = scale[r] * q, scale[r] = max_i |x_ri| / 127, q the nearest integers in [-127, 127]
/// (padding 128, against zero weights); norms[2r] = ||x_r - x~_r||, norms[2r+1] = ||x~_r|| (double).
void ck_i8_convert_rows(const float *x, size_t d, size_t first, size_t last, uint8_t *out, float *scale, double *norms);

/// `ck_screen_elementwise` with int8 operands: s = fl(fl(row_scale[r] * col_scale[j]) * fl(P)),
/// P = x~ . w~ / (row_scale * col_scale) exact in int32. xq: [rows_pad, d_pad] u8 rows and
/// row_scale: rows_pad scales (rows_pad a multiple of CK_BF16_TILE_ROWS).
long ck_i8_screen_elementwise(const uint8_t *xq, const float *row_scale, const int8_t *wq, const float *col_scale,
                              const int32_t *correction, size_t rows, size_t d, size_t f,
                              size_t col_lo, size_t col_hi,
                              const float *row_e, const float *row_n, const float *col_p, const float *col_q,
                              const float *cut, const float *x, const float *wt,
                              const float *bias, const float *floor, int adds_bias, int keeps_nan,
                              int32_t *out_row, int32_t *out_feature, float *out_value, size_t capacity,
                              size_t max_candidates, size_t *candidates);

/// The int8 products themselves (no screen), as `ck_bf16_multiply`: for the top-k screen.
void ck_i8_multiply(const uint8_t *xq, const float *row_scale, const int8_t *wq, const float *col_scale, const int32_t *correction,
                    size_t rows, size_t d, size_t f, size_t col_lo, size_t col_hi, float *s, size_t ld);
#endif
