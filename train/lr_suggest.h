// Three rules that read a learning rate off an LR range test's smoothed loss
// curve (steepest fall, a tenth of the minimum, fastai's valley), applied to
// the part of the curve worth reading: finite points, past the warm-up, before
// the blow-up. A rule that misfires on a noisy start or a late explosion shows
// up as disagreement with the other two.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace danlu::train {

// Fewer usable points than this and no rule is trusted.
inline constexpr size_t kMinSuggestPoints = 5;

struct SuggestOptions {
  size_t skip_start = 0;  // warm-up points not read (fastai: a tenth of the iterations)
  double blowup = 4;      // the curve ends before its smoothed loss first passes this x its best
};

struct LrSuggestions {
  std::string none;  // why there is no suggestion; empty when the rates below are set
  size_t first = 0, end = 0;  // the points read: [first, end) of the curve
  double steepest = 0;        // where d(smoothed loss)/d(log lr) is most negative
  double min_lr = 0;          // the lr at the smallest smoothed loss
  double valley = 0;          // fastai's valley rule
  double min_over_10() const { return min_lr / 10; }
  // The largest of the three rates over the smallest.
  double spread() const;
  // The middle of the three, so that one rule that misfires cannot move it,
  // and the rule's name.
  double recommended() const;
  const char* recommended_rule() const;
};

// The suggestions for a curve of rates `lrs` (increasing) and smoothed losses
// (non-negative, as a cross-entropy). Non-finite points are dropped.
LrSuggestions suggest_lrs(const std::vector<double>& lrs, const std::vector<double>& smoothed,
                          const SuggestOptions& options);

// The y range worth plotting: from the smallest finite loss, raw or smoothed
// (less a margin), to 1.5x the first smoothed loss, so a final explosion does
// not squash the useful curve into a flat line.
struct LossRange {
  double lo = 0, hi = 1;
};
LossRange useful_loss_range(const std::vector<double>& losses,
                            const std::vector<double>& smoothed);

}  // namespace danlu::train
