// printf into a std::string: the one formatter for reports and messages
// that line up numbers in columns or fixed precisions.
#pragma once

#include <string>

namespace danlu {

// The text printf(format, ...) would print, cut at 1023 characters.
std::string printf_string(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace danlu
