// The grid the implicit GEMMs (rungs 3, 4 and 5) launch: row tiles x column
// tiles x (groups * depth splits) blocks, and whether it fits CUDA's limits.
#pragma once

#include <cstdint>
#include <string>

#include "engine/error.h"

namespace danlu::kernels::cuda {

// "" when a GEMM of rows x cols, in `groups` groups and `splits` depth
// splits, cut into tile_rows x tile_cols tiles, fits a CUDA grid; otherwise
// why not, in one line.
inline std::string gemm_grid_refusal(int64_t rows, int64_t cols, int64_t groups, int64_t splits,
                                     int64_t tile_rows, int64_t tile_cols) {
  const int64_t z = groups * splits;
  const int64_t col_tiles = (cols + tile_cols - 1) / tile_cols;
  const int64_t row_tiles = (rows + tile_rows - 1) / tile_rows;
  if (z > 65535 || col_tiles > 65535 || row_tiles > 0x7fffffff)
    return detail::concat(groups, " groups x ", splits, " depth splits, ", col_tiles,
                          " column tiles and ", row_tiles,
                          " row tiles exceed a CUDA grid (65535, 65535, 2^31 - 1)");
  return "";
}

}  // namespace danlu::kernels::cuda
