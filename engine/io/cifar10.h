// Reader for the binary version of CIFAR-10 (cifar-10-binary.tar.gz): each
// file is a sequence of 3073-byte records, one label byte (0..9) followed by
// the 32x32 image as 1024 red, 1024 green and 1024 blue bytes (CHW order).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "engine/io/idx.h"

namespace danlu::io {

// Loads the training split (data_batch_1.bin .. data_batch_5.bin, 50,000
// images) or the test split (test_batch.bin, 10,000 images) from `dir`, or
// from `dir`/cifar-10-batches-bin as the archive extracts. Images are
// (N, 3, 32, 32) f32 in [0, 1], labels (N) i64, in file order. limit >= 0
// keeps only the first `limit` examples (and reads only the files they need).
// A missing file, a size that is not a whole number of records or a label
// above 9 throws danlu::Error naming the path and where to get the data.
ImageDataset load_cifar10(const std::string& dir, bool train, int64_t limit = -1);

inline constexpr int64_t kCifar10Records = 10000;  // records per file
inline constexpr int64_t kCifar10RecordBytes = 1 + 3 * 32 * 32;

// Per-channel (R, G, B) statistics of the training split, the values
// torchvision recipes use with Normalize.
inline constexpr std::array<float, 3> kCifar10Mean = {0.4914f, 0.4822f, 0.4465f};
inline constexpr std::array<float, 3> kCifar10Std = {0.2470f, 0.2435f, 0.2616f};

}  // namespace danlu::io
