// Several training runs of one experiment, each a normal run directory
// under one parent (DIR/<trial name>), run one after another: what `danlu
// compare` runs. A trial that finished before is read, not run again; one
// that was stopped resumes from its last checkpoint; one that fails (a bad
// option, a run directory in use) is recorded with its reason and the next
// trial runs. A diverged trial is a result, not a failure.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/device.h"
#include "train/config.h"

namespace danlu::train {

struct Trial {
  std::string name;  // its directory's name: letters, digits and . _ - only
  TrainConfig config;
};

enum class TrialState { ran, resumed, done_before, failed };
const char* trial_state_name(TrialState s);  // "ran", "resumed", "done before", "failed"

// What an epoch record of a trial's metrics.jsonl says.
struct EpochScore {
  int64_t epoch = 0;
  double train_loss = 0;
  std::optional<double> test_accuracy, test_loss;  // evaluated epochs only
};

struct TrialResult {
  std::string name, dir;
  TrialState state = TrialState::failed;
  std::string error;  // why it failed (state failed)
  std::string end;    // the run's own word on how it ended: "finished", "the loss became NaN ..."
  std::string ended;  // finished, early_stopped or diverged (the summary's "ended")
  bool diverged = false;
  double best_accuracy = 0, final_accuracy = 0, final_loss = 0;  // over `history`
  int64_t best_epoch = 0, epochs = 0;
  double seconds = 0, images_per_s = 0;  // of the process that ran it last
  std::vector<EpochScore> history;       // the epochs up to `epochs`, in order
};

// Throws unless `name` can be a directory name of its own.
void check_trial_name(const std::string& name);

// Runs (or resumes, or reads) `trial` in `parent`/<name>. A finished run
// there of the same config, for at least as many epochs (a longer run of a
// later rung, say), is read up to the trial's epochs instead of trained.
// Never throws for the trial's own failure: that is the result's `error`.
TrialResult run_trial(const Trial& trial, const std::string& parent, Device device,
                      const std::atomic<bool>* stop = nullptr);

// How a batch of trials runs: one after another in this process (jobs 1),
// or `jobs` at once on the CPU, each a child process `program train ...`
// (program: the danlu executable) with `threads` OpenMP threads, its
// output in <dir>/train.log and its config in <parent>/<name>.config.json.
struct TrialJobs {
  int jobs = 1;
  int threads = 0;  // 0: the cores divided among the jobs
  std::string program;
};

// Runs `trials` in `parent`, each as run_trial would (finished ones read,
// stopped ones resumed, failures recorded); results in the trials' order.
// A stop request stops the running trials at a checkpoint and starts no more.
std::vector<TrialResult> run_trials(const std::vector<Trial>& trials, const std::string& parent,
                                    Device device, const TrialJobs& jobs,
                                    const std::atomic<bool>* stop = nullptr);

// The result of the run in `dir` from its metrics.jsonl, counting epochs up
// to `upto_epochs` only (0: all): nullopt while it has no summary record, or
// when that says it was interrupted.
std::optional<TrialResult> read_trial_result(const std::string& dir, int64_t upto_epochs = 0);

// The first epoch whose test accuracy reached `target` (a fraction); 0 when none did.
int64_t epoch_reaching(const TrialResult& r, double target);

}  // namespace danlu::train
