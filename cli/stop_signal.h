// Ctrl-C (SIGINT) and SIGTERM during training: the first asks the loop to
// checkpoint after the current step and stop (the flag below); a second
// quits at once, the previous checkpoint intact either way. The exit status
// is then 128 + the signal (130, 143), as a shell's.
#pragma once

#include <atomic>

namespace danlu::cli {

// Installs the handlers; returns the flag they set.
const std::atomic<bool>* catch_stop_signals();
// Restores the default handlers.
void release_stop_signals();
// 128 + the signal that asked to stop; 0 when none did.
int stop_exit_code();

}  // namespace danlu::cli
