// non_finite_tensors names the tensors of a model that hold NaN or inf, so
// that `danlu eval` on a diverged run's weights warns instead of printing an
// accuracy as if the numbers meant something.
#include <gtest/gtest.h>

#include <cmath>

#include "layers/batchnorm.h"
#include "layers/flatten.h"
#include "layers/linear.h"
#include "layers/sequential.h"
#include "train/evaluate.h"

namespace danlu::train {
namespace {

TEST(NonFiniteTensors, NamesEachTensorWithNaNOrInf) {
  nn::Sequential model(nn::BatchNorm2d(2), nn::Flatten(), nn::Linear(8, 3));
  EXPECT_TRUE(non_finite_tensors(model).empty());
  nn::StateDict dict = model.state_dict();
  dict["2.weight"].data<float>()[5] = NAN;
  dict["0.running_var"].data<float>()[1] = INFINITY;
  EXPECT_EQ(non_finite_tensors(model), (std::vector<std::string>{"0.running_var", "2.weight"}));
}

}  // namespace
}  // namespace danlu::train
