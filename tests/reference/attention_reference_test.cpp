// The fused scaled, masked softmax, nn::MultiheadAttention and
// nn::TransformerEncoderLayer / TransformerEncoder against PyTorch: outputs,
// input gradients and every parameter's gradient, with PyTorch's parameter
// names loaded strictly from PyTorch's state dict.
#include <gtest/gtest.h>

#include "danlu.h"
#include "layers/layers.h"
#include "tests/reference/reference_case.h"

namespace danlu {
namespace {

using testing::case_input;
using testing::expect_matches;
using testing::reference_cases;
using testing::tensor_from_json;

// f64 throughout. Our path and PyTorch's differ only in summation order
// (scale applied to the scores instead of to q, GEMM blocking, layer norm's
// sums over 8 features, softmax sums in double) on values of magnitude < 30
// through at most a dozen ops: all within 1e-13 (measured). 1e-10 keeps headroom,
// while a wrong head split, a transposed in_proj block or a scale of 1/E
// instead of 1/sqrt(E) moves results by >= 1e-2.
constexpr double kAtol = 1e-10, kRtol = 1e-10;

// Loads the case's "params" (PyTorch's names) into `m` strictly: a missing,
// extra or misshaped name fails.
void load_params(nn::Module& m, const nlohmann::json& c) {
  nn::StateDict dict;
  for (const auto& [name, t] : c.at("params").items()) dict.insert(name, tensor_from_json(t));
  m.to(DType::f64);
  m.load_state_dict(dict);
}

void expect_param_grads(const nn::Module& m, const nlohmann::json& c) {
  const nn::StateDict params = m.named_parameters();
  for (const auto& [name, t] : c.at("grads").items()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(params.contains(name));
    testing::expect_close(params[name].grad(), tensor_from_json(t), kAtol, kRtol,
                          c.at("name").get<std::string>() + " grad " + name);
  }
}

// A mask stored as 0/1 integers is boolean; otherwise additive.
Tensor case_mask(const nlohmann::json& c, const std::string& key) {
  if (!c.contains(key)) return Tensor();
  const bool boolean = c.at(key).at("data").at(0).is_number_integer();
  return case_input(c, key, boolean ? DType::i64 : DType::f64, false);
}

TEST(AttentionReference, ScaledMaskedSoftmaxMatchesPyTorch) {
  for (const auto& c : reference_cases("attention.json")) {
    if (c.at("op") != "scaled_masked_softmax") continue;
    SCOPED_TRACE(c.at("name").get<std::string>());
    Tensor x = case_input(c, "x");
    Tensor y = scaled_masked_softmax(x, c.at("scale").get<double>(), case_mask(c, "mask"));
    expect_matches(y, c, "y", kAtol, kRtol);
    y.backward(case_input(c, "gy", DType::f64, false));
    expect_matches(x.grad(), c, "gx", kAtol, kRtol);
  }
}

TEST(AttentionReference, MultiheadAttentionMatchesPyTorch) {
  int cases = 0;
  for (const auto& c : reference_cases("attention.json")) {
    if (c.at("op") != "multihead_attention") continue;
    SCOPED_TRACE(c.at("name").get<std::string>());
    ++cases;
    nn::MultiheadAttention mha(nn::MultiheadAttentionOptions(c.at("embed_dim").get<int64_t>(),
                                                                 c.at("num_heads").get<int64_t>())
                                   .batch_first(c.at("batch_first").get<bool>()));
    load_params(mha, c);
    Tensor query = case_input(c, "query");
    const bool self = !c.contains("key");
    Tensor key = self ? query : case_input(c, "key");
    Tensor value = self ? query : case_input(c, "value");
    const Tensor attn_mask = case_mask(c, "attn_mask");
    const Tensor padding = case_mask(c, "key_padding_mask");
    Tensor y;
    if (c.contains("weights")) {
      const nn::AttentionOutput out = mha.forward_with_weights(
          query, key, value, attn_mask, padding, c.at("average_weights").get<bool>());
      expect_matches(out.weights, c, "weights", kAtol, kRtol);
      y = out.output;
    } else {
      y = mha.forward(query, key, value, attn_mask, padding);
    }
    expect_matches(y, c, "y", kAtol, kRtol);
    y.backward(case_input(c, "gy", DType::f64, false));
    expect_matches(query.grad(), c, "gquery", kAtol, kRtol);
    if (!self) {
      expect_matches(key.grad(), c, "gkey", kAtol, kRtol);
      expect_matches(value.grad(), c, "gvalue", kAtol, kRtol);
    }
    expect_param_grads(mha, c);
  }
  EXPECT_EQ(cases, 5);
}

nn::TransformerEncoderLayerOptions layer_options(const nlohmann::json& c) {
  return nn::TransformerEncoderLayerOptions(c.at("d_model").get<int64_t>(),
                                            c.at("nhead").get<int64_t>())
      .dim_feedforward(c.at("dim_feedforward").get<int64_t>())
      .dropout(0.0)
      .activation(c.at("activation").get<std::string>())
      .batch_first(true)
      .norm_first(c.at("norm_first").get<bool>());
}

TEST(AttentionReference, TransformerEncoderMatchesPyTorch) {
  int cases = 0;
  for (const auto& c : reference_cases("transformer_encoder.json")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    ++cases;
    std::shared_ptr<nn::Module> m;
    Tensor x = case_input(c, "x"), y;
    const Tensor mask = case_mask(c, "mask");
    if (c.at("op") == "encoder_layer") {
      auto layer = std::make_shared<nn::TransformerEncoderLayer>(layer_options(c));
      load_params(*layer, c);
      y = layer->forward(x, mask);
      m = layer;
    } else {
      auto stack = std::make_shared<nn::TransformerEncoder>(layer_options(c),
                                                            c.at("num_layers").get<int64_t>(),
                                                            true);
      load_params(*stack, c);
      y = stack->forward(x, mask);
      m = stack;
    }
    expect_matches(y, c, "y", kAtol, kRtol);
    y.backward(case_input(c, "gy", DType::f64, false));
    expect_matches(x.grad(), c, "gx", kAtol, kRtol);
    expect_param_grads(*m, c);
  }
  EXPECT_EQ(cases, 5);
}

}  // namespace
}  // namespace danlu
