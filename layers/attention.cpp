// MultiheadAttention: project q, k and v with the three row blocks of
// in_proj_weight, split the embedding into heads (N * heads sequences of
// head_dim features), attend, merge the heads and apply out_proj.
#include "layers/attention.h"

#include "engine/ops/attention.h"
#include "engine/ops/linear.h"
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
                                   const Tensor& attn_mask) {
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
  const int64_t n = q_in.size(0);
  // Block i of in_proj (rows i*E ... i*E + E - 1), applied to `t`, split
  // into heads: (N, len, E) -> (N * heads, len, head_dim).
  auto project = [&](const Tensor& t, int64_t i) {
    const Tensor w = narrow(in_proj_weight, 0, i * e, e);
    const Tensor b = in_proj_bias.defined() ? narrow(in_proj_bias, 0, i * e, e) : Tensor();
    const int64_t len = t.size(1);
    return permute(linear(t, w, b).reshape({n, len, heads, head_dim}), {0, 2, 1, 3})
        .reshape({n * heads, len, head_dim});
  };
  const Tensor attended =
      scaled_dot_product_attention(project(q_in, 0), project(k_in, 1), project(v_in, 2),
                                   attn_mask, options.dropout_, is_training(),
                                   options.generator_);
  const int64_t len = q_in.size(1);
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
