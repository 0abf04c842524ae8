// Range checks of numbers already read, and the number format of their errors.
#include "engine/range_check.h"

#include <charconv>

namespace danlu {

std::string format_number(double x) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), x);
  return ec == std::errc() ? std::string(buf, end) : std::string("?");
}

void check_range(bool ok, const std::string& owner, const std::string& field,
                 const std::string& expected, const std::string& got) {
  if (!ok) throw FieldError(owner, field, "expected " + expected + ", got " + got);
}

void check_range(bool ok, const std::string& owner, const std::string& field,
                 const std::string& expected, double got) {
  if (!ok) check_range(false, owner, field, expected, format_number(got));
}

}  // namespace danlu
