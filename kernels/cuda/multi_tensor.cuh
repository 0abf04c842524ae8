// Multi-tensor apply, as PyTorch's MultiTensorApply: one launch runs a
// per-element rule over many tensors. The host cuts every tensor into chunks
// of kChunk elements and uploads a table (one Row per tensor, one ChunkRef
// per chunk); block b of the launch handles chunk b. A chunk's elements all
// belong to one tensor, so a block never looks up more than one row.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/cuda/launch.cuh"
#include "kernels/optim.h"

namespace danlu::kernels::cuda {

constexpr int64_t kChunk = 65536;
constexpr int kChunkThreads = 512;

// One tensor of a launch: its element arrays (param, grad, up to three state
// buffers), length, two per-tensor float constants (e.g. Adam's step size and
// bias correction for this tensor's step count) and the `fresh` flag.
struct Row {
  float* list[5];
  int64_t n;
  float c[2];
  int fresh;
};

// Chunk `chunk` (elements [chunk * kChunk, (chunk + 1) * kChunk)) of row `row`.
struct ChunkRef {
  int32_t row;
  int32_t chunk;
};

// The uploaded table as a kernel argument.
struct Table {
  const Row* rows;
  const ChunkRef* chunks;
  int num_chunks;
};

// Writes `rows` and their chunk list into the pinned buffer, copies it to the
// device buffer on `stream` and returns the device table (rows with n == 0
// get no chunks).
Table upload(FusedTable& table, const std::vector<Row>& rows, Stream stream);

// A Row for each tensor: its pointers, length and fresh flag; `constants`
// fills Row::c from the tensor (typically from its step count).
template <class Constants>
std::vector<Row> rows_of(const FusedTensors& tensors, Constants constants) {
  std::vector<Row> rows;
  rows.reserve(tensors.size());
  for (const FusedTensor& t : tensors) {
    Row r{{t.param, const_cast<float*>(t.grad), t.state[0], t.state[1], t.state[2]},
          t.n,
          {0.0f, 0.0f},
          t.fresh ? 1 : 0};
    constants(t, r.c);
    rows.push_back(r);
  }
  return rows;
}

inline void no_constants(const FusedTensor&, float*) {}

// Block b applies rule(row, i) to every element i of chunk b: thread t takes
// elements begin + t, begin + t + 512, ... of the chunk.
template <class Rule>
__global__ void multi_tensor_kernel(Table table, Rule rule) {
  const ChunkRef ref = table.chunks[blockIdx.x];
  const Row row = table.rows[ref.row];
  const int64_t begin = static_cast<int64_t>(ref.chunk) * kChunk;
  const int64_t end = begin + kChunk < row.n ? begin + kChunk : row.n;
  for (int64_t i = begin + threadIdx.x; i < end; i += kChunkThreads) rule(row, i);
}

// Uploads the table and launches `rule` over every chunk.
template <class Rule>
void multi_tensor_apply(const char* name, FusedTable& table, const std::vector<Row>& rows,
                        Rule rule, Stream stream) {
  const Table t = upload(table, rows, stream);
  launch(name, multi_tensor_kernel<Rule>, static_cast<unsigned>(t.num_chunks), kChunkThreads, 0,
         stream, t, rule);
}

}  // namespace danlu::kernels::cuda
