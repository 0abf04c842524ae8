// IDX: a big-endian header (magic 0x0000TTDD: type TT, DD dimensions, then
// one u32 per dimension) followed by the raw data. zlib's gzread reads gzip
// and plain files alike.
#include "engine/io/idx.h"

#include <zlib.h>

#include <cerrno>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>

#include "engine/error.h"

namespace danlu::io {

namespace {

constexpr int kUbyteType = 0x08;
// No real IDX file comes near this (MNIST's images are 47 MB); a header
// that claims more is corrupt.
constexpr int64_t kMaxBytes = int64_t(1) << 40;

std::string missing_hint(const std::string& path) {
  if (path.find("fashion") != std::string::npos)
    return "; Fashion-MNIST comes with the Debian package dataset-fashion-mnist "
           "(apt-get install dataset-fashion-mnist)";
  return "; check the data path";
}

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

// Reads exactly n bytes or throws a "truncated" error. A part read in
// chunks passes the bytes read `before` and its `total`, for the message.
void read_exactly(gzFile f, void* out, size_t n, const std::string& path, const char* what,
                  size_t before = 0, size_t total = 0) {
  size_t got = 0;
  while (got < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - got, 1u << 30));
    const int r = gzread(f, static_cast<char*>(out) + got, chunk);
    if (r <= 0) {
      int code = 0;
      const char* msg = gzerror(f, &code);
      DANLU_FAIL(path, " is truncated or corrupt: expected ", std::max(before + n, total),
                 " bytes of ", what, ", got ", before + got,
                 code < 0 && code != Z_BUF_ERROR ? std::string(" (") + msg + ")" : "",
                 missing_hint(path));
    }
    got += r;
  }
}

uint32_t big_endian(const unsigned char* b) {
  return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
}

// `base` itself or `base`.gz, whichever exists.
std::string find_file(const std::string& base) {
  if (std::filesystem::exists(base + ".gz")) return base + ".gz";
  if (std::filesystem::exists(base)) return base;
  DANLU_FAIL("cannot find ", base, ".gz (nor ", base, ")", missing_hint(base));
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  std::unique_ptr<gzFile_s, GzCloser> f(gzopen(path.c_str(), "rb"));
  DANLU_CHECK(f, "cannot open ", path, ": ", std::strerror(errno), missing_hint(path));
  unsigned char magic[4];
  read_exactly(f.get(), magic, 4, path, "header");
  DANLU_CHECK(magic[0] == 0 && magic[1] == 0, path, " is not an IDX file (bad magic number)");
  DANLU_CHECK(magic[2] == kUbyteType, path, ": IDX element type 0x", std::hex, int(magic[2]),
              " is not supported; only unsigned bytes (0x08) are");
  IdxArray out;
  const int ndim = magic[3];
  DANLU_CHECK(ndim >= 1 && ndim <= 4, path, ": IDX file with ", ndim, " dimensions");
  int64_t count = 1;
  for (int d = 0; d < ndim; ++d) {
    unsigned char b[4];
    read_exactly(f.get(), b, 4, path, "header");
    out.dims.push_back(big_endian(b));
    DANLU_CHECK(!__builtin_mul_overflow(count, out.dims.back(), &count) && count <= kMaxBytes,
                path, ": the IDX header declares more than 2^40 bytes of data; the file is corrupt");
  }
  // The header's sizes are a claim. A plain file's size is checked against
  // it at once; gzip hides the size, so the data is read in chunks and the
  // buffer grows only as far as the file really goes.
  if (gzdirect(f.get())) {
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(path, ec);
    const int64_t data = ec ? count : int64_t(bytes) - 4 - 4 * ndim;
    DANLU_CHECK(data >= count, path, " is truncated or corrupt: its header declares ", count,
                " bytes of data, the file holds ", data, missing_hint(path));
  }
  constexpr int64_t kChunk = int64_t(1) << 24;
  for (int64_t done = 0; done < count; done += kChunk) {
    const int64_t n = std::min(kChunk, count - done);
    out.data.resize(size_t(done + n));
    read_exactly(f.get(), out.data.data() + done, size_t(n), path, "data", size_t(done),
                 size_t(count));
  }
  return out;
}

std::string fashion_mnist_dir() {
  const char* dir = std::getenv("DANLU_DATA_DIR");
  return dir && *dir ? dir : kFashionMnistDir;
}

ImageDataset load_mnist(const std::string& dir, const std::string& split, int64_t limit) {
  DANLU_CHECK(split == "train" || split == "t10k", "load_mnist: split must be train or t10k, got '",
              split, "'");
  const std::string image_path = find_file(dir + "/" + split + "-images-idx3-ubyte");
  const std::string label_path = find_file(dir + "/" + split + "-labels-idx1-ubyte");
  IdxArray images = read_idx(image_path);
  IdxArray labels = read_idx(label_path);
  DANLU_CHECK(images.dims.size() == 3, image_path, ": expected 3 dimensions (N, H, W), got ",
              images.dims.size());
  DANLU_CHECK(labels.dims.size() == 1, label_path, ": expected 1 dimension (N), got ",
              labels.dims.size());
  DANLU_CHECK(images.dims[0] == labels.dims[0], image_path, " holds ", images.dims[0],
              " images but ", label_path, " holds ", labels.dims[0], " labels");
  DANLU_CHECK(images.dims[0] > 0, image_path, ": holds no images");
  int64_t n = images.dims[0];
  if (limit >= 0 && limit < n) n = limit;
  const int64_t h = images.dims[1], w = images.dims[2];

  ImageDataset ds;
  ds.images = Tensor::empty({n, 1, h, w});
  ds.labels = Tensor::empty({n}, DType::i64);
  float* px = ds.images.data<float>();
  for (int64_t i = 0; i < n * h * w; ++i) px[i] = images.data[i] / 255.0f;
  int64_t* py = ds.labels.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) py[i] = labels.data[i];
  return ds;
}

ImageDataset gather(const ImageDataset& ds, const int64_t* indices, int64_t count) {
  const Shape& s = ds.images.shape();
  const int64_t example = s.numel(1, s.size());
  ImageDataset out;
  out.images = Tensor::empty({count, s[1], s[2], s[3]});
  out.labels = Tensor::empty({count}, DType::i64);
  out.source_index.resize(size_t(count));
  const float* src = ds.images.data<float>();
  float* dst = out.images.data<float>();
  for (int64_t i = 0; i < count; ++i) {
    DANLU_CHECK(indices[i] >= 0 && indices[i] < ds.size(), "gather: index ", indices[i],
                " is outside the dataset of ", ds.size(), " examples");
    std::copy(src + indices[i] * example, src + (indices[i] + 1) * example, dst + i * example);
    out.labels.data<int64_t>()[i] = ds.labels.data<int64_t>()[indices[i]];
    out.source_index[size_t(i)] = ds.source_of(indices[i]);
  }
  return out;
}

void normalize_(ImageDataset& ds, double mean, double std) {
  DANLU_CHECK(std > 0, "normalize_: std must be positive, got ", std);
  float* p = ds.images.data<float>();
  const float m = static_cast<float>(mean), inv = static_cast<float>(1.0 / std);
  for (int64_t i = 0; i < ds.images.numel(); ++i) p[i] = (p[i] - m) * inv;
}

}  // namespace danlu::io
