// danlu::Error and the check macros every layer of the engine uses to report
// bad input (shapes, files, configs) and failed library calls.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace danlu {

// The one exception type of the engine. Messages are one line that names the
// problem and, where there is one, the fix.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An allocation that failed for want of memory, host or device. The training
// loop catches it to add what the model and its state take (train/memory_advice.h).
class OutOfMemory : public Error {
 public:
  using Error::Error;
};

// Throws `e` again with `context` before its message, keeping its kind: an
// OutOfMemory stays one, so that the training loop can still explain it.
[[noreturn]] inline void rethrow_in(const std::string& context, const Error& e) {
  if (dynamic_cast<const OutOfMemory*>(&e)) throw OutOfMemory(context + e.what());
  throw Error(context + e.what());
}

namespace detail {
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}
}  // namespace detail

}  // namespace danlu

// Throws danlu::Error with the streamed message when `cond` is false.
// Usage: DANLU_CHECK(a.dim() == 4, "conv2d: expected a 4-d input, got ", a.shape());
#define DANLU_CHECK(cond, ...)                                        \
  do {                                                                \
    if (!(cond)) throw ::danlu::Error(::danlu::detail::concat(__VA_ARGS__)); \
  } while (0)

// Throws danlu::Error unconditionally; for `default:` branches and the like.
#define DANLU_FAIL(...) throw ::danlu::Error(::danlu::detail::concat(__VA_ARGS__))
