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

void read_option(JsonFields& f, const char* name, double& out) { out = f.number(name, out); }

void read_option(JsonFields& f, const char* name, bool& out) { out = f.boolean(name, out); }

void read_option(JsonFields& f, const char* name, Betas& out) {
  const nlohmann::json* j = f.find(name);
  if (!j) return;
  if (!j->is_array() || j->size() != 2 || !(*j)[0].is_number() || !(*j)[1].is_number())
    f.fail(name, "two numbers [beta1, beta2]", *j);
  out = {(*j)[0].get<double>(), (*j)[1].get<double>()};
}

}  // namespace detail
}  // namespace danlu::optim
