// Runs the danlu binary as a child process with a time limit, so that an
// abort shows as a signal and a hang as a timeout rather than taking the
// test down with it.
#pragma once

#include <string>
#include <vector>

namespace danlu::fuzz {

struct Outcome {
  int exit_code = -1;  // when the child exited
  int signal = 0;      // when a signal ended it (SIGABRT for "terminate called")
  bool timed_out = false;
  std::string err;     // everything it wrote to stderr
};

// Runs `argv` (argv[0] is the program's path) with stdout discarded.
Outcome run(const std::vector<std::string>& argv, double timeout_seconds);

// Empty when `o` is how danlu must end: exit 0, or a non-zero exit whose
// stderr ends in one line "danlu: error: ..." with no sanitizer report and
// no "terminate called"; otherwise what was wrong.
std::string judge(const Outcome& o);

}  // namespace danlu::fuzz
