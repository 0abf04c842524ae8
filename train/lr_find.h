// The learning-rate range test of Smith, "Cyclical Learning Rates for
// Training Neural Networks" (2017): train with a learning rate that grows
// every iteration from `start` to `end` and watch the loss; the rules of
// train/lr_suggest.h read a rate off the smoothed curve. The model and
// optimizer are restored afterwards, so the test leaves no trace.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/io/data_loader.h"
#include "train/lr_suggest.h"
#include "train/session.h"

namespace danlu::train {

// The most iterations one test runs: a range test needs a few hundred, and
// the curve is kept in memory (three doubles per iteration).
inline constexpr int64_t kMaxLrFindIters = 100'000;

struct LrFindOptions {
  double start = 1e-7, end = 10;
  int64_t iters = 100;
  bool exponential = true;  // geometric steps; false: linear steps
  double smoothing = 0.98;  // exponential moving average of the loss (bias-corrected)
  double stop_factor = 4;   // stop once the smoothed loss exceeds this times its best
};

struct LrFindResult {
  std::vector<double> lrs, losses, smoothed;  // one per iteration run, the last maybe not finite
  bool stopped_early = false;                 // the loss blew up before `end`
  LrSuggestions suggestions;
};

// Throws unless 0 < start < end are finite and iters is in [2, kMaxLrFindIters].
void check_options(const LrFindOptions& o);

// The lr at iteration i of n (i = 0 .. n-1).
double lr_at(const LrFindOptions& o, int64_t i);

// Every param group gets the same rate. Needs at least one batch; cycles the
// loader's epochs when iters exceeds an epoch.
LrFindResult lr_find(Session& session, const io::DataLoader& loader, const LrFindOptions& o);

// The suggestion rules' options for a test run with `o`: the first tenth of
// the iterations is warm-up (as fastai), the blow-up as the test stops.
SuggestOptions suggest_options(const LrFindOptions& o);

}  // namespace danlu::train
