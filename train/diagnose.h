// Reading a run's loss curve as the tuning guides teach, from its
// metrics.jsonl and config.json: a NaN or an explosion means the learning
// rate is too high (divide it by 10), and so does a loss that spiked and
// then stuck at ln C (the same prediction for every input over C classes);
// a slow decrease means it is too low
// (multiply it by 5); a plateau or oscillation late in the run means it is
// time to decay it; a test loss that rises while the train loss falls means
// overfitting (regularise or stop early). Each verdict comes with the step
// ranges and numbers it rests on. `danlu diagnose RUN_DIR` prints it, and
// `danlu train` ends with it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace danlu::train {

struct LossPoint {
  int64_t step = 0;
  double loss = 0;  // the mean training loss of the log interval ending at `step`
};

struct EpochPoint {
  int64_t epoch = 0, step = 0;
  double train_loss = 0;
  std::optional<double> test_loss, test_accuracy;  // evaluated epochs only
};

// What diagnose() reads from a run.
struct RunHistory {
  std::vector<LossPoint> steps;
  std::vector<EpochPoint> epochs;
  std::optional<LossPoint> diverged;  // the step whose loss became NaN/Inf
  double lr = 0;        // the config's optimizer.lr
  double final_lr = 0;  // the rate of the last logged step (after any schedule)
  std::vector<std::string> warnings;  // the health monitor's, in order (conditions)
};

// Reads RUN_DIR/metrics.jsonl and RUN_DIR/config.json; errors name the file
// and the line.
RunHistory read_history(const std::string& run_dir);

enum class Verdict { diverged, too_slow, plateau, oscillating, overfitting, healthy };
const char* verdict_name(Verdict v);  // "diverged", "too slow", ...

struct Diagnosis {
  Verdict verdict = Verdict::healthy;
  std::string evidence;  // sentences with the step ranges and numbers
  std::string advice;    // what to change, with the --set that does it
};

// The thresholds, stated once.
struct DiagnoseLimits {
  double explosion = 3;    // a loss above this many times the first one is an explosion
  double slow = 0.25;      // a run whose loss fell by less than this fraction is too slow
  double plateau = 0.01;   // the late loss improving by less than this fraction has stalled
  double oscillation = 0.05;  // ... and swinging by more than this fraction (std / mean) oscillates
  double decayed = 0.2;    // a final lr below this fraction of the initial one was decayed
  double rise = 0.05;      // a test loss this fraction above its best has risen
  // A collapse: a loss above `spike` x ln C, then the last three within
  // `collapse` (a fraction) of ln C, and a test accuracy (when there is one)
  // below one half or at most `chance` / C: a network right on most test
  // images tells its inputs apart, whatever its loss.
  double spike = 1.5, collapse = 0.05, chance = 1.5;
};

Diagnosis diagnose(const RunHistory& run, const DiagnoseLimits& limits = {});

// "diagnosis: <verdict>. <evidence> <advice>" as one paragraph.
std::string to_text(const Diagnosis& d);

}  // namespace danlu::train
