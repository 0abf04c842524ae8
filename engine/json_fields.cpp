// Typed, path-naming reads of a JSON object.
#include "engine/json_fields.h"

#include <algorithm>

#include "engine/error.h"
#include "engine/json_number.h"

namespace danlu {

using nlohmann::json;

std::string join_names(const std::vector<std::string>& names, const char* quote) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + (quote + names[i] + quote);
  return s;
}

std::string integer_text(int64_t min) {
  return min == JsonFields::kAny ? "an integer" : "an integer >= " + std::to_string(min);
}

JsonFields::JsonFields(const json& j, std::string path, std::string owner,
                       const std::string& object)
    : j_(j), path_(std::move(path)), owner_(std::move(owner)) {
  DANLU_CHECK(j_.is_object(), path_, ": expected ", object, ", got ", j_.dump());
}

JsonFields JsonFields::object(const std::string& key) {
  return JsonFields(require(key, "an object"), path(key), owner_);
}

const json* JsonFields::find(const std::string& key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.push_back(key);
  auto it = j_.find(key);
  return it == j_.end() ? nullptr : &*it;
}

const json& JsonFields::require(const std::string& key, const std::string& expected) {
  const json* v = find(key);
  DANLU_CHECK(v, path(key), ": required by ", owner_, " (", expected, ")");
  return *v;
}

void JsonFields::fail(const std::string& key, const std::string& expected, const json& got) const {
  DANLU_FAIL(path(key), ": expected ", expected, ", got ", got.dump());
}

int64_t JsonFields::int_of(const std::string& key, const json& v, int64_t min) const {
  if (!is_int64(v) || v.get<int64_t>() < min) fail(key, integer_text(min), v);
  return v.get<int64_t>();
}

int64_t JsonFields::integer(const std::string& key, int64_t min) {
  return int_of(key, require(key, integer_text(min)), min);
}

int64_t JsonFields::integer(const std::string& key, int64_t min, int64_t fallback) {
  return optional_integer(key, min).value_or(fallback);
}

std::optional<int64_t> JsonFields::optional_integer(const std::string& key, int64_t min) {
  const json* v = find(key);
  if (!v) return std::nullopt;
  return int_of(key, *v, min);
}

double JsonFields::number(const std::string& key) {
  const json& v = require(key, "a number");
  if (!v.is_number()) fail(key, "a number", v);
  return v.get<double>();
}

double JsonFields::number(const std::string& key, double fallback, const std::string& expected,
                          const std::function<bool(double)>& ok) {
  const json* v = find(key);
  if (!v) return fallback;
  if (!v->is_number() || (ok && !ok(v->get<double>()))) fail(key, expected, *v);
  return v->get<double>();
}

std::optional<double> JsonFields::optional_number(const std::string& key) {
  if (!find(key)) return std::nullopt;
  return number(key, 0.0);
}

bool JsonFields::boolean(const std::string& key) {
  const json& v = require(key, "true or false");
  if (!v.is_boolean()) fail(key, "true or false", v);
  return v.get<bool>();
}

bool JsonFields::boolean(const std::string& key, bool fallback) {
  return find(key) ? boolean(key) : fallback;
}

std::string JsonFields::string(const std::string& key) {
  const json& v = require(key, "a string");
  if (!v.is_string()) fail(key, "a string", v);
  return v.get<std::string>();
}

std::string JsonFields::choice_of(const std::string& key, const json& v,
                                  const std::vector<std::string>& allowed) const {
  const bool ok = v.is_string() &&
                  std::find(allowed.begin(), allowed.end(), v.get<std::string>()) != allowed.end();
  if (!ok) fail(key, "one of " + join_names(allowed, "\""), v);
  return v.get<std::string>();
}

std::string JsonFields::choice(const std::string& key, const std::vector<std::string>& allowed) {
  return choice_of(key, require(key, "one of " + join_names(allowed, "\"")), allowed);
}

std::string JsonFields::choice(const std::string& key, const std::string& fallback,
                               const std::vector<std::string>& allowed) {
  const json* v = find(key);
  return v ? choice_of(key, *v, allowed) : fallback;
}

std::vector<int64_t> JsonFields::integers(const std::string& key, int64_t min, bool single,
                                          bool allow_empty) {
  const std::string expected = std::string(single ? integer_text(min) + " or " : "") + "a " +
                               (allow_empty ? "" : "non-empty ") + "list of integers" +
                               (min == kAny ? "" : " >= " + std::to_string(min));
  const json& v = require(key, expected);
  if (single && is_int64(v) && v.get<int64_t>() >= min) return {v.get<int64_t>()};
  const bool ok = v.is_array() && (allow_empty || !v.empty()) &&
                  std::all_of(v.begin(), v.end(), [min](const json& x) {
                    return is_int64(x) && x.get<int64_t>() >= min;
                  });
  if (!ok) fail(key, expected, v);
  return v.get<std::vector<int64_t>>();
}

std::vector<double> JsonFields::numbers(const std::string& key) {
  const json& v = require(key, "a list of numbers");
  const bool ok = v.is_array() &&
                  std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_number(); });
  if (!ok) fail(key, "a list of numbers", v);
  return v.get<std::vector<double>>();
}

void JsonFields::finish(const std::string& unknown) const {
  for (const auto& [key, value] : j_.items())
    DANLU_CHECK(std::find(known_.begin(), known_.end(), key) != known_.end(), path(key), ": ",
                unknown.empty() ? "unknown key for " + owner_ : unknown, "; expected one of ",
                join_names(known_));
}

}  // namespace danlu
