// Losses: cross-entropy over class indices (with label smoothing) and MSE.
#pragma once

#include "engine/tensor.h"

namespace danlu {

enum class Reduction { none, mean, sum };

struct CrossEntropyOptions {
  Reduction reduction = Reduction::mean;
  double label_smoothing = 0.0;  // in [0, 1]
};

// logits (N, C) f32/f64, target (N) i64 class indices in [0, C).
// Matches torch.nn.functional.cross_entropy, including label smoothing:
// loss_i = (1 - eps) * nll_i + eps * mean_c(-log p_ic).
Tensor cross_entropy(const Tensor& logits, const Tensor& target,
                     const CrossEntropyOptions& options = {});
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);

}  // namespace danlu
