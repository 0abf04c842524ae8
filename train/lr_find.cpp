// The LR range test: an lr sweep over real training steps, stopped when the
// loss diverges, with the model and optimizer restored afterwards.
#include "train/lr_find.h"

#include <cmath>

#include "engine/error.h"
#include "engine/ops/loss.h"
#include "engine/random.h"

namespace danlu::train {

double lr_at(const LrFindOptions& o, int64_t i) {
  const double t = o.iters > 1 ? double(i) / double(o.iters - 1) : 0.0;
  return o.exponential ? o.start * std::pow(o.end / o.start, t) : o.start + (o.end - o.start) * t;
}

SuggestOptions suggest_options(const LrFindOptions& o) {
  return {size_t(o.iters / 10), o.stop_factor};
}

void check_options(const LrFindOptions& o) {
  DANLU_CHECK(std::isfinite(o.start) && std::isfinite(o.end) && o.start > 0 && o.end > o.start,
              "lr-find: expected finite rates 0 < --start < --end, got ", o.start, " and ", o.end);
  DANLU_CHECK(o.iters >= 2 && o.iters <= kMaxLrFindIters, "lr-find: --iters must be in [2, ",
              kMaxLrFindIters, "], got ", o.iters);
}

LrFindResult lr_find(Session& s, const io::DataLoader& loader, const LrFindOptions& o) {
  check_options(o);
  nn::Module& model = *s.model;
  optim::Optimizer& opt = *s.optimizer;
  // Copies, not views: training below updates the parameters in place.
  nn::StateDict saved_model;
  for (const auto& [name, t] : model.state_dict()) saved_model.insert(name, t.clone());
  const optim::OptimizerState saved_opt = opt.state_dict();
  const Generator saved_rng = default_generator();

  LrFindResult r;
  double average = 0, best = INFINITY;
  int64_t epoch = 0;
  io::Epoch batches = loader.epoch(epoch);
  for (int64_t i = 0; i < o.iters; ++i) {
    std::optional<io::Batch> batch = batches.next();
    if (!batch) {
      batches = loader.epoch(++epoch);
      batch = batches.next();
    }
    DANLU_CHECK(batch, "lr-find: the training data has no full batch; lower batch_size");
    const double lr = lr_at(o, i);
    for (size_t g = 0; g < opt.num_param_groups(); ++g) opt.set_lr(g, lr);
    const Tensor loss = cross_entropy(model(batch->images), batch->labels,
                                      CrossEntropyOptions{Reduction::mean, s.config.label_smoothing});
    const double value = loss.item();
    opt.zero_grad();
    loss.backward();
    opt.step();
    average = o.smoothing * average + (1 - o.smoothing) * value;
    const double smoothed = average / (1 - std::pow(o.smoothing, double(i + 1)));
    r.lrs.push_back(lr), r.losses.push_back(value), r.smoothed.push_back(smoothed);
    if (!std::isfinite(smoothed) || (i > 0 && smoothed > o.stop_factor * best)) {
      r.stopped_early = i + 1 < o.iters;
      break;
    }
    best = std::min(best, smoothed);
  }
  model.load_state_dict(saved_model);
  opt.load_state_dict(saved_opt);
  opt.zero_grad();
  default_generator() = saved_rng;
  r.suggestions = suggest_lrs(r.lrs, r.smoothed, suggest_options(o));
  return r;
}

}  // namespace danlu::train
