// Formatting and range checks for scheduler hyperparameters.
#include "schedulers/check.h"

#include <charconv>
#include <type_traits>

namespace danlu::sched {

std::string format_number(double x) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), x);
  return ec == std::errc() ? std::string(buf, end) : std::string("?");
}

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

void require(bool ok, const std::string& scheduler, const std::string& param,
             const std::string& expected, const std::string& got) {
  if (!ok) throw ParamError(scheduler, param, "expected " + expected + ", got " + got);
}

void require(bool ok, const std::string& scheduler, const std::string& param,
             const std::string& expected, double got) {
  if (!ok) require(false, scheduler, param, expected, format_number(got));
}

void require_sorted(const std::vector<int64_t>& xs, int64_t min, bool strict,
                    const std::string& scheduler, const std::string& param) {
  const std::string expected = std::string("a non-empty list of ") +
                               (strict ? "increasing" : "non-decreasing") +
                               " integers >= " + std::to_string(min);
  bool ok = !xs.empty() && xs[0] >= min;
  for (size_t i = 1; ok && i < xs.size(); ++i) ok = strict ? xs[i] > xs[i - 1] : xs[i] >= xs[i - 1];
  require(ok, scheduler, param, expected, format_list(xs));
}

}  // namespace danlu::sched
