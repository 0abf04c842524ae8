// TransformerEncoderLayer's two residual blocks (attention, then the MLP) in
// PyTorch's order, and the stack of them.
#include "layers/transformer.h"

#include "engine/ops/activation.h"
#include "engine/ops/elementwise.h"
#include "layers/repr.h"

namespace danlu::nn {

TransformerEncoderLayer::TransformerEncoderLayer(const TransformerEncoderLayerOptions& opts)
    : Module("TransformerEncoderLayer"), options(opts) {
  const auto& o = options;
  DANLU_CHECK(o.activation_ == "relu" || o.activation_ == "gelu",
              "TransformerEncoderLayer: activation must be \"relu\" or \"gelu\", got \"",
              o.activation_, "\"");
  DANLU_CHECK(o.dim_feedforward_ > 0, "TransformerEncoderLayer: dim_feedforward must be positive, "
              "got ", o.dim_feedforward_);
  DANLU_CHECK(o.dropout_ >= 0.0 && o.dropout_ <= 1.0,
              "TransformerEncoderLayer: dropout must be in [0, 1], got ", o.dropout_);
  // Registered in PyTorch's order, so state dicts list the same keys in the same order.
  self_attn = register_module(
      "self_attn", std::make_shared<MultiheadAttention>(
                       MultiheadAttentionOptions(o.d_model_, o.nhead_)
                           .dropout(o.dropout_)
                           .batch_first(o.batch_first_)
                           .generator(o.generator_)));
  linear1 = register_module("linear1", std::make_shared<Linear>(o.d_model_, o.dim_feedforward_));
  const DropoutOptions drop = DropoutOptions(o.dropout_).generator(o.generator_);
  dropout = register_module("dropout", std::make_shared<Dropout>(drop));
  linear2 = register_module("linear2", std::make_shared<Linear>(o.dim_feedforward_, o.d_model_));
  const LayerNormOptions norm = LayerNormOptions({o.d_model_}).eps(o.layer_norm_eps_);
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(norm));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(norm));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(drop));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(drop));
}

Tensor TransformerEncoderLayer::forward(const Tensor& x) { return forward(x, Tensor()); }

Tensor TransformerEncoderLayer::forward(const Tensor& x, const Tensor& src_mask,
                                        const Tensor& src_key_padding_mask) {
  if (options.norm_first_) {
    const Tensor h = x + attention_block((*norm1)(x), src_mask, src_key_padding_mask);
    return h + feedforward_block((*norm2)(h));
  }
  const Tensor h = (*norm1)(x + attention_block(x, src_mask, src_key_padding_mask));
  return (*norm2)(h + feedforward_block(h));
}

Tensor TransformerEncoderLayer::attention_block(const Tensor& x, const Tensor& mask,
                                                const Tensor& key_padding_mask) {
  const Tensor a =
      self_attn->as_layer([&] { return self_attn->forward(x, x, x, mask, key_padding_mask); });
  return (*dropout1)(a);
}

Tensor TransformerEncoderLayer::feedforward_block(const Tensor& x) {
  const Tensor h = (*linear1)(x);
  const Tensor act = options.activation_ == "gelu" ? gelu(h) : relu(h);
  return (*dropout2)((*linear2)((*dropout)(act)));
}

std::string TransformerEncoderLayer::extra_repr() const {
  return "d_model=" + std::to_string(options.d_model_) + ", nhead=" +
         std::to_string(options.nhead_) + ", activation=" + options.activation_ +
         ", norm_first=" + detail::py_bool(options.norm_first_);
}

TransformerEncoder::TransformerEncoder(const TransformerEncoderLayerOptions& layer,
                                       int64_t num_layers, bool final_norm)
    : Module("TransformerEncoder") {
  DANLU_CHECK(num_layers > 0, "TransformerEncoder: num_layers must be positive, got ", num_layers);
  layers = register_module("layers", std::make_shared<Sequential>());
  for (int64_t i = 0; i < num_layers; ++i)
    layers->push_back(std::make_shared<TransformerEncoderLayer>(layer));
  if (final_norm) {
    const LayerNormOptions o = LayerNormOptions({layer.d_model_}).eps(layer.layer_norm_eps_);
    norm = register_module("norm", std::make_shared<LayerNorm>(o));
  }
}

Tensor TransformerEncoder::forward(const Tensor& x) { return forward(x, Tensor()); }

Tensor TransformerEncoder::forward(const Tensor& x, const Tensor& mask,
                                   const Tensor& src_key_padding_mask) {
  Tensor h = x;
  for (size_t i = 0; i < layers->size(); ++i) {
    const auto layer = layers->at<TransformerEncoderLayer>(i);
    h = layer->as_layer([&] { return layer->forward(h, mask, src_key_padding_mask); });
  }
  return norm ? (*norm)(h) : h;
}

}  // namespace danlu::nn
