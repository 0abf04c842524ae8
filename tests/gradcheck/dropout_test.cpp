// Finite-difference check of dropout's backward: a fresh generator per call
// makes every evaluation draw the same mask, so the op is a fixed linear map.
#include <gtest/gtest.h>

#include "danlu.h"
#include "tests/support/gradcheck.h"

namespace danlu {
namespace {

using testing::gradcheck;
using testing::random_input;
using Inputs = std::vector<Tensor>;

TEST(GradcheckDropout, SameMaskForwardAndBackward) {
  Tensor x = random_input({3, 11}, 1);
  for (double p : {0.0, 0.3, 0.9, 1.0}) {
    SCOPED_TRACE(p);
    EXPECT_TRUE(gradcheck(
        [p](const Inputs& in) {
          Generator gen(42);
          return dropout(in[0], p, true, &gen);
        },
        {x}));
  }
}

TEST(GradcheckDropout, EvalIsIdentity) {
  Tensor x = random_input({2, 5}, 2);
  EXPECT_TRUE(gradcheck([](const Inputs& in) { return dropout(in[0], 0.5, false) * 2.0; }, {x}));
}

}  // namespace
}  // namespace danlu
