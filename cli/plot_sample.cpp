// SampledCurve: min/max buckets that merge pairwise when full.
#include "cli/plot_sample.h"

namespace danlu::cli {

void SampledCurve::add(double x, double y) {
  const Point p{x, y, arrived_};
  if (arrived_++ % per_bucket_ != 0) {  // inside the newest bucket
    Bucket& b = buckets_.back();
    if (y < b.low.y) b.low = p;
    if (y > b.high.y) b.high = p;
    return;
  }
  // After halving, this point still starts a bucket: the capacity is even.
  if (buckets_.size() == capacity_) halve();
  buckets_.push_back({p, p});
}

void SampledCurve::halve() {
  std::vector<Bucket> merged;
  for (size_t i = 0; i < buckets_.size(); i += 2) {
    Bucket b = buckets_[i];
    if (i + 1 < buckets_.size()) {
      const Bucket& next = buckets_[i + 1];
      if (next.low.y < b.low.y) b.low = next.low;
      if (next.high.y > b.high.y) b.high = next.high;
    }
    merged.push_back(b);
  }
  buckets_ = std::move(merged);
  per_bucket_ *= 2;
}

Series SampledCurve::series(const std::string& label) const {
  Series s{label, {}, {}};
  for (const Bucket& b : buckets_) {
    const bool low_first = b.low.order <= b.high.order;
    const Point& first = low_first ? b.low : b.high;
    const Point& second = low_first ? b.high : b.low;
    s.x.push_back(first.x), s.y.push_back(first.y);
    if (second.order != first.order) s.x.push_back(second.x), s.y.push_back(second.y);
  }
  return s;
}

}  // namespace danlu::cli
