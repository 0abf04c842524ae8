// What every reference test does with a case from make_vectors.py: turn its
// tensors into inputs, read its parameters, and compare an output or a
// gradient with the PyTorch value under the suite's tolerance model.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>

#include "danlu.h"
#include "tests/support/expect_close.h"
#include "tests/support/reference.h"

namespace danlu::testing {

// The cases of tests/reference/<file>, returned by value so that a range-for
// over the result keeps them alive (a reference into load_reference()'s
// temporary would dangle).
inline nlohmann::json reference_cases(const std::string& file) {
  nlohmann::json cases = load_reference(file).at("cases");
  EXPECT_FALSE(cases.empty()) << file << " holds no cases";
  return cases;
}

// Tensor `key` of case `c` as `dtype`; a leaf that requires grad when asked.
inline Tensor case_input(const nlohmann::json& c, const std::string& key,
                         DType dtype = DType::f64, bool requires_grad = true) {
  Tensor t = tensor_from_json(c.at(key), dtype);
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

// A two-element JSON list ([h, w]) as the ops' parameter pairs.
inline std::array<int64_t, 2> pair_param(const nlohmann::json& j) {
  return {j.at(0).get<int64_t>(), j.at(1).get<int64_t>()};
}

// Compares `out` with the PyTorch tensor `c[key]` (f64); `what` names the
// case and quantity in failure messages.
inline void expect_matches(const Tensor& out, const nlohmann::json& c, const std::string& key,
                           double atol, double rtol) {
  const std::string what = c.at("name").get<std::string>() + " " + key;
  if (!out.defined()) {
    ADD_FAILURE() << what << ": undefined (no gradient reached this input)";
    return;
  }
  expect_close(out, tensor_from_json(c.at(key)), atol, rtol, what);
}

}  // namespace danlu::testing
