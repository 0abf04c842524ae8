// A whole file's bytes, for tests that compare files before and after.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace danlu::testing {

// "" when the file cannot be read.
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

}  // namespace danlu::testing
