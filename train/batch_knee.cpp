// choose_knee() and the paragraph that explains its choice.
#include "train/batch_knee.h"

#include <string>

#include "engine/printf_string.h"

namespace danlu::train {

namespace {

// Whether a batch that ran leaves the margin free. With the device's size
// unknown (0) there is nothing to keep free.
bool within_margin(const BatchTrial& t, uint64_t device_bytes, double margin) {
  return device_bytes == 0 || double(t.peak_bytes) <= (1 - margin) * double(device_bytes);
}

double percent_of(uint64_t bytes, uint64_t device_bytes) {
  return device_bytes ? 100.0 * double(bytes) / double(device_bytes) : 0;
}

// "Batch 16", "Batches 16 and 32", "Batches 16, 32 and 64".
std::string list_batches(const std::vector<int64_t>& batches) {
  std::string text = batches.size() == 1 ? "Batch " : "Batches ";
  for (size_t i = 0; i < batches.size(); ++i) {
    if (i > 0) text += i + 1 == batches.size() ? " and " : ", ";
    text += std::to_string(batches[i]);
  }
  return text;
}

// Why no batch qualifies.
std::string explain_none(const std::vector<BatchTrial>& trials, uint64_t device_bytes,
                         const KneeOptions& o, const std::string& memory_name) {
  if (trials.empty()) return "no recommendation: no batch size was tried.";
  const BatchTrial& first = trials.front();
  if (first.out_of_memory)
    return printf_string(
        "no recommendation: even batch %lld ran out of memory, so the model and its optimizer "
        "state leave no room for a batch; use a smaller model or a device with more memory.",
        static_cast<long long>(first.batch));
  return printf_string(
      "no recommendation: every batch that ran peaks above %.0f%% of %s (the smallest, batch "
      "%lld, at %.0f%%), leaving less than the %.0f%% margin free; lower --margin or use a "
      "smaller model.",
      100 * (1 - o.margin), memory_name.c_str(), static_cast<long long>(first.batch),
      percent_of(first.peak_bytes, device_bytes), 100 * o.margin);
}

}  // namespace

Knee choose_knee(const std::vector<BatchTrial>& trials, uint64_t device_bytes,
                 const KneeOptions& options) {
  Knee knee;
  for (size_t i = 0; i < trials.size(); ++i) {
    const BatchTrial& t = trials[i];
    if (t.out_of_memory || !within_margin(t, device_bytes, options.margin)) continue;
    if (!knee.fastest || t.images_per_s > trials[*knee.fastest].images_per_s) knee.fastest = i;
  }
  if (!knee.fastest) return knee;
  const double bar = (1 - options.tolerance) * trials[*knee.fastest].images_per_s;
  for (size_t i = 0; i < trials.size(); ++i) {
    const BatchTrial& t = trials[i];
    if (t.out_of_memory || !within_margin(t, device_bytes, options.margin)) continue;
    if (t.images_per_s >= bar && (!knee.chosen || t.batch < trials[*knee.chosen].batch))
      knee.chosen = i;
  }
  return knee;
}

std::string explain_knee(const Knee& knee, const std::vector<BatchTrial>& trials,
                         uint64_t device_bytes, const KneeOptions& o,
                         const std::string& memory_name) {
  if (!knee.chosen) return explain_none(trials, device_bytes, o, memory_name);
  const BatchTrial& c = trials[*knee.chosen];
  const BatchTrial& f = trials[*knee.fastest];
  std::string text = printf_string(
      "recommended batch_size %lld: the smallest batch within %.0f%% of the best throughput. "
      "The best is %.0f images/s at batch %lld; batch %lld trains at %.0f images/s (%.0f%% of "
      "it) and peaks at %s, %.1f%% of %s (%s).",
      static_cast<long long>(c.batch), 100 * o.tolerance, f.images_per_s,
      static_cast<long long>(f.batch), static_cast<long long>(c.batch), c.images_per_s,
      100 * c.images_per_s / f.images_per_s, format_memory(c.peak_bytes).c_str(),
      percent_of(c.peak_bytes, device_bytes), memory_name.c_str(),
      format_memory(device_bytes).c_str());
  if (f.batch != c.batch) {
    text += printf_string(
        " Going up to batch %lld adds only %.1f%% images/s for %.1fx the memory, and a larger "
        "batch takes fewer optimizer steps per epoch, so %lld is the knee.",
        static_cast<long long>(f.batch), 100 * (f.images_per_s / c.images_per_s - 1),
        c.peak_bytes ? double(f.peak_bytes) / double(c.peak_bytes) : 0,
        static_cast<long long>(c.batch));
  }
  std::vector<int64_t> slower, beyond_margin;
  const BatchTrial* out_of_memory = nullptr;
  for (const BatchTrial& t : trials) {
    if (t.out_of_memory)
      out_of_memory = &t;
    else if (!within_margin(t, device_bytes, o.margin))
      beyond_margin.push_back(t.batch);
    else if (t.batch > f.batch)
      slower.push_back(t.batch);
  }
  if (!slower.empty())
    text += printf_string(" %s ran slower than batch %lld.", list_batches(slower).c_str(),
                          static_cast<long long>(f.batch));
  if (!beyond_margin.empty())
    text += printf_string(" %s ran but peaked above %.0f%% of %s, inside the %.0f%% margin "
                          "kept free, so %s left out.",
                          list_batches(beyond_margin).c_str(), 100 * (1 - o.margin),
                          memory_name.c_str(), 100 * o.margin,
                          beyond_margin.size() == 1 ? "it was" : "they were");
  if (out_of_memory)
    text += printf_string(" Batch %lld ran out of memory, which ended the search.",
                          static_cast<long long>(out_of_memory->batch));
  else if (*knee.fastest + 1 == trials.size())
    text += " It is the largest batch tried; raise --max to see whether a larger one is faster "
            "still.";
  return text;
}

std::string format_memory(uint64_t bytes) {
  const double mib = static_cast<double>(bytes) / (1024.0 * 1024.0);
  return mib < 1024 ? printf_string("%.1f MiB", mib) : printf_string("%.1f GiB", mib / 1024);
}

}  // namespace danlu::train
