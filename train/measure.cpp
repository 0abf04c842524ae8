// measure_steps(): warm-up, then timed steps over as many epochs as they need.
#include "train/measure.h"

#include <chrono>
#include <cmath>

#include "engine/error.h"
#include "engine/random.h"
#include "train/data.h"
#include "train/memory_advice.h"
#include "train/session.h"
#include "train/step.h"

namespace danlu::train {

Measurement measure_steps(const TrainConfig& config, Device device, const MeasureOptions& options) {
  return measure_steps(config, device, load_split(config.data, true), options);
}

Measurement measure_steps(const TrainConfig& config, Device device, const io::ImageDataset& data,
                          const MeasureOptions& options) {
  DANLU_CHECK(options.steps > 0, "timing run: the number of timed steps must be positive, got ",
              options.steps);
  DANLU_CHECK(options.warmup_steps >= 0, "timing run: warm-up steps must be >= 0, got ",
              options.warmup_steps);
  const io::DataLoader loader = train_loader(data, config, device);
  Session session = make_session(config, device, sample_shape(data), loader.size());
  manual_seed(config.seed);

  std::optional<StepProfiler> profiler;
  if (options.profile) profiler.emplace(*session.model, device, config.batch_size);
  std::optional<StepRecorderGuard> installed;

  Measurement m;
  m.warmup_steps = options.warmup_steps, m.steps = options.steps;
  m.batch_size = config.batch_size;
  DANLU_CHECK(loader.size() > 0, "timing run: the training set gives no full batch of ",
              config.batch_size, "; use a smaller batch_size");
  int64_t epoch_index = 0;
  io::Epoch epoch = loader.epoch(epoch_index);
  std::chrono::steady_clock::time_point start;
  StepResult last;
  for (int64_t step = 0; step < options.warmup_steps + options.steps; ++step) {
    if (step == options.warmup_steps) {
      start = std::chrono::steady_clock::now();
      if (profiler) installed.emplace(&*profiler);
    }
    if (installed) profiler->begin_step();
    std::optional<io::Batch> batch;
    {
      PhaseRange data_phase(Phase::data);
      while (!(batch = epoch.next())) epoch = loader.epoch(++epoch_index);
    }
    const bool monitor = monitored_step(step + 1, config.monitor_every);
    last = explain_out_of_memory_in(*session.model, session.optimizer.get(), device, config.batch_size,
                                    [&] { return train_step(session, *batch, {}, monitor); });
    if (installed) profiler->end_step();
  }
  // Reading the last loss waits for the GPU to finish the timed work; a
  // NaN/Inf anywhere would have reached it through the weights.
  const double loss = last.loss.item();
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  DANLU_CHECK(std::isfinite(loss), "timing run: the loss became ", loss,
              "; time a config that trains (try a smaller optimizer.lr)");
  m.images_per_s = m.seconds > 0 ? m.steps * config.batch_size / m.seconds : 0;
  installed.reset();
  if (profiler) m.profile = profiler->result();
  return m;
}

}  // namespace danlu::train
