// Readers for the IDX format of MNIST and Fashion-MNIST (plain or gzip).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace danlu::io {

// The Debian package `dataset-fashion-mnist` installs the dataset here.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Where Fashion-MNIST is read from when nothing names a folder: the
// environment variable DANLU_DATA_DIR when set (e.g. a machine without the
// package, holding a copy of the four files), else kFashionMnistDir.
std::string fashion_mnist_dir();

// An IDX file of unsigned bytes: its dimensions and its data, row-major.
struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

// Reads an IDX file (ubyte data), gzip-compressed or not. A missing,
// truncated or malformed file throws danlu::Error naming the path.
IdxArray read_idx(const std::string& path);

// One split of an MNIST-style dataset: images (N, 1, H, W) f32 in [0, 1] and
// labels (N) i64.
struct ImageDataset {
  Tensor images;
  Tensor labels;
  // Example i's index in the files it was read from; empty: i itself (a
  // dataset that is not a selection of another).
  std::vector<int64_t> source_index = {};
  int64_t size() const { return labels.numel(); }
  int64_t source_of(int64_t i) const { return source_index.empty() ? i : source_index[size_t(i)]; }
};

// Loads `split` ("train" or "t10k") from `dir`, which holds
// <split>-images-idx3-ubyte[.gz] and <split>-labels-idx1-ubyte[.gz].
// limit >= 0 keeps only the first `limit` examples.
ImageDataset load_mnist(const std::string& dir, const std::string& split, int64_t limit = -1);

// The examples at `indices` (e.g. one shuffled mini-batch) as a new dataset,
// each remembering its source index.
ImageDataset gather(const ImageDataset& ds, const int64_t* indices, int64_t count);

// Standardises images in place: x = (x - mean) / std.
void normalize_(ImageDataset& ds, double mean, double std);

// Per-channel statistics of Fashion-MNIST's training split (as torchvision uses).
inline constexpr double kFashionMnistMean = 0.2860;
inline constexpr double kFashionMnistStd = 0.3530;

}  // namespace danlu::io
