// safetensors integrity: the data checksum danlu writes into a checkpoint's
// metadata refuses flipped bytes, files without it (PyTorch's) still load,
// and header values no parser can hold (1e999, sizes beyond the file,
// negative or overflowing shapes) are one-line errors, not crashes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "engine/random.h"
#include "tests/support/error_of.h"

namespace danlu::io {
namespace {

namespace fs = std::filesystem;
using danlu::testing::error_of;

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  fs::remove(path);
  std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size());
}

// A file with this exact header text and `data_bytes` zero bytes of data.
std::string raw_file(const std::string& header, size_t data_bytes) {
  const uint64_t n = header.size();
  return std::string(reinterpret_cast<const char*>(&n), 8) + header + std::string(data_bytes, '\0');
}

class SafetensorsIntegrity : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("danlu_integrity_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    manual_seed(3);
    tensors_ = {{"w", Tensor::randn({4, 5})}, {"b", Tensor::randn({5}, DType::f64)}};
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string load_error(const std::string& bytes) {
    const fs::path p = dir_ / "bad.safetensors";
    write_bytes(p, bytes);
    const std::string msg = error_of([&] { load_safetensors(p.string()); });
    EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    return msg;
  }
  fs::path dir_;
  std::vector<std::pair<std::string, Tensor>> tensors_;
};

TEST_F(SafetensorsIntegrity, TheChecksumIsAnExtraMetadataString) {
  const fs::path p = dir_ / "c.safetensors";
  save_safetensors(p.string(), tensors_, {{"format", "x"}}, /*checksum=*/true);
  const std::string bytes = read_bytes(p);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  const nlohmann::json header = nlohmann::json::parse(bytes.substr(8, n));
  const std::string crc = header["__metadata__"][kChecksumKey];
  EXPECT_EQ(crc.size(), 8u);
  EXPECT_EQ(crc.find_first_not_of("0123456789abcdef"), std::string::npos) << crc;
  const SafetensorsFile f = load_safetensors(p.string());
  EXPECT_EQ(f.metadata, (std::map<std::string, std::string>{{"format", "x"}}));  // verified, dropped
}

TEST_F(SafetensorsIntegrity, EveryFlippedDataByteIsRefused) {
  const fs::path p = dir_ / "c.safetensors";
  save_safetensors(p.string(), tensors_, {}, /*checksum=*/true);
  const std::string good = read_bytes(p);
  const size_t data = good.size() - (4 * 5 * 4 + 5 * 8);
  for (size_t at = data; at < good.size(); at += 7) {
    std::string bad = good;
    bad[at] ^= 0x01;
    EXPECT_NE(load_error(bad).find("does not match its checksum"), std::string::npos) << at;
  }
}

TEST_F(SafetensorsIntegrity, FilesWithoutAChecksumStillLoad) {
  const fs::path p = dir_ / "plain.safetensors";
  save_safetensors(p.string(), tensors_, {{"format", "pt"}});
  std::string bytes = read_bytes(p);
  EXPECT_EQ(bytes.find(kChecksumKey), std::string::npos);
  bytes[bytes.size() - 1] ^= 0x01;  // nothing to check it against: loads as it is
  write_bytes(p, bytes);
  EXPECT_EQ(load_safetensors(p.string()).tensors.size(), 2u);
}

TEST_F(SafetensorsIntegrity, HeaderNumbersBeyondTheirTypesAreOneLineErrors) {
  const std::string shape = R"({"a":{"dtype":"F32","shape":[1e999],"data_offsets":[0,4]}})";
  EXPECT_NE(load_error(raw_file(shape, 4)).find("not valid JSON"), std::string::npos);
  const std::string big = R"({"a":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4]}})";
  EXPECT_NE(load_error(raw_file(big, 4)).find("non-negative integer"), std::string::npos);
  const std::string negative = R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})";
  EXPECT_NE(load_error(raw_file(negative, 4)).find("non-negative integer"), std::string::npos);
  const std::string overflow =
      R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})";
  EXPECT_NE(load_error(raw_file(overflow, 4)).find("more than 2^64"), std::string::npos);
  const std::string hidden =
      R"({"a":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})";
  EXPECT_NE(load_error(raw_file(hidden, 0)).find("more than 2^63 elements"), std::string::npos);
  const std::string beyond =
      R"({"a":{"dtype":"F32","shape":[1000000],"data_offsets":[0,4000000]}})";
  EXPECT_NE(load_error(raw_file(beyond, 4)).find("is truncated"), std::string::npos);
  const std::string offsets =
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,18446744073709551616]}})";
  EXPECT_NE(load_error(raw_file(offsets, 4)).find("data_offsets"), std::string::npos);
}

}  // namespace
}  // namespace danlu::io
