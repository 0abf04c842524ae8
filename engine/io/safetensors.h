// safetensors: the file format of danlu's checkpoints and pretrained weights,
// byte for byte as https://github.com/huggingface/safetensors specifies, so
// PyTorch's `safetensors` reads what danlu writes and the other way round.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace danlu::io {

// What a safetensors file holds: its tensors in the order of their data in
// the file (for files danlu writes, the order they were saved in) and the
// string map stored under the header's "__metadata__".
struct SafetensorsFile {
  std::vector<std::pair<std::string, Tensor>> tensors;
  std::map<std::string, std::string> metadata;
};

// The metadata key of the data checksum: the CRC-32 (zlib's, as in gzip and
// PNG) of the whole data buffer, as 8 lowercase hex digits. Readers that do
// not know it (PyTorch's safetensors) see one more metadata string.
inline constexpr const char* kChecksumKey = "danlu.crc32";

// Writes `tensors` (f32 -> F32, f64 -> F64, i64 -> I64; tensors on a GPU are
// copied to the CPU) and `metadata`, plus kChecksumKey when `checksum` is
// set. Crash-safe: the bytes go to <path>.tmp.<pid> in the same directory,
// which is fsynced and renamed over `path`; on any failure the temp file is
// removed and an existing `path` is left as it was. Names must be unique and
// not "__metadata__".
void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {},
                      bool checksum = false);

// Reads a safetensors file into CPU tensors. Everything is checked before a
// tensor is read: size, header length, JSON (numbers too large for their
// type included), dtypes (F32, F64 and I64 load), shapes against byte sizes,
// and that the tensors tile the data buffer exactly. A file with
// kChecksumKey must match it (flipped bits in the weights are refused); the
// key is not part of the returned metadata. A bad file throws a one-line
// danlu::Error naming `path`.
SafetensorsFile load_safetensors(const std::string& path);

}  // namespace danlu::io
