// batch_find(): one measure_steps() per batch size, its peak memory, and the
// stop at the first allocation failure.
#include "train/batch_find.h"

#include "engine/cuda_context.h"
#include "engine/cuda_memory.h"
#include "engine/error.h"
#include "engine/host_memory.h"
#include "train/measure.h"
#include "train/memory_advice.h"

namespace danlu::train {

namespace {

// On a GPU the frees of a failed step are stream-ordered: wait for them, so
// that the pool's counters include them.
void wait_for_device(Device device) {
  if (!device.is_cuda()) return;
  const kernels::Stream stream = compute_stream(device);
  CudaEvent done;
  done.record(stream);
  done.synchronize();
}

uint64_t bytes_in_use(Device device) {
  wait_for_device(device);
  return device.is_cuda() ? cuda_memory_stats(device).in_use : host_memory_stats().in_use;
}

uint64_t peak_bytes(Device device) {
  wait_for_device(device);
  return device.is_cuda() ? cuda_memory_stats(device).peak : host_memory_stats().peak;
}

void reset_peak(Device device) {
  wait_for_device(device);
  if (device.is_cuda())
    reset_peak_memory(device);
  else
    reset_host_peak_memory();
}

int64_t largest_power_of_two_at_most(int64_t n) {
  int64_t p = 1;
  while (p <= n / 2) p *= 2;
  return p;
}

}  // namespace

void check_options(const BatchFindOptions& o, int64_t train_examples) {
  DANLU_CHECK(o.max_batch >= kSmallestBatchTried, "batch-find: --max must be at least ",
              kSmallestBatchTried, " (the first batch tried), got ", o.max_batch);
  DANLU_CHECK((o.max_batch & (o.max_batch - 1)) == 0,
              "batch-find: --max must be a power of two (the batches tried are 16, 32, 64, ...), "
              "got ", o.max_batch, "; try --max ", largest_power_of_two_at_most(o.max_batch));
  DANLU_CHECK(o.steps >= 1 && o.steps <= kMaxBatchFindSteps, "batch-find: --steps must be in [1, ",
              kMaxBatchFindSteps, "], got ", o.steps);
  DANLU_CHECK(o.warmup_steps >= 0 && o.warmup_steps <= kMaxBatchFindSteps,
              "batch-find: --warmup-steps must be in [0, ", kMaxBatchFindSteps, "], got ",
              o.warmup_steps);
  DANLU_CHECK(o.margin >= 0 && o.margin < 1,
              "batch-find: --margin is the fraction of memory to keep free, in [0, 1), got ",
              o.margin);
  DANLU_CHECK(train_examples >= kSmallestBatchTried, "batch-find: the training set holds ",
              train_examples, " images, fewer than the smallest batch tried (",
              kSmallestBatchTried, "); raise data.train_limit");
  DANLU_CHECK(o.max_batch <= train_examples, "batch-find: --max ", o.max_batch,
              " is larger than the training set (", train_examples,
              " images), so that batch would never run; use --max ",
              largest_power_of_two_at_most(train_examples), " or raise data.train_limit");
}

BatchSearch batch_find(const TrainConfig& config, Device device, const io::ImageDataset& data,
                       const BatchFindOptions& options,
                       const std::function<void(const BatchTrial&)>& on_trial) {
  check_options(options, data.size());
  BatchSearch search;
  search.device_bytes = device_memory(device);
  search.held_before = bytes_in_use(device);
  for (int64_t batch = kSmallestBatchTried; batch <= options.max_batch; batch *= 2) {
    nlohmann::json json = config.json;
    json["batch_size"] = batch;
    const TrainConfig at_batch = parse_config(json);
    BatchTrial trial;
    trial.batch = batch;
    reset_peak(device);
    try {
      const Measurement m =
          measure_steps(at_batch, device, data, {options.warmup_steps, options.steps, false});
      trial.ms_per_step = 1000 * m.seconds / double(m.steps);
      trial.images_per_s = m.images_per_s;
    } catch (const OutOfMemory& e) {
      trial.out_of_memory = true;
      trial.failure = e.what();
    }
    trial.peak_bytes = peak_bytes(device);
    search.trials.push_back(trial);
    if (on_trial) on_trial(trial);
    if (trial.out_of_memory) break;
  }
  search.held_after = bytes_in_use(device);
  return search;
}

}  // namespace danlu::train
