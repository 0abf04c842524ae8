// CIFAR-10 binary reading on small synthetic files: values in CHW order,
// labels, file order, limit, the archive's nested folder, and the errors for
// missing files, wrong sizes and out-of-range labels.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/io/cifar10.h"

namespace danlu::io {
namespace {

namespace fs = std::filesystem;

// The pixel byte at position i of record `id` in the synthetic files.
unsigned char pixel(int id, int i) { return static_cast<unsigned char>((id * 37 + i * 11) % 256); }

class CifarFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("danlu_cifar_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes records with the given labels; record j gets id first_id + j.
  void write(const fs::path& path, const std::vector<int>& labels, int first_id) {
    std::ofstream out(path, std::ios::binary);
    for (size_t j = 0; j < labels.size(); ++j) {
      out.put(static_cast<char>(labels[j]));
      for (int i = 0; i < 3072; ++i) out.put(static_cast<char>(pixel(first_id + int(j), i)));
    }
  }
  // Five training files of two records each: ids 0..9, labels 9..0.
  void write_train(const fs::path& dir) {
    for (int f = 0; f < 5; ++f)
      write(dir / ("data_batch_" + std::to_string(f + 1) + ".bin"), {9 - 2 * f, 8 - 2 * f}, 2 * f);
  }
  std::string error_of(bool train) {
    try {
      load_cifar10(dir_.string(), train);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  }
  fs::path dir_;
};

TEST_F(CifarFiles, ReadsTrainingFilesInOrderAsChwImages) {
  write_train(dir_);
  ImageDataset ds = load_cifar10(dir_.string(), true);
  ASSERT_EQ(ds.images.shape(), Shape({10, 3, 32, 32}));
  EXPECT_EQ(ds.labels.to_vector(), (std::vector<double>{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}));
  const float* x = ds.images.data<float>();
  for (int id = 0; id < 10; ++id)
    for (int c = 0; c < 3; ++c)
      for (int yx : {0, 33, 1023}) {
        const int i = c * 1024 + yx;  // red plane, then green, then blue
        ASSERT_EQ(x[id * 3072 + i], pixel(id, i) / 255.0f) << "image " << id << " byte " << i;
      }
}

TEST_F(CifarFiles, ReadsTestSplitAndLimit) {
  write(dir_ / "test_batch.bin", {3, 1, 4}, 20);
  ImageDataset test = load_cifar10(dir_.string(), false);
  EXPECT_EQ(test.labels.to_vector(), (std::vector<double>{3, 1, 4}));
  EXPECT_EQ(test.images.data<float>()[5], pixel(20, 5) / 255.0f);
  EXPECT_EQ(load_cifar10(dir_.string(), false, 2).size(), 2);
  EXPECT_EQ(load_cifar10(dir_.string(), false, 100).size(), 3);
  write_train(dir_);
  ImageDataset three = load_cifar10(dir_.string(), true, 3);  // spans two files
  EXPECT_EQ(three.labels.to_vector(), (std::vector<double>{9, 8, 7}));
  EXPECT_EQ(three.images.data<float>()[2 * 3072 + 7], pixel(2, 7) / 255.0f);
}

TEST_F(CifarFiles, FindsTheFolderTheArchiveExtractsTo) {
  fs::create_directories(dir_ / "cifar-10-batches-bin");
  write_train(dir_ / "cifar-10-batches-bin");
  EXPECT_EQ(load_cifar10(dir_.string(), true).size(), 10);
}

TEST_F(CifarFiles, MissingFileNamesPathAndWhereToGetTheData) {
  write_train(dir_);
  fs::remove(dir_ / "data_batch_4.bin");
  const std::string msg = error_of(true);
  EXPECT_NE(msg.find((dir_ / "data_batch_4.bin").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("cifar-10-binary.tar.gz"), std::string::npos) << msg;
  EXPECT_NE(msg.find("extracted into " + dir_.string()), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST_F(CifarFiles, WrongSizeNamesPathAndExpectedSize) {
  write(dir_ / "test_batch.bin", {1, 2}, 0);
  std::ofstream(dir_ / "test_batch.bin", std::ios::binary | std::ios::app).put('x');
  const std::string msg = error_of(false);
  EXPECT_NE(msg.find((dir_ / "test_batch.bin").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("has 6147 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("3073-byte records"), std::string::npos) << msg;
  EXPECT_NE(msg.find("30730000 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cifar-10-binary.tar.gz"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;

  std::ofstream(dir_ / "test_batch.bin", std::ios::binary | std::ios::trunc);  // empty
  EXPECT_NE(error_of(false).find("has 0 bytes"), std::string::npos);
}

TEST_F(CifarFiles, LabelAboveNineIsRefused) {
  write(dir_ / "test_batch.bin", {1, 57}, 0);
  const std::string msg = error_of(false);
  EXPECT_NE(msg.find("record 1 has label 57"), std::string::npos) << msg;
}

}  // namespace
}  // namespace danlu::io
