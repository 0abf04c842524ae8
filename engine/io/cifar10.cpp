// CIFAR-10 binary reader. All file sizes are checked before any data is
// read, so a bad download is reported at once and by name.
#include "engine/io/cifar10.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

#include "engine/error.h"

namespace danlu::io {

namespace {

namespace fs = std::filesystem;

constexpr int64_t kPixels = kCifar10RecordBytes - 1;
constexpr int64_t kClasses = 10;

std::string where_to_get(const std::string& dir) {
  return "; get the CIFAR-10 binary version, cifar-10-binary.tar.gz from the dataset's web "
         "page (https://www.cs.toronto.edu/~kriz/cifar.html), extracted into " + dir;
}

// The folder that holds the batch files: `dir` itself or the folder the
// archive extracts to inside it.
std::string batches_dir(const std::string& dir, const std::string& first_file) {
  const fs::path nested = fs::path(dir) / "cifar-10-batches-bin";
  if (!fs::exists(fs::path(dir) / first_file) && fs::exists(nested / first_file))
    return nested.string();
  return dir;
}

// The number of records in `path`, after checking it exists and holds whole records.
int64_t count_records(const std::string& path, const std::string& dir) {
  std::error_code ec;
  const auto bytes = fs::file_size(path, ec);
  DANLU_CHECK(!ec, "cannot read ", path, " (", ec.message(), ")", where_to_get(dir));
  const int64_t size = static_cast<int64_t>(bytes);
  DANLU_CHECK(size > 0 && size % kCifar10RecordBytes == 0, path, " has ", size,
              " bytes, expected a whole number of ", kCifar10RecordBytes,
              "-byte records (1 label + 3072 pixel bytes; the real file has ", kCifar10Records,
              " records, ", kCifar10Records * kCifar10RecordBytes, " bytes)", where_to_get(dir));
  return size / kCifar10RecordBytes;
}

// Decodes `count` records of `path` into images/labels starting at example `first`.
void read_records(const std::string& path, const std::string& dir, int64_t count, int64_t first,
                  float* images, int64_t* labels) {
  std::vector<unsigned char> bytes(count * kCifar10RecordBytes);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  DANLU_CHECK(in.gcount() == static_cast<std::streamsize>(bytes.size()), "cannot read ",
              bytes.size(), " bytes from ", path, where_to_get(dir));
  for (int64_t r = 0; r < count; ++r) {
    const unsigned char* record = bytes.data() + r * kCifar10RecordBytes;
    DANLU_CHECK(record[0] < kClasses, path, ": record ", r, " has label ", int(record[0]),
                ", expected 0..9; is this the binary version of CIFAR-10 (not CIFAR-100)?");
    labels[first + r] = record[0];
    float* image = images + (first + r) * kPixels;
    for (int64_t i = 0; i < kPixels; ++i) image[i] = record[1 + i] / 255.0f;
  }
}

}  // namespace

ImageDataset load_cifar10(const std::string& dir, bool train, int64_t limit) {
  std::vector<std::string> names;
  if (train)
    for (int i = 1; i <= 5; ++i) names.push_back("data_batch_" + std::to_string(i) + ".bin");
  else
    names.push_back("test_batch.bin");
  const std::string folder = batches_dir(dir, names.front());

  std::vector<std::string> paths;
  std::vector<int64_t> records;
  int64_t total = 0;
  for (const std::string& name : names) {
    paths.push_back((fs::path(folder) / name).string());
    DANLU_CHECK(fs::exists(paths.back()), "cannot find ", paths.back(), where_to_get(dir));
    records.push_back(count_records(paths.back(), dir));
    total += records.back();
  }
  const int64_t n = limit >= 0 ? std::min(limit, total) : total;

  ImageDataset ds;
  ds.images = Tensor::empty({n, 3, 32, 32});
  ds.labels = Tensor::empty({n}, DType::i64);
  int64_t done = 0;
  for (size_t f = 0; f < paths.size() && done < n; ++f) {
    const int64_t count = std::min(records[f], n - done);
    read_records(paths[f], dir, count, done, ds.images.data<float>(), ds.labels.data<int64_t>());
    done += count;
  }
  return ds;
}

}  // namespace danlu::io
