// IDX reading: plain and gzip files, the real Fashion-MNIST, and the errors
// for missing, truncated and malformed files.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "engine/io/idx.h"

namespace danlu::io {
namespace {

namespace fs = std::filesystem;

std::vector<unsigned char> idx_bytes(const std::vector<uint32_t>& dims,
                                     const std::vector<unsigned char>& data) {
  std::vector<unsigned char> out = {0, 0, 0x08, static_cast<unsigned char>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) out.push_back((d >> s) & 0xff);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

class IdxFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("danlu_idx_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write_plain(const std::string& name, const std::vector<unsigned char>& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                bytes.size());
    return path;
  }
  std::string write_gzip(const std::string& name, const std::vector<unsigned char>& bytes) {
    const std::string path = (dir_ / name).string();
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), bytes.size());
    gzclose(f);
    return path;
  }
  fs::path dir_;
};

TEST_F(IdxFiles, ReadsPlainAndGzip) {
  auto bytes = idx_bytes({2, 3}, {1, 2, 3, 4, 5, 6});
  for (const std::string& path : {write_plain("a.idx", bytes), write_gzip("b.idx.gz", bytes)}) {
    IdxArray a = read_idx(path);
    EXPECT_EQ(a.dims, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(a.data, (std::vector<uint8_t>{1, 2, 3, 4, 5, 6}));
  }
}

TEST_F(IdxFiles, TruncatedFileNamesPathAndSizes) {
  const std::string path = write_gzip("t.gz", idx_bytes({10, 4}, {1, 2, 3}));
  try {
    read_idx(path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
    EXPECT_NE(msg.find("expected 40 bytes"), std::string::npos) << msg;
  }
}

// A header is a claim about the data: 2^31 images, or one 65535x65535 image,
// in a file of a few bytes is refused without allocating what it claims.
TEST_F(IdxFiles, HeaderClaimsBeyondTheFileAreRefusedBeforeAllocating) {
  const std::string plain = write_plain("plain", idx_bytes({1u << 24, 28, 28}, {1, 2, 3}));
  try {
    read_idx(plain);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("declares 13153337344 bytes of data, the file holds 3"),
              std::string::npos) << e.what();
  }
  const std::string images = write_plain("images", idx_bytes({0x80000000u, 28, 28}, {1, 2, 3}));
  try {
    read_idx(images);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("declares more than 2^40 bytes"), std::string::npos)
        << e.what();
  }
  // gzip hides the size: the data is read in chunks, so this ends as truncated.
  const std::string gz = write_gzip("huge.gz", idx_bytes({1, 65535, 65535}, {1, 2, 3}));
  try {
    read_idx(gz);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected 4294836225 bytes of data, got 3"),
              std::string::npos) << e.what();
  }
  const std::string overflow = write_plain(
      "overflow", idx_bytes({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {}));
  EXPECT_THROW(read_idx(overflow), Error);
}

TEST_F(IdxFiles, BadMagicIsRefused) {
  EXPECT_THROW(read_idx(write_plain("bad", {1, 2, 3, 4, 0, 0, 0, 1, 9})), Error);
  EXPECT_THROW(read_idx(write_plain("float", {0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0})), Error);
}

TEST_F(IdxFiles, MissingFashionMnistPointsToThePackage) {
  try {
    load_mnist((dir_ / "fashion-mnist").string(), "train");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dataset-fashion-mnist"), std::string::npos) << e.what();
  }
}

TEST_F(IdxFiles, LabelCountMustMatchImageCount) {
  write_gzip("train-images-idx3-ubyte.gz", idx_bytes({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7}));
  write_gzip("train-labels-idx1-ubyte.gz", idx_bytes({3}, {0, 1, 2}));
  EXPECT_THROW(load_mnist(dir_.string(), "train"), Error);
}

TEST_F(IdxFiles, LoadsImagesScaledToUnitRange) {
  write_plain("t10k-images-idx3-ubyte", idx_bytes({2, 1, 2}, {0, 255, 51, 102}));
  write_plain("t10k-labels-idx1-ubyte", idx_bytes({2}, {7, 3}));
  ImageDataset ds = load_mnist(dir_.string(), "t10k");
  EXPECT_EQ(ds.images.shape(), Shape({2, 1, 1, 2}));
  EXPECT_EQ(ds.images.to_vector(), (std::vector<double>{0.0, 1.0, 0.2f, 0.4f}));
  EXPECT_EQ(ds.labels.to_vector(), (std::vector<double>{7, 3}));
}

// DANLU_DATA_DIR names the folder when set and not empty; the previous value
// is restored, so a run that sets it (a machine without the package) goes on.
TEST(FashionMnist, DataDirFromTheEnvironment) {
  const char* before = std::getenv("DANLU_DATA_DIR");
  const std::string saved = before ? before : "";
  setenv("DANLU_DATA_DIR", "/data/fashion", 1);
  EXPECT_EQ(fashion_mnist_dir(), "/data/fashion");
  setenv("DANLU_DATA_DIR", "", 1);
  EXPECT_EQ(fashion_mnist_dir(), kFashionMnistDir);
  unsetenv("DANLU_DATA_DIR");
  EXPECT_EQ(fashion_mnist_dir(), kFashionMnistDir);
  if (before) setenv("DANLU_DATA_DIR", saved.c_str(), 1);
}

TEST(FashionMnist, RealDataset) {
  const std::string dir = fashion_mnist_dir();
  if (!fs::exists(dir)) GTEST_SKIP() << dir << " does not exist (dataset-fashion-mnist, DANLU_DATA_DIR)";
  ImageDataset test = load_mnist(dir, "t10k");
  EXPECT_EQ(test.images.shape(), Shape({10000, 1, 28, 28}));
  std::vector<int> counts(10, 0);
  for (double y : test.labels.to_vector()) counts.at(static_cast<int>(y))++;
  for (int c : counts) EXPECT_EQ(c, 1000);  // the test split is balanced
  ImageDataset train = load_mnist(dir, "train", 100);
  EXPECT_EQ(train.size(), 100);
}

}  // namespace
}  // namespace danlu::io
