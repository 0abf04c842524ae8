// Reading one scheduler spec, {"type": NAME, ...parameters...}: typed getters
// whose errors name the JSON path and what is allowed, and a final check
// that every key in the spec is one the schedule knows (engine/json_fields.h
// reads the keys; a spec adds its type and the per-group and nested lists).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/json_fields.h"

namespace danlu::sched {

class Spec {
 public:
  // `path` names the spec in errors ("scheduler", "scheduler.schedulers[1]").
  Spec(const nlohmann::json& spec, std::string path);
  Spec(const Spec&) = delete;  // fields_ refers to spec_
  Spec& operator=(const Spec&) = delete;

  const std::string& type() const { return type_; }
  const std::string& path() const { return path_; }
  std::string path(const std::string& key) const { return fields_.path(key); }

  // Getters without a fallback require the key.
  double number(const std::string& key);
  double number(const std::string& key, double fallback);
  std::optional<double> optional_number(const std::string& key);
  int64_t integer(const std::string& key);
  int64_t integer(const std::string& key, int64_t fallback);
  std::optional<int64_t> optional_integer(const std::string& key);
  bool boolean(const std::string& key, bool fallback);
  // One of `allowed`, or `fallback` when absent.
  std::string choice(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& allowed);
  std::vector<int64_t> integers(const std::string& key);
  std::vector<double> numbers(const std::string& key);
  // A number for every param group or a list with one per group.
  std::vector<double> per_group(const std::string& key);
  std::vector<double> per_group(const std::string& key, double fallback);
  // The raw value, or nullptr when absent; the key counts as known.
  const nlohmann::json* find(const std::string& key);
  // A required list of nested specs.
  const nlohmann::json& list(const std::string& key);

  // Throws for any key no getter asked for.
  void finish() const;

 private:
  nlohmann::json spec_;
  std::string path_;
  JsonFields fields_;  // reads spec_
  std::string type_;
};

}  // namespace danlu::sched
