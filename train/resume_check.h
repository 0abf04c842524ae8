// What a resume may change. A checkpoint continues its run exactly only with
// the config it was saved with, so --resume compares the checkpoint's stored
// config with the new one key by key:
// - keys that only say how long to train or how often to log, evaluate and
//   checkpoint may change (kResumableKeys); the changes are reported;
// - keys whose value the checkpoint's state replaces (optimizer settings such
//   as optimizer.lr and optimizer.lr_scaling, whose scaled rates the
//   checkpoint holds, pretrained) would be silently ignored, so they are
//   refused with the way to get that change;
// - every other change (batch size, data, seed, model, optimizer type,
//   scheduler, augmentation, ...) would train a different run, and is refused.
// The checkpoint's position in training is checked against the data it
// resumes on as well.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "train/checkpoint.h"

namespace danlu::train {

// Config keys (JSON paths; a key covers everything under it) that may differ
// between the checkpoint's run and its resume.
inline const std::vector<std::string> kResumableKeys = {
    "epochs",        "max_steps",        "log_every",  "eval_every",
    "checkpoint_every", "eval_batch_size", "early_stopping.patience", "device",
    "data.num_workers"};

// Throws a one-line danlu::Error naming `checkpoint` and each refused key
// (with its old and new value); returns the allowed changes, e.g.
// "epochs 2 -> 4".
std::vector<std::string> check_resume_config(const nlohmann::json& saved,
                                             const nlohmann::json& now,
                                             const std::string& checkpoint);

// Checks a checkpoint's position against the run it resumes: counts in range
// and consistent with `steps_per_epoch` batches of `batch_size`.
void check_resume_progress(const Progress& p, int64_t steps_per_epoch, int64_t batch_size,
                           const std::string& checkpoint);

}  // namespace danlu::train
