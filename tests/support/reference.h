// Access to the PyTorch-produced vectors under tests/reference/*.json.
// A tensor is stored as {"shape": [...], "data": [...flattened row-major...]}.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "danlu.h"

namespace danlu::testing {

// Parses tests/reference/<name> (e.g. "conv2d.json").
nlohmann::json load_reference(const std::string& name);
// A tensor from its JSON form, as `dtype` (i64 for class indices).
Tensor tensor_from_json(const nlohmann::json& j, DType dtype = DType::f64);

}  // namespace danlu::testing
