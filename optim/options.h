// An optimizer's options as JSON with PyTorch's names, and the range checks
// whose one-line messages name the option:
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

namespace danlu::optim {

using Betas = std::array<double, 2>;  // (beta1, beta2), JSON [0.9, 0.999]

// Throws "<where>.<field>: expected <expected>, got <got>" unless `ok`.
void check_option(bool ok, const std::string& where, const char* field, const char* expected,
                  double got);

namespace detail {
void read_option(const nlohmann::json& j, double& out, const std::string& path);
void read_option(const nlohmann::json& j, bool& out, const std::string& path);
void read_option(const nlohmann::json& j, Betas& out, const std::string& path);
}  // namespace detail

// `defaults` with the options that `j` names replaced. Unknown names and
// wrong types are errors naming "<where>.<name>"; ranges are left to check().
template <class Options>
Options options_from_json(const nlohmann::json& j, Options defaults, const std::string& where) {
  DANLU_CHECK(j.is_object(), where, ": expected an object of options, got ", j.dump());
  std::string allowed;
  defaults.fields([&](const char* name, auto&) {
    allowed += (allowed.empty() ? "" : ", ") + std::string(name);
  });
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    defaults.fields([&](const char* name, auto& field) {
      if (key != name) return;
      detail::read_option(value, field, where + "." + key);
      known = true;
    });
    DANLU_CHECK(known, where, ".", key, ": unknown option; expected one of ", allowed);
  }
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
