// Typed, path-naming access to a scheduler spec.
#include "schedulers/spec.h"

#include <algorithm>

#include "engine/error.h"
#include "engine/json_number.h"

namespace danlu::sched {

namespace {

std::string join(const std::vector<std::string>& names, const char* quote = "") {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + (quote + names[i] + quote);
  return s;
}

}  // namespace

Spec::Spec(const nlohmann::json& spec, std::string path) : spec_(spec), path_(std::move(path)) {
  DANLU_CHECK(spec_.is_object(), path_, ": expected an object {\"type\": NAME, ...}, got ",
              spec_.dump());
  auto it = spec_.find("type");
  DANLU_CHECK(it != spec_.end(), path_, ".type: required (the schedule's name, e.g. \"StepLR\")");
  DANLU_CHECK(it->is_string(), path_, ".type: expected a string, got ", it->dump());
  type_ = it->get<std::string>();
}

const nlohmann::json* Spec::get(const std::string& key, const char* expected, bool required) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.push_back(key);
  auto it = spec_.find(key);
  if (it == spec_.end()) {
    DANLU_CHECK(!required, path(key), ": required by ", type_, " (", expected, ")");
    return nullptr;
  }
  return &*it;
}

const nlohmann::json* Spec::find(const std::string& key) { return get(key, "", false); }

double Spec::number(const std::string& key) {
  const auto v = optional_number(key);
  DANLU_CHECK(v, path(key), ": required by ", type_, " (a number)");
  return *v;
}

double Spec::number(const std::string& key, double fallback) {
  return optional_number(key).value_or(fallback);
}

std::optional<double> Spec::optional_number(const std::string& key) {
  const char* expected = "a number";
  const nlohmann::json* j = get(key, expected, false);
  if (!j) return std::nullopt;
  DANLU_CHECK(j->is_number(), path(key), ": expected ", expected, ", got ", j->dump());
  return j->get<double>();
}

int64_t Spec::integer(const std::string& key) {
  const auto v = optional_integer(key);
  DANLU_CHECK(v, path(key), ": required by ", type_, " (an integer)");
  return *v;
}

int64_t Spec::integer(const std::string& key, int64_t fallback) {
  return optional_integer(key).value_or(fallback);
}

std::optional<int64_t> Spec::optional_integer(const std::string& key) {
  const nlohmann::json* j = get(key, "an integer", false);
  if (!j) return std::nullopt;
  DANLU_CHECK(is_int64(*j), path(key), ": expected an integer, got ", j->dump());
  return j->get<int64_t>();
}

bool Spec::boolean(const std::string& key, bool fallback) {
  const nlohmann::json* j = get(key, "true or false", false);
  if (!j) return fallback;
  DANLU_CHECK(j->is_boolean(), path(key), ": expected true or false, got ", j->dump());
  return j->get<bool>();
}

std::string Spec::choice(const std::string& key, const std::string& fallback,
                         const std::vector<std::string>& allowed) {
  const nlohmann::json* j = get(key, "a string", false);
  if (!j) return fallback;
  const bool ok = j->is_string() &&
                  std::find(allowed.begin(), allowed.end(), j->get<std::string>()) != allowed.end();
  DANLU_CHECK(ok, path(key), ": expected one of ", join(allowed, "\""), ", got ", j->dump());
  return j->get<std::string>();
}

std::vector<int64_t> Spec::integers(const std::string& key) {
  const nlohmann::json* j = get(key, "a list of integers", true);
  const bool ok = j->is_array() && std::all_of(j->begin(), j->end(), [](const nlohmann::json& x) {
                    return is_int64(x);
                  });
  DANLU_CHECK(ok, path(key), ": expected a list of integers, got ", j->dump());
  return j->get<std::vector<int64_t>>();
}

std::vector<double> Spec::numbers(const std::string& key) {
  const nlohmann::json* j = get(key, "a list of numbers", true);
  const bool ok = j->is_array() && std::all_of(j->begin(), j->end(), [](const nlohmann::json& x) {
                    return x.is_number();
                  });
  DANLU_CHECK(ok, path(key), ": expected a list of numbers, got ", j->dump());
  return j->get<std::vector<double>>();
}

std::vector<double> Spec::per_group(const std::string& key) {
  const char* expected = "a number, or a list with one number per param group";
  const nlohmann::json* j = get(key, expected, true);
  if (j->is_number()) return {j->get<double>()};
  const bool ok =
      j->is_array() && !j->empty() &&
      std::all_of(j->begin(), j->end(), [](const nlohmann::json& x) { return x.is_number(); });
  DANLU_CHECK(ok, path(key), ": expected ", expected, ", got ", j->dump());
  return j->get<std::vector<double>>();
}

std::vector<double> Spec::per_group(const std::string& key, double fallback) {
  if (!find(key)) return {fallback};
  return per_group(key);
}

const nlohmann::json& Spec::list(const std::string& key) {
  const nlohmann::json* j = get(key, "a list of scheduler specs", true);
  DANLU_CHECK(j->is_array() && !j->empty(), path(key),
              ": expected a non-empty list of scheduler specs, got ", j->dump());
  return *j;
}

void Spec::finish() const {
  for (const auto& [key, value] : spec_.items())
    DANLU_CHECK(std::find(known_.begin(), known_.end(), key) != known_.end(), path(key),
                ": unknown key for ", type_, "; expected one of ", join(known_));
}

}  // namespace danlu::sched
