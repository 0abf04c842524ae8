// TransformerEncoderLayer and TransformerEncoder, as torch.nn's: the same
// children and parameter names (self_attn, linear1, linear2, norm1, norm2;
// layers.0..., norm), post-norm or pre-norm (norm_first).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/random.h"
#include "layers/attention.h"
#include "layers/dropout.h"
#include "layers/layernorm.h"
#include "layers/linear.h"
#include "layers/module.h"
#include "layers/sequential.h"

namespace danlu::nn {

struct TransformerEncoderLayerOptions {
  int64_t d_model_;
  int64_t nhead_;
  int64_t dim_feedforward_ = 2048;
  double dropout_ = 0.1;            // attention weights, attention output, MLP (three places)
  std::string activation_ = "relu";  // the MLP's: "relu" or "gelu"
  double layer_norm_eps_ = 1e-5;
  bool batch_first_ = false;  // (N, L, E) when true, (L, N, E) when false
  bool norm_first_ = false;   // pre-norm: x + f(norm(x)); post-norm: norm(x + f(x))
  Generator* generator_ = nullptr;  // every dropout's; not owned

  TransformerEncoderLayerOptions(int64_t d_model, int64_t nhead)
      : d_model_(d_model), nhead_(nhead) {}
  TransformerEncoderLayerOptions& dim_feedforward(int64_t d) { dim_feedforward_ = d; return *this; }
  TransformerEncoderLayerOptions& dropout(double p) { dropout_ = p; return *this; }
  TransformerEncoderLayerOptions& activation(std::string a) {
    activation_ = std::move(a);
    return *this;
  }
  TransformerEncoderLayerOptions& layer_norm_eps(double e) { layer_norm_eps_ = e; return *this; }
  TransformerEncoderLayerOptions& batch_first(bool b) { batch_first_ = b; return *this; }
  TransformerEncoderLayerOptions& norm_first(bool b) { norm_first_ = b; return *this; }
  TransformerEncoderLayerOptions& generator(Generator* g) { generator_ = g; return *this; }
};

class TransformerEncoderLayer : public Module {
 public:
  explicit TransformerEncoderLayer(const TransformerEncoderLayerOptions& options);

  Tensor forward(const Tensor& x) override;
  // x (N, L, d_model) (batch_first; else (L, N, d_model)); src_mask and
  // src_key_padding_mask as MultiheadAttention's attn_mask and
  // key_padding_mask.
  Tensor forward(const Tensor& x, const Tensor& src_mask,
                 const Tensor& src_key_padding_mask = Tensor());

  TransformerEncoderLayerOptions options;
  std::shared_ptr<MultiheadAttention> self_attn;
  std::shared_ptr<Linear> linear1, linear2;  // d_model -> dim_feedforward -> d_model
  std::shared_ptr<Dropout> dropout, dropout1, dropout2;  // MLP, attention output, MLP output
  std::shared_ptr<LayerNorm> norm1, norm2;

 protected:
  std::string extra_repr() const override;

 private:
  Tensor attention_block(const Tensor& x, const Tensor& mask, const Tensor& key_padding_mask);
  Tensor feedforward_block(const Tensor& x);
};

// num_layers encoder layers built from the same options (each with its own
// parameters), then a LayerNorm when final_norm (PyTorch's norm argument;
// pre-norm stacks need it, as the last layer's output is not normalised).
class TransformerEncoder : public Module {
 public:
  TransformerEncoder(const TransformerEncoderLayerOptions& layer, int64_t num_layers,
                     bool final_norm = false);

  Tensor forward(const Tensor& x) override;
  Tensor forward(const Tensor& x, const Tensor& mask,
                 const Tensor& src_key_padding_mask = Tensor());

  std::shared_ptr<Sequential> layers;  // "0", "1", ...: TransformerEncoderLayer
  std::shared_ptr<LayerNorm> norm;     // null without final_norm
};

}  // namespace danlu::nn
