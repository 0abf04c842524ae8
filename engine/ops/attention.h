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
// mask as scaled_masked_softmax's for scores (N, L, S). When `weights` is
// given it receives the attention weights (N, L, S) as they multiply v
// (after dropout, as PyTorch returns them).
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const Tensor& mask = Tensor(), double dropout_p = 0.0,
                                    bool training = false, Generator* gen = nullptr,
                                    Tensor* weights = nullptr);

// A mask in the additive form the softmax adds to the scores, in `like`'s
// dtype and on its device, without a gradient: a floating mask as it is, an
// i64 (boolean) mask as 0 where zero and -inf where nonzero.
Tensor additive_attention_mask(const Tensor& mask, const Tensor& like);

}  // namespace danlu
