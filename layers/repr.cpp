// PyTorch-style value formatting for module descriptions.
#include "layers/repr.h"

#include <charconv>
#include <cmath>

namespace danlu::nn::detail {

std::string py_float(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  std::string text(buffer, result.ptr);
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

std::string py_bool(bool value) { return value ? "True" : "False"; }

std::string py_tuple(const std::vector<int64_t>& values) {
  std::string out = "(";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + std::to_string(values[i]);
  return out + (values.size() == 1 ? ",)" : ")");
}

std::string py_tuple(const std::array<int64_t, 2>& values) {
  return py_tuple(std::vector<int64_t>(values.begin(), values.end()));
}

std::string py_size(const std::array<int64_t, 2>& values) {
  return values[0] == values[1] ? std::to_string(values[0]) : py_tuple(values);
}

}  // namespace danlu::nn::detail
