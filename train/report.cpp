// The progress line and the metrics file.
#include "train/report.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <sstream>

#include "engine/error.h"
#include "engine/io/atomic_file.h"

namespace danlu::train {

void purge_metrics_after(const std::string& path, int64_t step) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return;  // a device (/dev/full) has nothing to purge
  std::ifstream in(path);
  if (!in) return;
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::istringstream lines(text);
  std::string kept, line;
  bool dropped = !text.empty() && text.back() != '\n';  // a cut line, even if it parses
  while (std::getline(lines, line)) {
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    // Step and epoch records carry "step", the run summary "steps".
    const char* key = record.contains("step") ? "step" : "steps";
    const bool keep = record.is_object() && (!record.contains(key) ||
                                             (record[key].is_number_integer() &&
                                              record[key].get<int64_t>() <= step));
    if (keep) kept += line + '\n';
    dropped |= !keep;
  }
  if (dropped) io::replace_file(path, [&](io::AtomicWriter& file) { file.write(kept); });
}

MetricsLog::MetricsLog(const std::string& path) : path_(path), out_(path, std::ios::app) {
  DANLU_CHECK(out_, path, ": cannot open for writing: ", std::strerror(errno),
              " (check --out and its permissions)");
}

void MetricsLog::write(const nlohmann::json& record) {
  if (!out_.is_open()) return;
  errno = 0;
  out_ << record.dump() << '\n';
  out_.flush();
  DANLU_CHECK(out_, "cannot write a record to ", path_, ": ",
              errno ? std::strerror(errno) : "write failed",
              "; training stopped (free some space or choose another --out, then --resume from ",
              "the last checkpoint)");
}

std::string format_duration(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  char text[32];
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  else
    std::snprintf(text, sizeof text, "%lld:%02lld", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  return text;
}

ProgressLine::ProgressLine(bool interactive, int64_t epochs, int64_t steps_per_epoch)
    : interactive_(interactive), epochs_(epochs), steps_per_epoch_(steps_per_epoch) {}

void ProgressLine::start_epoch(int64_t epoch, int64_t first_batch) {
  epoch_ = epoch;
  first_batch_ = first_batch;
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

void ProgressLine::update(int64_t batch, const StepStats& s, bool logged) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double its = elapsed > 0 ? (batch - first_batch_) / elapsed : 0;
  const double eta = its > 0 ? (steps_per_epoch_ - batch) / its : 0;
  char epoch_text[32];
  std::snprintf(epoch_text, sizeof epoch_text, "epoch %lld/%lld", static_cast<long long>(epoch_ + 1),
                static_cast<long long>(epochs_));
  if (interactive_) {
    // Redraw at most 10 times a second, and always at the end of the epoch.
    if (batch < steps_per_epoch_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(kWidth * batch / std::max<int64_t>(steps_per_epoch_, 1));
    std::string bar(kWidth, ' ');
    for (int i = 0; i < filled; ++i) bar[i] = '=';
    if (filled < kWidth) bar[filled] = '>';
    std::printf("\r%s [%s] %lld/%lld %.1f it/s loss %.4f acc %.2f%% lr %.4g ETA %s\033[K",
                epoch_text, bar.c_str(), static_cast<long long>(batch),
                static_cast<long long>(steps_per_epoch_), its, s.loss, 100 * s.accuracy, s.lr,
                format_duration(eta).c_str());
  } else if (logged) {
    std::printf("%s step %lld/%lld  loss %.4f  acc %.2f%%  lr %.4g  %.0f img/s  ETA %s\n",
                epoch_text, static_cast<long long>(batch), static_cast<long long>(steps_per_epoch_),
                s.loss, 100 * s.accuracy, s.lr, s.images_per_s, format_duration(eta).c_str());
  }
  std::fflush(stdout);
}

void ProgressLine::end_epoch() {
  if (interactive_) std::printf("\n");
  std::fflush(stdout);
}

}  // namespace danlu::train
