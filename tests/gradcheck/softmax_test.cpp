// Finite-difference checks of softmax and log-softmax along every dimension.
#include <gtest/gtest.h>

#include "danlu.h"
#include "tests/support/gradcheck.h"

namespace danlu {
namespace {

using testing::gradcheck;
using testing::random_input;
using Inputs = std::vector<Tensor>;

TEST(GradcheckSoftmax, EveryDimension) {
  Tensor x = random_input({2, 3, 5}, 1, -2.0, 2.0);
  for (int64_t dim : {0, 1, 2, -1}) {
    SCOPED_TRACE(dim);
    EXPECT_TRUE(gradcheck([dim](const Inputs& in) { return softmax(in[0], dim); }, {x}));
    EXPECT_TRUE(gradcheck([dim](const Inputs& in) { return log_softmax(in[0], dim); }, {x}));
  }
}

TEST(GradcheckSoftmax, BatchOfOneAndSingleClass) {
  Tensor row = random_input({1, 7}, 2, -3.0, 3.0);
  EXPECT_TRUE(gradcheck([](const Inputs& in) { return softmax(in[0], 1); }, {row}));
  EXPECT_TRUE(gradcheck([](const Inputs& in) { return log_softmax(in[0], 1); }, {row}));
  Tensor single = random_input({3, 1}, 3);  // softmax over one element is constant 1
  EXPECT_TRUE(gradcheck([](const Inputs& in) { return softmax(in[0], 1); }, {single}));
}

}  // namespace
}  // namespace danlu
