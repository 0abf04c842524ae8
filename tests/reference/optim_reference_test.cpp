// Optimizer trajectories against PyTorch 1.13's torch.optim (SWATS: against a
// plain-Python run of the paper's algorithm), from optimizers.json: 20 steps
// on loss = sum(a * p^2 + noise_t * p), whose gradient 2 * a * p + noise_t is
// recomputed here from the optimizer's own parameters. The optimizers are
// built from the case's JSON options by make_optimizer.
#include <set>

#include "optim/make.h"
#include "optim/swats.h"
#include "tests/reference/reference_case.h"

namespace danlu::testing {
namespace {

using nlohmann::json;

// Runs case `c` in `dtype` and compares every step with the f64 trajectory.
void run_case(const json& c, DType dtype, double atol, double rtol) {
  const std::string name = c.at("name").get<std::string>() + " (" + dtype_name(dtype) + ")";
  std::vector<Tensor> params, a;
  for (size_t j = 0; j < c.at("p0").size(); ++j) {
    params.push_back(tensor_from_json(c.at("p0").at(j), dtype).set_requires_grad(true));
    a.push_back(tensor_from_json(c.at("a").at(j), dtype));
  }
  std::vector<optim::ParamGroup> groups;
  for (const json& g : c.at("groups")) {
    std::vector<Tensor> members;
    for (const json& index : g.at("params")) members.push_back(params.at(index.get<size_t>()));
    groups.emplace_back(members, g.at("options"));
  }
  json config = c.at("options");
  config["type"] = c.at("type");
  auto optimizer = optim::make_optimizer(config, groups);

  const json& noise = c.at("noise");
  for (size_t t = 0; t < noise.size(); ++t) {
    {
      NoGradGuard no_grad;
      for (size_t j = 0; j < params.size(); ++j)
        params[j].set_grad(a[j] * 2.0 * params[j] + tensor_from_json(noise[t][j], dtype));
    }
    optimizer->step();
    for (size_t j = 0; j < params.size(); ++j) {
      const std::string what = name + " step " + std::to_string(t + 1) + " param " +
                               std::to_string(j);
      if (!expect_close(params[j], tensor_from_json(c.at("trajectory")[t][j]), atol, rtol, what))
        return;  // later steps inherit the difference
    }
  }
  if (c.at("type") == "SWATS") {
    const auto& swats = dynamic_cast<const optim::SWATS&>(*optimizer);
    for (size_t g = 0; g < c.at("switch").size(); ++g) {
      const json& expected = c.at("switch")[g];
      EXPECT_EQ(swats.switch_step(g), expected[0].get<int64_t>()) << name << " group " << g;
      EXPECT_NEAR(swats.sgd_lr(g), expected[1].get<double>(), rtol * expected[1].get<double>())
          << name << " group " << g;
    }
  }
}

TEST(OptimReference, F64TrajectoriesMatchTorchOptim) {
  // The same f64 operations in the same order as PyTorch's single-tensor
  // loops; vectorised kernels may round a few ulps differently, which 20
  // mostly contracting steps keep far below 1e-10.
  for (const json& c : reference_cases("optimizers.json")) run_case(c, DType::f64, 1e-12, 1e-10);
}

TEST(OptimReference, F32TrajectoriesFollowTheF64Ones) {
  // f32 rounds every operation to ~6e-8 relative; over 20 steps of values of
  // order 1 the drift from the f64 trajectory stays below 1e-5.
  for (const json& c : reference_cases("optimizers.json")) run_case(c, DType::f32, 1e-5, 1e-5);
}

TEST(OptimReference, EveryOptimizerHasCases) {
  std::set<std::string> covered;
  for (const json& c : reference_cases("optimizers.json")) covered.insert(c.at("type"));
  for (const std::string& type : optim::optimizer_types())
    EXPECT_TRUE(covered.count(type)) << type << " has no reference trajectory";
}

}  // namespace
}  // namespace danlu::testing
