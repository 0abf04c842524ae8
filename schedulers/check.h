// The list checks of scheduler hyperparameters (milestones, per-group values),
// built on the engine's one range check (engine/range_check.h): a refusal is a
// FieldError naming the class in the C++ API ("MultiStepLR.milestones: ...")
// and the JSON path when built by make_scheduler() ("scheduler.milestones: ...").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/range_check.h"

namespace danlu::sched {

std::string format_list(const std::vector<double>& xs);
std::string format_list(const std::vector<int64_t>& xs);

// Every value satisfies `ok`; `expected` describes them ("numbers >= 0").
// A single value is shown as a number, as a spec would give it.
template <class Pred>
void require_each(const std::vector<double>& xs, Pred ok, const std::string& scheduler,
                  const std::string& param, const std::string& expected) {
  for (double x : xs)
    if (!ok(x))
      check_range(false, scheduler, param, expected,
                  xs.size() == 1 ? format_number(xs[0]) : format_list(xs));
}
// Non-empty and sorted; strictly increasing when `strict`.
void require_sorted(const std::vector<int64_t>& xs, int64_t min, bool strict,
                    const std::string& scheduler, const std::string& param);

}  // namespace danlu::sched
