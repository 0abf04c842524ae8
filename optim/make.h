// Builds an optimizer from a JSON config that uses PyTorch's names:
//   {"type": "SGD", "lr": 0.1, "momentum": 0.9, "nesterov": true}
//   {"type": "Adam", "lr": 0.001, "betas": [0.9, 0.999], "amsgrad": true}
// Unknown types and keys, wrong value types and out-of-range values are
// one-line danlu::Errors that name the JSON path `where` and what is allowed:
//   "optimizer.momentum: expected a number >= 0, got -1".
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "optim/optimizer.h"

namespace danlu::optim {

// The "type" names, in the order the docs list them.
const std::vector<std::string>& optimizer_types();

std::unique_ptr<Optimizer> make_optimizer(const nlohmann::json& config, std::vector<Tensor> params,
                                          const std::string& where = "optimizer");
// Per-group overrides (ParamGroup::options) are checked against the config's
// options and named "<where>.param_groups[i].<name>" in errors.
std::unique_ptr<Optimizer> make_optimizer(const nlohmann::json& config,
                                          std::vector<ParamGroup> groups,
                                          const std::string& where = "optimizer");

}  // namespace danlu::optim
