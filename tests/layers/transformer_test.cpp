// The Transformer layers as modules: PyTorch's state-dict names and shapes,
// PyTorch's initialisation, the ViT token layers' shapes and values, a ViT
// built from a config, attention dropout, key padding masks and attention
// weights, and the one-line errors for bad sizes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "danlu.h"
#include "layers/builder.h"
#include "layers/layers.h"
#include "tests/support/error_of.h"

namespace danlu::nn {
namespace {

using testing::error_of;

std::vector<std::string> names(const Module& m) { return m.state_dict().keys(); }

TEST(Transformer, EncoderLayerHasPyTorchsNamesInPyTorchsOrder) {
  TransformerEncoderLayer layer(TransformerEncoderLayerOptions(8, 2).dim_feedforward(16));
  const std::vector<std::string> expected = {
      "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
      "self_attn.out_proj.bias",  "linear1.weight",         "linear1.bias",
      "linear2.weight",           "linear2.bias",           "norm1.weight",
      "norm1.bias",               "norm2.weight",           "norm2.bias"};
  EXPECT_EQ(names(layer), expected);
  EXPECT_EQ(layer.self_attn->in_proj_weight.shape(), Shape({24, 8}));
  TransformerEncoder stack(TransformerEncoderLayerOptions(8, 2), 2, true);
  const auto keys = names(stack);
  EXPECT_EQ(keys.front(), "layers.0.self_attn.in_proj_weight");
  EXPECT_EQ(keys[12], "layers.1.self_attn.in_proj_weight");
  EXPECT_EQ(keys.back(), "norm.bias");
}

// PyTorch's _reset_parameters: xavier_uniform_ in_proj (bound sqrt(6 / (E + 3E))),
// zero biases.
TEST(Transformer, MultiheadAttentionInitialisesAsPyTorch) {
  MultiheadAttention mha(64, 4);
  const double bound = std::sqrt(6.0 / (64 + 192));
  double max_abs = 0;
  for (double w : mha.in_proj_weight.to_vector()) max_abs = std::max(max_abs, std::abs(w));
  EXPECT_LE(max_abs, bound);
  EXPECT_GT(max_abs, 0.9 * bound);
  for (double b : mha.in_proj_bias.to_vector()) EXPECT_EQ(b, 0.0);
  for (double b : mha.out_proj->bias.to_vector()) EXPECT_EQ(b, 0.0);
}

TEST(Transformer, TokenLayersShapesAndValues) {
  PatchEmbedding patches(1, 6, 4);
  const Tensor tokens = patches.forward(Tensor::ones({2, 1, 8, 12}));
  EXPECT_EQ(tokens.shape(), Shape({2, 6, 6}));  // (8/4) * (12/4) patches of 6 features
  ClassToken cls(6);
  EXPECT_EQ(cls.cls_token.shape(), Shape({1, 1, 6}));
  cls.cls_token.fill_(3.0);
  const Tensor with_cls = cls.forward(tokens);
  EXPECT_EQ(with_cls.shape(), Shape({2, 7, 6}));
  PositionalEmbedding pos(7, 6);
  pos.pos_embedding.fill_(1.0);
  const Tensor out = TakeClassToken().forward(pos.forward(with_cls));
  EXPECT_EQ(out.shape(), Shape({2, 6}));
  for (double v : out.to_vector()) EXPECT_EQ(v, 4.0);  // the class token plus its position
}

// Dropout on the attention weights: on in training (outputs change with the
// draw), off in eval (two calls agree exactly).
TEST(Transformer, AttentionDropoutOnlyInTraining) {
  MultiheadAttention mha(MultiheadAttentionOptions(8, 2).dropout(0.5).batch_first(true));
  const Tensor x = Tensor::randn({2, 5, 8});
  EXPECT_NE(mha.forward(x).to_vector(), mha.forward(x).to_vector());
  mha.eval();
  EXPECT_EQ(mha.forward(x).to_vector(), mha.forward(x).to_vector());
}

TEST(Transformer, BuilderMakesAVisionTransformer) {
  const auto spec = nlohmann::json::parse(R"({"layers": [
      {"type": "PatchEmbedding", "in_channels": 1, "embed_dim": 16, "patch_size": 7},
      {"type": "ClassToken", "embed_dim": 16},
      {"type": "PositionalEmbedding", "num_tokens": 17, "embed_dim": 16},
      {"type": "TransformerEncoder", "num_layers": 2, "d_model": 16, "nhead": 4,
       "dim_feedforward": 32, "dropout": 0.0, "activation": "gelu", "batch_first": true,
       "norm_first": true, "final_norm": true},
      {"type": "TakeClassToken"},
      {"type": "Linear", "in_features": 16, "out_features": 10}],
    "input_shape": [1, 28, 28]})");
  Generator a(5), b(5);
  auto first = build_model(spec, &a), second = build_model(spec, &b);
  EXPECT_EQ(first->forward(Tensor::zeros({3, 1, 28, 28})).shape(), Shape({3, 10}));
  // The same seed gives the same model, attention's in_proj and positions included.
  const auto p = first->state_dict(), q = second->state_dict();
  for (const auto& [name, t] : p) EXPECT_EQ(t.to_vector(), q[name].to_vector()) << name;
  EXPECT_EQ(p["3.layers.0.self_attn.out_proj.bias"].to_vector(), std::vector<double>(16, 0.0));
}

