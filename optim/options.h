// An optimizer's options as JSON with PyTorch's names, and the range checks
// (check_range, engine/range_check.h) whose one-line messages name the option:
//   "optimizer.momentum: expected a number >= 0, got -1".
// Every options struct (SGDOptions, AdamOptions, ...) lists its fields once,
//   template <class F> void fields(F&& f) { f("lr", lr_); f("betas", betas_); ... }
// with fields of type double, bool or Betas, and checks its ranges in
//   void check(const std::string& where) const;
#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/error.h"
#include "engine/json_fields.h"
#include "engine/range_check.h"

namespace danlu::optim {

using Betas = std::array<double, 2>;  // (beta1, beta2), JSON [0.9, 0.999]

namespace detail {
void read_option(JsonFields& f, const char* name, double& out);
void read_option(JsonFields& f, const char* name, bool& out);
void read_option(JsonFields& f, const char* name, Betas& out);
}  // namespace detail

// `defaults` with the options that `j` names replaced. Unknown names and
// wrong types are errors naming "<where>.<name>"; ranges are left to check().
template <class Options>
Options options_from_json(const nlohmann::json& j, Options defaults, const std::string& where) {
  JsonFields f(j, where, "", "an object of options");
  defaults.fields([&](const char* name, auto& field) { detail::read_option(f, name, field); });
  f.finish("unknown option");
  return defaults;
}

// Every option by its PyTorch name: {"lr": 0.1, "momentum": 0.9, ...}.
template <class Options>
nlohmann::json options_to_json(Options options) {
  nlohmann::json j = nlohmann::json::object();
  options.fields([&](const char* name, const auto& field) { j[name] = field; });
  return j;
}

}  // namespace danlu::optim
