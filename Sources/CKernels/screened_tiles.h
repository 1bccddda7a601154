// Internal to CKernels: the int8 tile functions the screen driver in screened.c calls.
#ifndef SAESCOPE_CKERNELS_SCREENED_TILES_H
#define SAESCOPE_CKERNELS_SCREENED_TILES_H
#include <stddef.h>
#include <stdint.h>

/// Products of tile rows [m, m + CK_BF16_TILE_ROWS) of the int8 rows xq (d_pad = 4*quads bytes
/// each) with one packed panel: tile[r*64 + c] = fl(fl(row_scale[r]*col_scale[c]) * fl(P)), P the
/// exact integer dot product (row_scale, col_scale, correction: the tile's rows' and the panel's).
void ck_i8_tile(const uint8_t *xq, const int8_t *panel, size_t quads, size_t d_pad, size_t m,
                const float *row_scale, const float *col_scale, const int32_t *correction, float *tile);

/// The same products screened in the multiply's epilogue (as the bf16 tile): masks[i] bit c set
/// when not (s + e[i]*p[c] + n[i]*q[c] <= cut[c]). Returns 0 (nothing done) without VNNI or when
/// the scalar path is forced: the caller then screens `ck_i8_tile`'s products itself.
int ck_i8_tile_screen(const uint8_t *xq, const int8_t *panel, size_t quads, size_t d_pad, size_t m,
                      const float *row_scale, const float *col_scale, const int32_t *correction,
                      const float *e, const float *n, const float *p, const float *q, const float *cut, uint64_t *masks);
#endif
