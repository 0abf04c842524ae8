// Formatting for describe(): values printed the way PyTorch's reprs print
// them (1e-05, 1.0, True, (3, 3), (10,)).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace danlu::nn::detail {

std::string py_float(double value);  // Python's shortest repr: 0.1, 1e-05, 1.0
std::string py_bool(bool value);     // True / False
std::string py_tuple(const std::vector<int64_t>& values);  // (3, 3); (10,)
std::string py_tuple(const std::array<int64_t, 2>& values);
// A pool's size as the user would have written it: 2 for (2, 2), else (3, 2).
std::string py_size(const std::array<int64_t, 2>& values);

}  // namespace danlu::nn::detail
