// run_training(): the training loop behind `danlu train`. It builds the
// session from the config, optionally resumes from a checkpoint, trains for
// the configured epochs/steps, evaluates, keeps RUN_DIR/last.safetensors and
// best.safetensors, writes RUN_DIR/metrics.jsonl and config.json, and stops
// cleanly on divergence (NaN/Inf loss), early stopping or a stop request.
// It refuses to start (a one-line danlu::Error) on a run directory that is
// in use or holds another run, a checkpoint it cannot continue exactly, a
// finished run, and weights that hold NaN or Inf.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "engine/device.h"
#include "train/config.h"

namespace danlu::train {

struct RunOptions {
  std::string run_dir;  // created if missing, locked while the run lasts (train/run_dir.h)
  std::string resume;   // checkpoint to continue from; "" starts afresh
  bool interactive = false;                 // redraw a progress bar (a terminal)
  const std::atomic<bool>* stop = nullptr;  // set (e.g. by Ctrl-C) to checkpoint and stop
  bool overwrite = false;  // a fresh run may replace the run already in run_dir
};

enum class RunEnd { finished, early_stopped, interrupted, diverged };
// "finished", "early_stopped", "interrupted", "diverged": the summary
// record's "ended" field.
const char* run_end_name(RunEnd end);

struct RunSummary {
  RunEnd end = RunEnd::finished;
  int64_t steps = 0, epochs = 0;  // completed when training ended
  int64_t first_step = 0;         // where this process began (> 0 after a resume)
  double best_accuracy = 0, final_accuracy = 0, final_loss = 0;
  int64_t best_epoch = 0;
  double seconds = 0, images_per_s = 0;
  uint64_t peak_memory_bytes = 0;  // GPU runs only
  std::string message;  // one line on how the run ended
};

RunSummary run_training(const TrainConfig& config, Device device, const RunOptions& options);

}  // namespace danlu::train
