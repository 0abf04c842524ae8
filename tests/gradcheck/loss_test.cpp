// Finite-difference checks of cross_entropy (every reduction, with and
// without label smoothing) and mse_loss (both inputs).
#include <gtest/gtest.h>

#include "danlu.h"
#include "tests/support/gradcheck.h"

namespace danlu {
namespace {

using testing::gradcheck;
using testing::random_input;
using Inputs = std::vector<Tensor>;

TEST(GradcheckLoss, CrossEntropyEveryReductionAndSmoothing) {
  Tensor logits = random_input({5, 7}, 1, -2.0, 2.0);
  Tensor target = Tensor::from_vector(std::vector<int64_t>{3, 0, 6, 3, 1}, {5});
  for (Reduction reduction : {Reduction::none, Reduction::mean, Reduction::sum}) {
    for (double smoothing : {0.0, 0.1, 1.0}) {
      SCOPED_TRACE(::testing::Message() << "reduction " << static_cast<int>(reduction)
                                        << ", label_smoothing " << smoothing);
      CrossEntropyOptions options;
      options.reduction = reduction;
      options.label_smoothing = smoothing;
      EXPECT_TRUE(gradcheck(
          [&](const Inputs& in) { return cross_entropy(in[0], target, options); }, {logits}));
    }
  }
}

TEST(GradcheckLoss, CrossEntropyBatchOfOne) {
  Tensor logits = random_input({1, 4}, 2, -2.0, 2.0);
  Tensor target = Tensor::from_vector(std::vector<int64_t>{2}, {1});
  CrossEntropyOptions options;
  options.label_smoothing = 0.2;
  EXPECT_TRUE(gradcheck([&](const Inputs& in) { return cross_entropy(in[0], target, options); },
                        {logits}));
}

TEST(GradcheckLoss, MseLossBothInputs) {
  Tensor input = random_input({3, 5}, 3), target = random_input({3, 5}, 4);
  for (Reduction reduction : {Reduction::none, Reduction::mean, Reduction::sum}) {
    EXPECT_TRUE(gradcheck(
        [reduction](const Inputs& in) { return mse_loss(in[0], in[1], reduction); },
        {input, target}));
  }
}

}  // namespace
}  // namespace danlu
