// Reading option values from JSON.
#include "optim/options.h"

namespace danlu::optim {

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
