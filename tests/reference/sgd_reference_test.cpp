// SGD trajectories against torch.optim.SGD: five steps with given gradients
// for plain SGD, momentum, dampening, Nesterov and weight decay.
#include "optim/sgd.h"
#include "tests/reference/reference_case.h"

namespace danlu::testing {
namespace {

TEST(SgdReference, TrajectoriesMatchTorchOptim) {
  for (const auto& c : reference_cases("sgd.json")) {
    const auto& o = c.at("options");
    optim::SGDOptions options(o.at("lr").get<double>());
    options.momentum(o.value("momentum", 0.0))
        .dampening(o.value("dampening", 0.0))
        .weight_decay(o.value("weight_decay", 0.0))
        .nesterov(o.value("nesterov", false));
    Tensor p = case_input(c, "p");
    optim::SGD sgd({p}, options);
    for (size_t t = 0; t < c.at("grads").size(); ++t) {
      p.set_grad(tensor_from_json(c.at("grads").at(t)));
      sgd.step();
      // The same f64 arithmetic in the same order as PyTorch's loop, up to
      // fused multiply-adds: differences stay at a few ulps.
      expect_close(p, tensor_from_json(c.at("trajectory").at(t)), 1e-13, 1e-13,
                   c.at("name").get<std::string>() + " step " + std::to_string(t + 1));
    }
  }
}

TEST(SgdReference, FrozenParametersAreSkipped) {
  Tensor frozen = Tensor::ones({3}, DType::f64);
  Tensor trained = Tensor::ones({3}, TensorOptions(DType::f64).requires_grad());
  optim::SGD sgd({frozen, trained}, optim::SGDOptions(0.5));
  trained.set_grad(Tensor::ones({3}, DType::f64));
  sgd.step();
  EXPECT_EQ(frozen.to_vector(), (std::vector<double>{1, 1, 1}));
  EXPECT_EQ(trained.to_vector(), (std::vector<double>{0.5, 0.5, 0.5}));
}

TEST(SgdReference, InvalidOptionsAreRefused) {
  Tensor p = Tensor::ones({1}, TensorOptions().requires_grad());
  EXPECT_THROW(optim::SGD({p}, optim::SGDOptions(-1.0)), Error);
  EXPECT_THROW(optim::SGD({p}, optim::SGDOptions(0.1).nesterov(true)), Error);
}

}  // namespace
}  // namespace danlu::testing
