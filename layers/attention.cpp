// MultiheadAttention: project q, k and v with the three row blocks of
// in_proj_weight, split the embedding into heads (N * heads sequences of
// head_dim features), attend, merge the heads and apply out_proj.
#include "layers/attention.h"

#include "engine/ops/attention.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/linear.h"
#include "engine/ops/reduce.h"
#include "engine/ops/shape.h"
#include "layers/init.h"
#include "layers/repr.h"

namespace danlu::nn {

MultiheadAttention::MultiheadAttention(const MultiheadAttentionOptions& opts)
    : Module("MultiheadAttention"), options(opts) {
  const int64_t e = options.embed_dim_, h = options.num_heads_;
  DANLU_CHECK(e > 0 && h > 0, "MultiheadAttention: embed_dim and num_heads must be positive, got ",
              e, " and ", h);
  DANLU_CHECK(e % h == 0, "MultiheadAttention: embed_dim ", e, " is not divisible by num_heads ", h,
              "; choose num_heads dividing embed_dim (each head gets embed_dim / num_heads)");
  DANLU_CHECK(options.dropout_ >= 0.0 && options.dropout_ <= 1.0,
              "MultiheadAttention: dropout must be in [0, 1], got ", options.dropout_);
  in_proj_weight = register_parameter("in_proj_weight", Tensor::empty({3 * e, e}));
  if (options.bias_) in_proj_bias = register_parameter("in_proj_bias", Tensor::empty({3 * e}));
  out_proj = register_module("out_proj",
                             std::make_shared<Linear>(LinearOptions(e, e).bias(options.bias_)));
  reset_parameters();
}

void MultiheadAttention::reset_parameters(Generator* gen) {
  init::xavier_uniform_(in_proj_weight, 1.0, gen);
  if (in_proj_bias.defined()) init::zeros_(in_proj_bias);
  if (out_proj->bias.defined()) init::zeros_(out_proj->bias);
}

Tensor MultiheadAttention::forward(const Tensor& x) { return forward(x, x, x); }

Tensor MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                   const Tensor& attn_mask, const Tensor& key_padding_mask) {
  return attend(query, key, value, attn_mask, key_padding_mask, nullptr);
}

AttentionOutput MultiheadAttention::forward_with_weights(const Tensor& query, const Tensor& key,
                                                         const Tensor& value,
                                                         const Tensor& attn_mask,
                                                         const Tensor& key_padding_mask,
                                                         bool average_weights) {
  AttentionOutput out;
  out.output = attend(query, key, value, attn_mask, key_padding_mask, &out.weights);
  const int64_t heads = options.num_heads_, n = out.weights.size(0) / heads;
  out.weights = out.weights.reshape({n, heads, out.weights.size(1), out.weights.size(2)});
  if (average_weights) out.weights = mean(out.weights, {1});
  return out;
}

Tensor MultiheadAttention::combined_mask(const Tensor& attn_mask, const Tensor& key_padding_mask,
                                         int64_t n, int64_t len, int64_t keys,
                                         const Tensor& like) const {
  const int64_t heads = options.num_heads_;
  if (attn_mask.defined()) {
    const bool shared = attn_mask.dim() == 2 && attn_mask.size(0) == len &&
                        attn_mask.size(1) == keys;
    const bool per_head = attn_mask.dim() == 3 && attn_mask.size(0) == n * heads &&
                          attn_mask.size(1) == len && attn_mask.size(2) == keys;
    DANLU_CHECK(shared || per_head, "MultiheadAttention: attn_mask ", attn_mask.shape(),
                " is neither (L, S) = (", len, ", ", keys, ") nor (N * num_heads, L, S) = (",
                n * heads, ", ", len, ", ", keys, ")");
  }
  if (!key_padding_mask.defined()) return attn_mask;
  DANLU_CHECK(key_padding_mask.dim() == 2 && key_padding_mask.size(0) == n &&
                  key_padding_mask.size(1) == keys,
              "MultiheadAttention: key_padding_mask ", key_padding_mask.shape(),
              " is not (N, S) = (", n, ", ", keys, "); give one row per sequence, one column "
              "per key");
  const Tensor padding = additive_attention_mask(key_padding_mask, like).reshape({n, 1, 1, keys});
  const Tensor base =
      attn_mask.defined()
          ? additive_attention_mask(attn_mask, like).reshape({attn_mask.dim() == 3 ? n : 1,
                                                              attn_mask.dim() == 3 ? heads : 1,
                                                              len, keys})
          : Tensor::zeros({1, 1, len, keys}, TensorOptions(like.dtype()).device(like.device()));
  return broadcast_to(add(padding, base), Shape({n, heads, len, keys}))
      .reshape({n * heads, len, keys});
}

Tensor MultiheadAttention::attend(const Tensor& query, const Tensor& key, const Tensor& value,
                                  const Tensor& attn_mask, const Tensor& key_padding_mask,
                                  Tensor* weights) {
  const int64_t e = options.embed_dim_, heads = options.num_heads_, head_dim = e / heads;
  const char* layout = options.batch_first_ ? "(N, L, E)" : "(L, N, E)";
  for (const Tensor* t : {&query, &key, &value})
    DANLU_CHECK(t->dim() == 3 && t->size(-1) == e, "MultiheadAttention: expected inputs ", layout,
                " with E = embed_dim = ", e, ", got ", t->shape());
  // In (N, L, E) order from here on.
  auto batch_major = [&](const Tensor& t) {
    return options.batch_first_ ? t : transpose(t, 0, 1);
  };
  const Tensor q_in = batch_major(query), k_in = batch_major(key), v_in = batch_major(value);
  DANLU_CHECK(k_in.size(0) == q_in.size(0) && v_in.size(0) == q_in.size(0) &&
                  k_in.size(1) == v_in.size(1),
              "MultiheadAttention: query ", query.shape(), ", key ", key.shape(), " and value ",
              value.shape(), " disagree on the batch size or the key length");
  const int64_t n = q_in.size(0), len = q_in.size(1);
  const Tensor mask = combined_mask(attn_mask, key_padding_mask, n, len, k_in.size(1), q_in);
  // Block i of in_proj (rows i*E ... i*E + E - 1), applied to `t`, split
  // into heads: (N, len, E) -> (N * heads, len, head_dim).
  auto project = [&](const Tensor& t, int64_t i) {
    const Tensor w = narrow(in_proj_weight, 0, i * e, e);
    const Tensor b = in_proj_bias.defined() ? narrow(in_proj_bias, 0, i * e, e) : Tensor();
    const int64_t rows = t.size(1);
    return permute(linear(t, w, b).reshape({n, rows, heads, head_dim}), {0, 2, 1, 3})
        .reshape({n * heads, rows, head_dim});
  };
  const Tensor attended =
      scaled_dot_product_attention(project(q_in, 0), project(k_in, 1), project(v_in, 2), mask,
                                   options.dropout_, is_training(), options.generator_, weights);
  const Tensor merged = permute(attended.reshape({n, heads, len, head_dim}), {0, 2, 1, 3})
                            .reshape({n, len, e});
  return batch_major((*out_proj)(merged));
}

std::string MultiheadAttention::extra_repr() const {
  return "embed_dim=" + std::to_string(options.embed_dim_) +
         ", num_heads=" + std::to_string(options.num_heads_) +
         ", dropout=" + detail::py_float(options.dropout_) +
         ", batch_first=" + detail::py_bool(options.batch_first_);
}

}  // namespace danlu::nn
