// Training checkpoints: one safetensors file holding the model ("model.*"),
// the optimizer's buffers ("optimizer.*") and, in the header's metadata, the
// optimizer's scalars, the scheduler's state, the RNG state, the position in
// training and the resolved config. Files are written to a temp file and
// renamed, so an interrupted write never damages the previous checkpoint.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "train/session.h"

namespace danlu::train {

// Where training stands: `batch` batches of epoch `epoch` are done (0 at an
// epoch boundary), `step` optimizer steps in all, plus what the epoch summary
// and early stopping have accumulated so far.
struct Progress {
  int64_t step = 0, epoch = 0, batch = 0;
  double epoch_loss_sum = 0;
  int64_t epoch_correct = 0, epoch_seen = 0;
  double best_metric = std::numeric_limits<double>::quiet_NaN();  // NaN: no evaluation yet
  int64_t best_epoch = 0, evals_without_improvement = 0;
};

void save_checkpoint(const std::string& path, const Session& session, const Progress& progress);

// A checkpoint's position and the config changes the resume made (allowed
// ones, e.g. "epochs 2 -> 4").
struct Resumed {
  Progress progress;
  std::vector<std::string> changes;
};

// Restores the model, optimizer, scheduler and RNG of `session` and returns
// the progress. Checks everything before it changes anything: a file that is
// not a danlu checkpoint, is damaged (checksum, metadata out of range for
// `steps_per_epoch`), was saved with a config the session's cannot continue
// (train/resume_check.h), by another number of data-parallel ranks
// (metadata "ranks") or does not fit the session's model throws a one-line
// danlu::Error naming the path.
Resumed load_checkpoint(const std::string& path, Session& session, int64_t steps_per_epoch);

// The model weights of a checkpoint (its "model.*" tensors, renamed) or of
// a plain state-dict file (as PyTorch's safetensors writes).
nn::StateDict read_weights(const std::string& path);

// Loads read_weights(path) into `model`, strictly.
void load_weights(const std::string& path, nn::Module& model);

}  // namespace danlu::train
