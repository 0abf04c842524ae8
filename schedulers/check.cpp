// List checks for scheduler hyperparameters.
#include "schedulers/check.h"

#include <type_traits>

namespace danlu::sched {

namespace {
template <class T>
std::string join(const std::vector<T>& xs) {
  std::string s = "[";
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i) s += ", ";
    if constexpr (std::is_floating_point_v<T>)
      s += format_number(xs[i]);
    else
      s += std::to_string(xs[i]);
  }
  return s + "]";
}
}  // namespace

std::string format_list(const std::vector<double>& xs) { return join(xs); }
std::string format_list(const std::vector<int64_t>& xs) { return join(xs); }

void require_sorted(const std::vector<int64_t>& xs, int64_t min, bool strict,
                    const std::string& scheduler, const std::string& param) {
  const std::string expected = std::string("a non-empty list of ") +
                               (strict ? "increasing" : "non-decreasing") +
                               " integers >= " + std::to_string(min);
  bool ok = !xs.empty() && xs[0] >= min;
  for (size_t i = 1; ok && i < xs.size(); ++i) ok = strict ? xs[i] > xs[i - 1] : xs[i] >= xs[i - 1];
  check_range(ok, scheduler, param, expected, format_list(xs));
}

}  // namespace danlu::sched
