#ifndef SAESCOPE_DELPHI_SPLITS_H
#define SAESCOPE_DELPHI_SPLITS_H
// The passes of `index --codes` over a delphi split's mapped `locations [n, 3]` (batch row,
// position, latent - start) and `activations [n]` (delphi_splits.c).
#include <stdint.h>

enum { CK_LOCATIONS_U16 = 0, CK_LOCATIONS_U32 = 1, CK_LOCATIONS_I32 = 2, CK_LOCATIONS_I64 = 3 };
enum { CK_VALUES_F16 = 0, CK_VALUES_F32 = 1, CK_VALUES_BF16 = 2 };

/// One code of a latent's list: its row (an offset from the pass's first row) and its value.
/// One record, so grouping by latent makes one store per code.
typedef struct {
    uint32_t row;
    float value;
} ck_code;

/// Checks entries [lo, hi): batch row in [0, sequences), position in [0, ctx), latent offset in
/// [0, width), and rows (batch row * ctx + position) never decreasing, starting from `previous`;
/// adds one to counts[offset] per entry (counts may be NULL). Returns -1, or the first entry that fails (its counts
/// and those after it are not added).
int64_t ck_delphi_check(const void *locations, int type, int64_t lo, int64_t hi, int64_t sequences, int64_t ctx,
                        int64_t width, int64_t previous, uint32_t *counts);

/// Global row (batch row * ctx + position) of one entry.
int64_t ck_delphi_row(const void *locations, int type, int64_t ctx, int64_t entry);

/// For entries [lo, hi) (already checked) whose latent offset lies in [latent_lo, latent_hi):
/// appends (row - base_row, value as float32) to that latent's list at out[cursor[offset - latent_lo]],
/// advancing the cursor. Entries keep their order, so each list's rows ascend.
void ck_delphi_scatter(const void *locations, int type, const void *values, int value_type, int64_t lo, int64_t hi,
                       int64_t ctx, int64_t base_row, int64_t latent_lo, int64_t latent_hi, uint32_t *cursor,
                       ck_code *out);

/// Over codes[0..<n) in order: absolute_sum gains |value| of every code; the codes recorded
/// (value >= minimum, finite, not zero) are counted into valid (set), added to sum (in double,
/// from its value) and raise max (from its value).
void ck_code_sums(const ck_code *codes, int64_t n, float minimum, double *absolute_sum, int64_t *valid, double *sum,
                  float *max);

/// 1 when every code is recorded (value >= minimum, finite, not zero), else 0.
int ck_all_recorded(const ck_code *codes, int64_t n, float minimum);

/// One feature's binned tables and interval samples (BinnedCells.swift), offset to the feature:
/// histogram [bins], interval_count, sample_count and sample_ceiling [intervals], sample_key,
/// sample_row and sample_value [intervals * per_interval], sample_context [... * width].
typedef struct {
    int64_t *histogram;
    int64_t *interval_count;
    int32_t *sample_count;
    uint64_t *sample_key;
    int64_t *sample_row;
    float *sample_value;
    float *sample_context;
    uint64_t *sample_ceiling;
    int32_t bins, intervals, per_interval, width;
    uint64_t seed;
    int64_t feature;
} ck_binned_feature;

/// A feature's running sums over its codes in row order: |f| (the metrics'), and the recorded
/// codes' sum (in double) and max.
typedef struct {
    double absolute_sum;
    double sum;
    float max;
} ck_running_sums;

/// Records codes[from..<n) (rows base_row + row ascending; all recorded values) into the
/// feature's cells, from the first until one is not below `stop_at` (the range's upper bound,
/// 2^exponent); returns its index (n if none). Each value is counted in its histogram bin and
/// interval, binned as BinScale.index(of:bins:) does, and offered as an interval sample (key
/// exemplarKey(seed, feature, row)) as BinnedCells.offerSample does; a kept sample's context
/// slot gets its list entry (entry_of[i], or first_entry + i when entry_of is NULL) in its first
/// four bytes. `sums`, when not NULL, gains the counted values in order. `worst` is scratch for
/// `intervals` slots.
int64_t ck_record_bins(const ck_code *codes, int64_t from, int64_t n, int64_t base_row, int32_t exponent, float stop_at,
                       const ck_binned_feature *cells, const uint32_t *entry_of, int64_t first_entry, ck_running_sums *sums,
                       int64_t *worst);

/// An exemplar's context from its latent's list (codes[0..n), rows base_row + row ascending), the
/// exemplar being the list's entry `entry` (row = base_row + codes[entry].row): slot[p] for rows
/// row - context + p, p in 0...2 * context: NaN outside the row's sequence (sequences of
/// sequence_length rows), the list's value on that row, else 0. The neighbours are the entries
/// just before and after it, so no search is needed.
void ck_fill_context_at(const ck_code *codes, int64_t n, int64_t base_row, int64_t entry, int64_t context,
                        int64_t sequence_length, float *slot);

/// Token-id windows of a token matrix [sequences, length] (int64 when is_int64, else int32,
/// row-major): for each i with rows[i] >= 0, windows + i * (2 * context + 1) gets the ids of rows
/// rows[i] - context ... rows[i] + context (-1 outside the row's sequence, or for an id that
/// does not fit int32); windows of rows[i] < 0 are left alone. The rows are random, so the ids
/// of later windows are prefetched while earlier ones are copied.
void ck_token_windows(const void *ids, int is_int64, int64_t length, int64_t context, const int64_t *rows, int64_t n,
                      int32_t *windows);

/// From code `from`, the first whose value is at least `floor` (the top exemplars' floor); n if none.
int64_t ck_next_at_least(const ck_code *codes, int64_t from, int64_t n, float floor);

#endif
