// Reading JSON integers without silent wrap-around: nlohmann-json keeps an
// integer above INT64_MAX as unsigned, and get<int64_t>() would turn
// 18446744073709551615 into -1. Every reader of an int64 from a config,
// spec or file header asks is_int64() first and echoes the value as written
// (j.dump()) when it refuses. Floating-point JSON numbers are always finite:
// the parser refuses 1e999.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

namespace danlu {

// An integer that int64_t holds exactly.
inline bool is_int64(const nlohmann::json& j) {
  return j.is_number_integer() &&
         (!j.is_number_unsigned() || j.get<uint64_t>() <= uint64_t(INT64_MAX));
}

}  // namespace danlu
