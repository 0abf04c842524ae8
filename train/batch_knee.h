// The batch size to recommend from a batch-find table: the knee of the
// throughput curve, not the largest batch that fits. Among the batches that
// ran and leave `margin` of the device's memory free, the fastest sets the
// bar; the smallest batch within `tolerance` (5%) of it is the choice, since
// a larger batch buys little speed for more memory and fewer optimizer
// updates per epoch. Pure arithmetic on the table, so it is tested on
// hand-made rows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace danlu::train {

// One row of the table: a batch size and what a few training steps at it took.
struct BatchTrial {
  int64_t batch = 0;
  bool out_of_memory = false;  // the attempt failed to allocate; no timing
  uint64_t peak_bytes = 0;     // the device's peak in use during the attempt
  double ms_per_step = 0, images_per_s = 0;
  std::string failure;         // the allocator's message when out_of_memory
};

struct KneeOptions {
  double margin = 0.2;      // the fraction of device memory a chosen batch must leave free
  double tolerance = 0.05;  // "within 5% of the best images/s"
};

struct Knee {
  std::optional<size_t> chosen;   // index into the trials; none when nothing qualifies
  std::optional<size_t> fastest;  // the best images/s among the batches within the margin
};

// The rule above; rows are taken in the order given (ascending batch), and
// of equal throughputs the smaller batch wins.
Knee choose_knee(const std::vector<BatchTrial>& trials, uint64_t device_bytes,
                 const KneeOptions& options);

// One paragraph with the numbers: the best throughput and its batch, the
// choice's throughput and memory, why nothing larger, which batches the
// margin left out and which one ran out of memory. `memory_name` names the
// memory the percentages are of ("cpu memory", "cuda:0 memory").
std::string explain_knee(const Knee& knee, const std::vector<BatchTrial>& trials,
                         uint64_t device_bytes, const KneeOptions& options,
                         const std::string& memory_name);

// "123.4 MiB", or "23.6 GiB" from 1 GiB up: the table's memory column.
std::string format_memory(uint64_t bytes);

}  // namespace danlu::train
