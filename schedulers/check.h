// How a scheduler refuses a hyperparameter: a danlu::Error that also carries
// the parameter's name, so that make_scheduler() can say which JSON field
// was wrong ("scheduler.gamma: expected a number > 0, got -1") while the C++
// API says which class ("StepLR.gamma: ...").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/error.h"

namespace danlu::sched {

class ParamError : public Error {
 public:
  ParamError(const std::string& scheduler, std::string param, std::string detail)
      : Error(scheduler + "." + param + ": " + detail),
        param_(std::move(param)),
        detail_(std::move(detail)) {}
  const std::string& param() const { return param_; }
  const std::string& detail() const { return detail_; }

 private:
  std::string param_;
  std::string detail_;
};

// The shortest text that reads back as the same double ("0.1", "-1", "1e-05").
std::string format_number(double x);
std::string format_list(const std::vector<double>& xs);
std::string format_list(const std::vector<int64_t>& xs);

// Throws ParamError(scheduler, param, "expected <expected>, got <got>") unless ok.
void require(bool ok, const std::string& scheduler, const std::string& param,
             const std::string& expected, double got);
void require(bool ok, const std::string& scheduler, const std::string& param,
             const std::string& expected, const std::string& got);
// Every value satisfies `ok`; `expected` describes them ("numbers >= 0").
// A single value is shown as a number, as a spec would give it.
template <class Pred>
void require_each(const std::vector<double>& xs, Pred ok, const std::string& scheduler,
                  const std::string& param, const std::string& expected) {
  for (double x : xs)
    if (!ok(x))
      require(false, scheduler, param, expected,
              xs.size() == 1 ? format_number(xs[0]) : format_list(xs));
}
// Non-empty and sorted; strictly increasing when `strict`.
void require_sorted(const std::vector<int64_t>& xs, int64_t min, bool strict,
                    const std::string& scheduler, const std::string& param);

}  // namespace danlu::sched
