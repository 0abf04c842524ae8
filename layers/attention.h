// MultiheadAttention, as torch.nn.MultiheadAttention: PyTorch's parameter
// names and layout (in_proj_weight stacks the q, k and v projections), so a
// PyTorch state dict loads as it is.
#pragma once

#include <cstdint>
#include <memory>

#include "engine/random.h"
#include "layers/linear.h"
#include "layers/module.h"

namespace danlu::nn {

struct MultiheadAttentionOptions {
  int64_t embed_dim_;
  int64_t num_heads_;
  double dropout_ = 0.0;       // on the attention weights, in training
  bool bias_ = true;           // in_proj_bias and out_proj.bias
  bool batch_first_ = false;   // (N, L, E) inputs when true, else (L, N, E) (PyTorch's default)
  Generator* generator_ = nullptr;  // dropout's; the default generator when null; not owned

  MultiheadAttentionOptions(int64_t embed_dim, int64_t num_heads)
      : embed_dim_(embed_dim), num_heads_(num_heads) {}
  MultiheadAttentionOptions& dropout(double p) { dropout_ = p; return *this; }
  MultiheadAttentionOptions& bias(bool b) { bias_ = b; return *this; }
  MultiheadAttentionOptions& batch_first(bool b) { batch_first_ = b; return *this; }
  MultiheadAttentionOptions& generator(Generator* g) { generator_ = g; return *this; }
};

// forward_with_weights' result: the output and the attention weights,
// (N, L, S) averaged over the heads or (N, num_heads, L, S) per head, in
// either layout (as PyTorch's need_weights=True).
struct AttentionOutput {
  Tensor output;
  Tensor weights;
};

class MultiheadAttention : public Module {
 public:
  explicit MultiheadAttention(const MultiheadAttentionOptions& options);
  MultiheadAttention(int64_t embed_dim, int64_t num_heads)
      : MultiheadAttention(MultiheadAttentionOptions(embed_dim, num_heads)) {}

  // Self-attention: forward(x, x, x).
  Tensor forward(const Tensor& x) override;
  // query (N, L, E), key and value (N, S, E) (batch_first; else (L, N, E)
  // and (S, N, E)) -> (N, L, E). attn_mask (L, S) or (N * num_heads, L, S)
  // and key_padding_mask (N, S), each floating (added to the scores) or i64
  // (nonzero drops the score), as PyTorch's. A query whose every key is
  // dropped attends to nothing and gets zeros (PyTorch gives NaN). Returns
  // the output only (need_weights=False).
  Tensor forward(const Tensor& query, const Tensor& key, const Tensor& value,
                 const Tensor& attn_mask = Tensor(), const Tensor& key_padding_mask = Tensor());
  // The same, with the attention weights (need_weights=True); per head when
  // average_weights is false.
  AttentionOutput forward_with_weights(const Tensor& query, const Tensor& key, const Tensor& value,
                                       const Tensor& attn_mask = Tensor(),
                                       const Tensor& key_padding_mask = Tensor(),
                                       bool average_weights = true);
  // PyTorch's _reset_parameters: in_proj_weight ~ xavier_uniform_, both
  // biases 0; out_proj.weight keeps Linear's default.
  void reset_parameters(Generator* gen = nullptr);

  MultiheadAttentionOptions options;
  Tensor in_proj_weight;  // (3 * embed_dim, embed_dim): rows q, then k, then v
  Tensor in_proj_bias;    // (3 * embed_dim), undefined without bias
  std::shared_ptr<Linear> out_proj;

 protected:
  std::string extra_repr() const override;

 private:
  // The output, and the weights (N * num_heads, L, S) in *weights if given.
  Tensor attend(const Tensor& query, const Tensor& key, const Tensor& value,
                const Tensor& attn_mask, const Tensor& key_padding_mask, Tensor* weights);
  // attn_mask and key_padding_mask as the one mask the scores
  // (N * num_heads, L, S) take: attn_mask alone as it is, else additive.
  Tensor combined_mask(const Tensor& attn_mask, const Tensor& key_padding_mask, int64_t n,
                       int64_t len, int64_t keys, const Tensor& like) const;
};

}  // namespace danlu::nn
