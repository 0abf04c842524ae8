// What a training run shows and records: the progress line of the current
// epoch (a redrawn bar on a terminal, a plain line every log interval
// otherwise) and RUN_DIR/metrics.jsonl, one JSON record per line.
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace danlu::train {

// Drops from the metrics file at `path` the records of steps after `step`
// (what a stopped run logged after its last checkpoint, and a run resumed
// from that checkpoint logs again) and any line cut short by a crash, as
// TensorBoard's purge_step. The file is replaced crash-safely
// (io::replace_file); a missing file stays missing, and a path that is not a
// regular file is left alone.
void purge_metrics_after(const std::string& path, int64_t step);

// Appends records to a JSON Lines file, flushing each one so that a crash
// loses at most the record being written. A record that cannot be written
// (a full disk) throws a danlu::Error with the path and the system's reason,
// which stops the run: a run never goes on with holes in its metrics.
class MetricsLog {
 public:
  MetricsLog() = default;
  explicit MetricsLog(const std::string& path);  // appends; creates the file
  void write(const nlohmann::json& record);

 private:
  std::string path_;
  std::ofstream out_;
};

struct StepStats {
  double loss = 0, accuracy = 0, lr = 0, images_per_s = 0;
};

class ProgressLine {
 public:
  // interactive: redraw one line with '\r'; else print at log steps only.
  ProgressLine(bool interactive, int64_t epochs, int64_t steps_per_epoch);
  void start_epoch(int64_t epoch, int64_t first_batch);
  // After batch `batch` (1-based) of the epoch; `logged` marks log steps.
  void update(int64_t batch, const StepStats& stats, bool logged);
  void end_epoch();  // finishes the bar's line

 private:
  bool interactive_;
  int64_t epochs_, steps_per_epoch_, epoch_ = 0, first_batch_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// "1:02:03" or "2:03".
std::string format_duration(double seconds);

}  // namespace danlu::train
