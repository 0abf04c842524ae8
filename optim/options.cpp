// Reading option values from JSON and the one-line range errors.
#include "optim/options.h"

#include <sstream>

namespace danlu::optim {

void check_option(bool ok, const std::string& where, const char* field, const char* expected,
                  double got) {
  if (ok) return;
  std::ostringstream value;
  value << got;  // -1 prints as "-1", 0.001 as "0.001"
  DANLU_FAIL(where, ".", field, ": expected ", expected, ", got ", value.str());
}

namespace detail {

void read_option(const nlohmann::json& j, double& out, const std::string& path) {
  DANLU_CHECK(j.is_number(), path, ": expected a number, got ", j.dump());
  out = j.get<double>();
}

void read_option(const nlohmann::json& j, bool& out, const std::string& path) {
  DANLU_CHECK(j.is_boolean(), path, ": expected true or false, got ", j.dump());
  out = j.get<bool>();
}

void read_option(const nlohmann::json& j, Betas& out, const std::string& path) {
  DANLU_CHECK(j.is_array() && j.size() == 2 && j[0].is_number() && j[1].is_number(), path,
              ": expected two numbers [beta1, beta2], got ", j.dump());
  out = {j[0].get<double>(), j[1].get<double>()};
}

}  // namespace detail
}  // namespace danlu::optim
