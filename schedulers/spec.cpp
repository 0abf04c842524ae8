// Typed, path-naming access to a scheduler spec.
#include "schedulers/spec.h"

#include <algorithm>

#include "engine/error.h"

namespace danlu::sched {

Spec::Spec(const nlohmann::json& spec, std::string path)
    : spec_(spec),
      path_(std::move(path)),
      fields_(spec_, path_, "", "an object {\"type\": NAME, ...}") {
  const nlohmann::json* t = fields_.find("type");
  DANLU_CHECK(t, path_, ".type: required (the schedule's name, e.g. \"StepLR\")");
  if (!t->is_string()) fields_.fail("type", "a string", *t);
  type_ = t->get<std::string>();
  fields_.set_owner(type_);
}

const nlohmann::json* Spec::find(const std::string& key) { return fields_.find(key); }

double Spec::number(const std::string& key) { return fields_.number(key); }

double Spec::number(const std::string& key, double fallback) {
  return fields_.number(key, fallback);
}

std::optional<double> Spec::optional_number(const std::string& key) {
  return fields_.optional_number(key);
}

int64_t Spec::integer(const std::string& key) { return fields_.integer(key, JsonFields::kAny); }

int64_t Spec::integer(const std::string& key, int64_t fallback) {
  return fields_.integer(key, JsonFields::kAny, fallback);
}

std::optional<int64_t> Spec::optional_integer(const std::string& key) {
  return fields_.optional_integer(key, JsonFields::kAny);
}

bool Spec::boolean(const std::string& key, bool fallback) {
  return fields_.boolean(key, fallback);
}

std::string Spec::choice(const std::string& key, const std::string& fallback,
                         const std::vector<std::string>& allowed) {
  return fields_.choice(key, fallback, allowed);
}

std::vector<int64_t> Spec::integers(const std::string& key) {
  return fields_.integers(key, JsonFields::kAny, false, true);
}

std::vector<double> Spec::numbers(const std::string& key) { return fields_.numbers(key); }

std::vector<double> Spec::per_group(const std::string& key) {
  const char* expected = "a number, or a list with one number per param group";
  const nlohmann::json& j = fields_.require(key, expected);
  if (j.is_number()) return {j.get<double>()};
  const bool ok =
      j.is_array() && !j.empty() &&
      std::all_of(j.begin(), j.end(), [](const nlohmann::json& x) { return x.is_number(); });
  if (!ok) fields_.fail(key, expected, j);
  return j.get<std::vector<double>>();
}

std::vector<double> Spec::per_group(const std::string& key, double fallback) {
  if (!find(key)) return {fallback};
  return per_group(key);
}

const nlohmann::json& Spec::list(const std::string& key) {
  const nlohmann::json& j = fields_.require(key, "a list of scheduler specs");
  if (!j.is_array() || j.empty()) fields_.fail(key, "a non-empty list of scheduler specs", j);
  return j;
}

void Spec::finish() const { fields_.finish(); }

}  // namespace danlu::sched
