// The stop flag behind Ctrl-C and SIGTERM (cli/stop_signal.h).
#include "cli/stop_signal.h"

#include <csignal>

namespace danlu::cli {

namespace {

std::atomic<bool> stop_requested{false};
std::atomic<int> stop_signal{0};

// Sets the flag and restores the default action, so a second signal quits.
extern "C" void on_stop_signal(int signal) {
  stop_signal = signal;
  stop_requested = true;
  std::signal(signal, SIG_DFL);
}

}  // namespace

const std::atomic<bool>* catch_stop_signals() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  return &stop_requested;
}

void release_stop_signals() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

int stop_exit_code() { return stop_requested ? 128 + stop_signal : 0; }

}  // namespace danlu::cli
