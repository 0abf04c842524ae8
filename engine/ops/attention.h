// Attention: the fused scaled, masked softmax of scores and scaled
// dot-product attention on top of it, differentiable.
#pragma once

#include "engine/tensor.h"

namespace danlu {

class Generator;

// softmax(scale * scores + mask) over the last dimension. scores (..., L, S);
// mask undefined, or shaped like a suffix of scores' shape ((L, S), or
// (H, L, S) for scores (N, H, L, S), ...) and broadcast over the leading
// dimensions. A floating mask is added (-inf drops a score); an i64 mask is
// boolean, as PyTorch's bool masks: nonzero drops the score. A row with
// every score dropped gives zeros. The mask gets no gradient.
Tensor scaled_masked_softmax(const Tensor& scores, double scale, const Tensor& mask = Tensor());

// softmax(q . k^T / sqrt(E) + mask) . v with dropout p on the attention
// weights in training. q (N, L, E), k (N, S, E), v (N, S, Ev) -> (N, L, Ev);
// mask as scaled_masked_softmax's for scores (N, L, S).
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const Tensor& mask = Tensor(), double dropout_p = 0.0,
                                    bool training = false, Generator* gen = nullptr);

}  // namespace danlu