TEST(Transformer, BadSizesGiveOneLineErrors) {
  EXPECT_EQ(error_of([] { MultiheadAttention(10, 4); }),
            "MultiheadAttention: embed_dim 10 is not divisible by num_heads 4; choose num_heads "
            "dividing embed_dim (each head gets embed_dim / num_heads)");
  EXPECT_EQ(error_of([] { PatchEmbedding(1, 8, 5).forward(Tensor::zeros({1, 1, 28, 28})); }),
            "PatchEmbedding: expected an input (N, C, H, W) with H and W multiples of the patch "
            "size 5, got (1, 1, 28, 28); resize or pad the images, or pick a patch size dividing "
            "them");
  EXPECT_EQ(error_of([] { PositionalEmbedding(16, 8).forward(Tensor::zeros({2, 17, 8})); }),
            "PositionalEmbedding: expected tokens (N, 16, 8), got (2, 17, 8); num_tokens counts "
            "the class token too (patches + 1)");
  const auto bad_heads = nlohmann::json::parse(
      R"({"layers": [{"type": "TransformerEncoderLayer", "d_model": 8, "nhead": 3}]})");
  EXPECT_EQ(error_of([&] { build_model(bad_heads); }),
            "model.layers[0]: MultiheadAttention: embed_dim 8 is not divisible by num_heads 3; "
            "choose num_heads dividing embed_dim (each head gets embed_dim / num_heads)");
  const Tensor mask = Tensor::zeros({3, 4});
  EXPECT_EQ(error_of([&] { scaled_masked_softmax(Tensor::zeros({2, 5, 5}), 1.0, mask); }),
            "scaled_masked_softmax: mask (3, 4) does not fit scores (2, 5, 5); give a mask (L, S) "
            "shared by every batch and head, or the trailing dimensions of the scores' shape");
  MultiheadAttention mha(MultiheadAttentionOptions(8, 2).batch_first(true));
  const Tensor x = Tensor::zeros({2, 5, 8});
  EXPECT_EQ(error_of([&] { mha.forward(x, x, x, Tensor(), Tensor::zeros({5, 2})); }),
            "MultiheadAttention: key_padding_mask (5, 2) is not (N, S) = (2, 5); give one row per "
            "sequence, one column per key");
  EXPECT_EQ(error_of([&] { mha.forward(x, x, x, Tensor::zeros({2, 5, 5})); }),
            "MultiheadAttention: attn_mask (2, 5, 5) is neither (L, S) = (5, 5) nor "
            "(N * num_heads, L, S) = (4, 5, 5)");
}

// A padded key gets no weight from any query, in every head, and the output
// of the unpadded sequence does not change when the other one is padded.
TEST(Transformer, KeyPaddingMaskDropsThoseKeys) {
  MultiheadAttention mha(MultiheadAttentionOptions(8, 2).batch_first(true));
  const Tensor x = Tensor::randn({2, 5, 8});
  const Tensor padding = Tensor::from_vector(std::vector<int64_t>{0, 0, 0, 1, 1, 0, 0, 0, 0, 0},
                                             {2, 5}, TensorOptions(DType::i64));
  const AttentionOutput padded = mha.forward_with_weights(x, x, x, Tensor(), padding, false);
  ASSERT_EQ(padded.weights.shape(), Shape({2, 2, 5, 5}));
  const std::vector<double> w = padded.weights.to_vector();
  for (int64_t head = 0; head < 2; ++head)
    for (int64_t query = 0; query < 5; ++query) {
      const int64_t row = (head * 5 + query) * 5;  // sequence 0
      EXPECT_EQ(w[row + 3], 0.0);
      EXPECT_EQ(w[row + 4], 0.0);
      EXPECT_NEAR(w[row] + w[row + 1] + w[row + 2], 1.0, 1e-6);
    }
  const Tensor plain = mha.forward(x, x, x);
  const std::vector<double> a = padded.output.to_vector(), b = plain.to_vector();
  for (size_t i = 40; i < 80; ++i) EXPECT_EQ(a[i], b[i]) << i;  // sequence 1: nothing padded
  const AttentionOutput averaged = mha.forward_with_weights(x, x, x, Tensor(), padding);
  EXPECT_EQ(averaged.weights.shape(), Shape({2, 5, 5}));
  // A floating mask is added (as in PyTorch 2): -inf where the boolean one is 1.
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> dropped = {0, 0, 0, -inf, -inf, 0, 0, 0, 0, 0};
  const Tensor additive = Tensor::from_vector(dropped, {2, 5});
  EXPECT_EQ(mha.forward(x, x, x, Tensor(), additive).to_vector(), a);
}

}  // namespace
}  // namespace danlu::nn
