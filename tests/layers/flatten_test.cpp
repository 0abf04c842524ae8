// Flatten: default and explicit dims, printing and errors.
#include <gtest/gtest.h>

#include "danlu.h"
#include "layers/flatten.h"

namespace danlu::nn {
namespace {

TEST(Flatten, MergesEverythingAfterTheBatchByDefault) {
  Flatten flat;
  EXPECT_EQ(flat(Tensor::zeros({2, 3, 4, 5})).shape(), Shape({2, 60}));
  EXPECT_EQ(flat.describe(), "Flatten(start_dim=1, end_dim=-1)");
  Flatten middle(FlattenOptions().start_dim(1).end_dim(2));
  EXPECT_EQ(middle(Tensor::zeros({2, 3, 4, 5})).shape(), Shape({2, 12, 5}));
  Flatten all(FlattenOptions().start_dim(0));
  EXPECT_EQ(all(Tensor::zeros({2, 3})).shape(), Shape({6}));
}

TEST(Flatten, KeepsTheValuesInOrder) {
  const Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {1, 2, 2});
  EXPECT_EQ(Flatten()(x).to_vector(), (std::vector<double>{1, 2, 3, 4}));
}

TEST(Flatten, ErrorsNameTheLayer) {
  try {
    Flatten()(Tensor::zeros({4}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "Flatten: dimension 1 is out of range for a 1-d tensor (valid: -1 to 0)");
  }
  EXPECT_THROW(Flatten(FlattenOptions().start_dim(2).end_dim(1))(Tensor::zeros({2, 3, 4})), Error);
}

}  // namespace
}  // namespace danlu::nn
