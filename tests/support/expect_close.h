// The test suite's one tolerance model: |ref - out| <= atol + rtol * |ref|,
// elementwise. Each call site states atol/rtol and why. On failure the first
// few mismatches and the largest difference are printed (llm.c's
// validate_result).
#pragma once

#include <string>
#include <vector>

#include "danlu.h"

namespace danlu::testing {

bool expect_close(const std::vector<double>& out, const std::vector<double>& ref, double atol,
                  double rtol, const std::string& what);
// The same with a bound of its own for each element: atol[i] (derived per
// element where an error analysis gives one, e.g. the TF32 convolutions').
bool expect_close(const std::vector<double>& out, const std::vector<double>& ref,
                  const std::vector<double>& atol, double rtol, const std::string& what);
bool expect_close(const Tensor& out, const Tensor& ref, double atol, double rtol,
                  const std::string& what);

}  // namespace danlu::testing
