// Finite-difference checks of attention in f64: the fused scaled, masked
// softmax, narrow, scaled dot-product attention, MultiheadAttention and the
// encoder layer (pre- and post-norm), with respect to inputs and parameters.
#include <gtest/gtest.h>

#include <limits>

#include "danlu.h"
#include "layers/layers.h"
#include "tests/support/gradcheck.h"

namespace danlu {
namespace {

using testing::gradcheck;
using testing::random_input;
using Inputs = std::vector<Tensor>;

// An additive mask (rows, cols) with -inf at every third entry, never a whole row.
Tensor sparse_mask(int64_t rows, int64_t cols, uint64_t seed) {
  Tensor m = random_input({rows, cols}, seed, -1.0, 1.0, false);
  double* p = m.data<double>();
  for (int64_t i = 0; i < m.numel(); i += 3)
    if (i % cols != cols - 1) p[i] = -std::numeric_limits<double>::infinity();
  return m;
}

TEST(GradcheckAttention, ScaledMaskedSoftmax) {
  Tensor x = random_input({2, 3, 4, 5}, 1, -2.0, 2.0);
  EXPECT_TRUE(gradcheck([](const Inputs& in) { return scaled_masked_softmax(in[0], 0.5); }, {x}));
  const Tensor shared = sparse_mask(4, 5, 2), per_head = sparse_mask(12, 5, 3).reshape({3, 4, 5});
  for (const Tensor& mask : {shared, per_head}) {
    SCOPED_TRACE(mask.shape().str());
    EXPECT_TRUE(gradcheck(
        [&](const Inputs& in) { return scaled_masked_softmax(in[0], 0.7, mask); }, {x}));
  }
}

TEST(GradcheckAttention, Narrow) {
  Tensor x = random_input({3, 5, 2}, 4);
  EXPECT_TRUE(gradcheck([](const Inputs& in) { return narrow(in[0], 1, 1, 3); }, {x}));
  EXPECT_TRUE(gradcheck([](const Inputs& in) { return narrow(in[0], 0, 2, 1); }, {x}));
}

TEST(GradcheckAttention, ScaledDotProductAttention) {
  Tensor q = random_input({2, 3, 4}, 5), k = random_input({2, 5, 4}, 6);
  Tensor v = random_input({2, 5, 3}, 7);
  const Tensor mask = sparse_mask(3, 5, 8);
  EXPECT_TRUE(gradcheck(
      [](const Inputs& in) { return scaled_dot_product_attention(in[0], in[1], in[2]); },
      {q, k, v}));
  EXPECT_TRUE(gradcheck(
      [&](const Inputs& in) { return scaled_dot_product_attention(in[0], in[1], in[2], mask); },
      {q, k, v}));
}

// The module's input(s) then every parameter, so each gets checked.
Inputs with_parameters(Inputs inputs, const nn::Module& m) {
  for (const Tensor& p : m.parameters()) inputs.push_back(p);
  return inputs;
}

// Query length 3, key length 4, batch 2, in both layouts, with a mask.
TEST(GradcheckAttention, MultiheadAttentionInputsAndParameters) {
  const Tensor mask = sparse_mask(3, 4, 11);
  for (bool batch_first : {true, false}) {
    SCOPED_TRACE(batch_first);
    nn::MultiheadAttention mha(nn::MultiheadAttentionOptions(6, 3).batch_first(batch_first));
    mha.to(DType::f64);
    Tensor q = batch_first ? random_input({2, 3, 6}, 9) : random_input({3, 2, 6}, 9);
    Tensor kv = batch_first ? random_input({2, 4, 6}, 10) : random_input({4, 2, 6}, 10);
    EXPECT_TRUE(gradcheck([&](const Inputs& in) { return mha.forward(in[0], in[1], in[1], mask); },
                          with_parameters({q, kv}, mha)));
  }
}

TEST(GradcheckAttention, EncoderLayerPreAndPostNorm) {
  for (bool norm_first : {false, true}) {
    SCOPED_TRACE(norm_first);
    nn::TransformerEncoderLayer layer(nn::TransformerEncoderLayerOptions(4, 2)
                                          .dim_feedforward(6)
                                          .dropout(0.0)
                                          .activation("gelu")
                                          .batch_first(true)
                                          .norm_first(norm_first));
    layer.to(DType::f64);
    Tensor x = random_input({2, 3, 4}, 12);
    EXPECT_TRUE(gradcheck([&](const Inputs& in) { return layer.forward(in[0]); },
                          with_parameters({x}, layer)));
  }
}

}  // namespace
}  // namespace danlu
