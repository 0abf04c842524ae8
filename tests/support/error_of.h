// The message of the danlu::Error a callable throws, for tests that check
// what an error says.
#pragma once

#include <string>

#include "engine/error.h"

namespace danlu::testing {

// Runs f and returns the danlu::Error message it throws ("" when none).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace danlu::testing
