// A curve of any length kept in bounded memory for plotting: points arrive
// one at a time and at most `capacity` buckets of consecutive points are
// kept, each as its lowest and highest point, so that spikes and cycles
// shorter than a bucket still show as the curve's envelope. When the
// buckets run out, neighbours merge and each bucket covers twice as many
// points. `danlu schedule --steps 10000000` and a long run's metrics plot
// in the memory of a few thousand points.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cli/plot.h"

namespace danlu::cli {

class SampledCurve {
 public:
  // `capacity` buckets (rounded up to an even number >= 2).
  explicit SampledCurve(size_t capacity = 2048) : capacity_(capacity < 2 ? 2 : capacity + capacity % 2) {}

  void add(double x, double y);
  // The kept points in the order they arrived, labelled for line_plot_png.
  Series series(const std::string& label) const;
  bool empty() const { return buckets_.empty(); }

 private:
  struct Point {
    double x, y;
    int64_t order;  // arrival index, so that low and high are drawn in sequence
  };
  struct Bucket {
    Point low, high;
  };
  void halve();

  size_t capacity_;
  int64_t per_bucket_ = 1, arrived_ = 0;
  std::vector<Bucket> buckets_;
};

}  // namespace danlu::cli
