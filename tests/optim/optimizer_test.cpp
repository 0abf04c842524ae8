// The Optimizer base and its optimizers beyond the update math (which
// tests/reference/optim_reference_test.cpp pins to PyTorch): bit-identical
// resume from state_dict, param groups, frozen parameters, option and state
// validation, the scheduler interface, gradient clipping and make_optimizer.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "danlu.h"
#include "optim/adam.h"
#include "optim/clip_grad.h"
#include "optim/make.h"
#include "optim/sgd.h"
#include "optim/swats.h"
#include "tests/support/error_of.h"

namespace danlu::optim {
namespace {

using nlohmann::json;
using testing::error_of;

// Two parameters and the gradient of sum(c * p^2 + noise_t * p), a
// deterministic function of the parameters and the step t.
struct Problem {
  std::vector<Tensor> params;

  explicit Problem(DType dtype = DType::f32) {
    params.push_back(Tensor::from_vector(std::vector<double>{0.5, -1.2, 2.0, 0.3, -0.7, 1.1},
                                         {2, 3}, dtype));
    params.push_back(Tensor::from_vector(std::vector<double>{-0.4, 0.9, 1.6}, {3}, dtype));
    for (Tensor& p : params) p.set_requires_grad(true);
  }
  // A problem starting where this one is now.
  Problem copy() const {
    Problem out(params[0].dtype());
    for (size_t j = 0; j < params.size(); ++j) out.params[j].copy_(params[j]);
    return out;
  }
  void set_grads(int t) const {
    for (size_t j = 0; j < params.size(); ++j) {
      std::vector<double> g = params[j].to_vector();
      for (size_t i = 0; i < g.size(); ++i)
        g[i] = 2 * (1 + 0.3 * i) * g[i] + 0.5 * std::sin(t + i + 3 * j);
      params[j].set_grad(Tensor::from_vector(g, params[j].shape(), params[j].dtype()));
    }
  }
};

// Runs steps [from, to) of `problem` with `optimizer`.
void run_steps(const Problem& problem, Optimizer& optimizer, int from, int to) {
  for (int t = from; t < to; ++t) {
    problem.set_grads(t);
    optimizer.step();
  }
}

// Each optimizer with its state-heavy options on.
const std::vector<json> kConfigs = {
    {{"type", "SGD"}, {"lr", 0.05}},
    {{"type", "SGD"}, {"lr", 0.05}, {"momentum", 0.9}, {"nesterov", true}, {"weight_decay", 0.01}},
    {{"type", "Adam"}, {"lr", 0.05}, {"amsgrad", true}, {"weight_decay", 0.01}},
    {{"type", "AdamW"}, {"lr", 0.05}, {"amsgrad", true}},
    {{"type", "Adagrad"}, {"lr", 0.1}, {"lr_decay", 0.01}, {"initial_accumulator_value", 0.1}},
    {{"type", "Adadelta"}, {"weight_decay", 0.01}},
    {{"type", "RMSprop"}, {"lr", 0.01}, {"momentum", 0.5}, {"centered", true}},
    {{"type", "SWATS"}, {"lr", 0.05}, {"eps_switch", 1.0}},  // switches after step 2
};

TEST(Optimizer, StateDictResumeIsBitIdentical) {
  for (const json& config : kConfigs) {
    for (int save_at : {1, 7}) {
      Problem run;
      auto optimizer = make_optimizer(config, run.params);
      run_steps(run, *optimizer, 0, save_at);
      const OptimizerState saved = optimizer->state_dict();
      Problem resumed = run.copy();
      run_steps(run, *optimizer, save_at, 15);

      // A fresh optimizer built with other options: loading restores them.
      json other = config;
      other["lr"] = 0.5;
      auto fresh = make_optimizer(other, resumed.params);
      fresh->load_state_dict(saved);
      EXPECT_EQ(fresh->group_options(0), optimizer->group_options(0)) << config.dump();
      run_steps(resumed, *fresh, save_at, 15);
      for (size_t j = 0; j < run.params.size(); ++j)
        EXPECT_EQ(resumed.params[j].to_vector(), run.params[j].to_vector())
            << config.dump() << " saved after step " << save_at << ", param " << j;
      EXPECT_EQ(fresh->state_dict().meta, optimizer->state_dict().meta) << config.dump();
    }
  }
}

TEST(Optimizer, StateDictLayout) {
  Problem problem(DType::f64);
  Adam adam(problem.params, AdamOptions(0.1).amsgrad(true));
  run_steps(problem, adam, 0, 3);
  const OptimizerState s = adam.state_dict();
  EXPECT_EQ(s.meta.at("optimizer"), "Adam");
  EXPECT_EQ(s.meta.at("param_groups"),
            json::parse(R"([{"lr": 0.1, "betas": [0.9, 0.999], "eps": 1e-8,
                             "weight_decay": 0.0, "amsgrad": true, "params": [0, 1]}])"));
  EXPECT_EQ(s.meta.at("state"), json::parse(R"({"0": {"step": 3}, "1": {"step": 3}})"));
  std::vector<std::string> names;
  for (const auto& [name, t] : s.tensors) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"state.0.exp_avg", "state.0.exp_avg_sq",
                                             "state.0.max_exp_avg_sq", "state.1.exp_avg",
                                             "state.1.exp_avg_sq", "state.1.max_exp_avg_sq"}));
  EXPECT_EQ(s.tensors.at("state.1.exp_avg").shape(), Shape({3}));
  EXPECT_EQ(s.tensors.at("state.1.exp_avg").dtype(), DType::f64);
}

TEST(Optimizer, LoadStateDictRejectsMismatchesAndChangesNothing) {
  Problem problem;
  SGD sgd(problem.params, SGDOptions(0.1).momentum(0.9));
  problem.set_grads(0);
  sgd.step();
  const OptimizerState good = sgd.state_dict();

  Problem other;
  SGD target(other.params, SGDOptions(0.3));
  const json before = target.state_dict().meta;
  auto load = [&](const OptimizerState& s) { return error_of([&] { target.load_state_dict(s); }); };

  Adam adam(Problem().params);
  EXPECT_EQ(load(adam.state_dict()), "SGD.load_state_dict: the state is from \"Adam\", not SGD");
  SGD one_param({Problem().params[0]}, SGDOptions(0.1));
  EXPECT_EQ(load(one_param.state_dict()), "SGD.load_state_dict: param group 0 has 1 parameters "
                                          "in the state, 2 in the optimizer");
  SGD two_groups({ParamGroup({Problem().params[0]}), ParamGroup({Problem().params[1]})},
                 SGDOptions(0.1));
  EXPECT_EQ(load(two_groups.state_dict()),
            "SGD.load_state_dict: the state has 2 param groups, the optimizer 1");
  OptimizerState bad_shape = good;
  bad_shape.tensors["state.1.momentum_buffer"] = Tensor::zeros({4});
  EXPECT_EQ(load(bad_shape), "SGD.load_state_dict: state.1.momentum_buffer is Tensor(f32, (4), "
                             "cpu) but its parameter is Tensor(f32, (3), cpu)");
  OptimizerState bad_index = good;
  bad_index.tensors["state.7.momentum_buffer"] = Tensor::zeros({3});
  EXPECT_EQ(load(bad_index), "SGD.load_state_dict: state.7.momentum_buffer names parameter '7', "
                             "which the state's param_groups do not list");
  OptimizerState bad_option = good;
  bad_option.meta["param_groups"][0]["momentum"] = -1;
  EXPECT_EQ(load(bad_option),
            "SGD.load_state_dict.param_groups[0].momentum: expected a number >= 0, got -1");
  EXPECT_EQ(target.state_dict().meta, before);  // every failed load left it untouched
  EXPECT_EQ(target.options().lr_, 0.3);
}

TEST(Optimizer, ParamGroupsHaveTheirOwnOptions) {
  Problem problem(DType::f64);
  SGD sgd({ParamGroup({problem.params[0]}), ParamGroup({problem.params[1]}, {{"lr", 0.5}})},
          SGDOptions(0.1).momentum(0.9));
  ASSERT_EQ(sgd.num_param_groups(), 2u);
  EXPECT_EQ(sgd.options(0).lr_, 0.1);
  EXPECT_EQ(sgd.options(1).lr_, 0.5);
  EXPECT_EQ(sgd.options(1).momentum_, 0.9);  // not overridden: the default
  sched::LrTarget& target = sgd;             // what a scheduler sees
  target.set_lr(0, 0.2);
  EXPECT_EQ(sgd.lr(0), 0.2);
  EXPECT_TRUE(target.has_momentum());
  target.set_momentum(1, 0.0);

  const std::vector<double> p0 = problem.params[0].to_vector(), p1 = problem.params[1].to_vector();
  problem.set_grads(0);
  const std::vector<double> g0 = problem.params[0].grad().to_vector();
  const std::vector<double> g1 = problem.params[1].grad().to_vector();
  sgd.step();  // first momentum step: buf = g, so p -= lr * g in both groups
  for (size_t i = 0; i < p0.size(); ++i)
    EXPECT_EQ(problem.params[0].to_vector()[i], p0[i] - 0.2 * g0[i]);
  for (size_t i = 0; i < p1.size(); ++i)
    EXPECT_EQ(problem.params[1].to_vector()[i], p1[i] - 0.5 * g1[i]);
  EXPECT_EQ(sgd.group_options(1)["momentum"], 0.0);
  EXPECT_THROW(sgd.options(2), Error);
}

TEST(Optimizer, AddParamGroup) {
  Problem problem;
  Adam adam({problem.params[0]}, AdamOptions(0.01));
  problem.set_grads(0);
  adam.step();
  adam.add_param_group(ParamGroup({problem.params[1]}, {{"betas", {0.5, 0.9}}}));
  EXPECT_EQ(adam.options(1).betas_, (Betas{0.5, 0.9}));
  EXPECT_EQ(adam.options(1).lr_, 0.01);  // the constructor's options fill the rest
  EXPECT_EQ(adam.momentum(1), 0.5);
  problem.set_grads(1);
  adam.step();
  EXPECT_EQ(adam.state_dict().meta.at("state"),
            json::parse(R"({"0": {"step": 2}, "1": {"step": 1}})"));
  EXPECT_EQ(error_of([&] { adam.add_param_group(ParamGroup({problem.params[0]})); }),
            "Adam.param_groups[2].params[0]: this parameter appears more than once in the "
            "optimizer's groups");
  EXPECT_EQ(error_of([&] {
              adam.add_param_group(ParamGroup({Tensor::ones({2})}, {{"lr", -1.0}}));
            }),
            "Adam.param_groups[2].lr: expected a number >= 0, got -1");
  EXPECT_EQ(adam.num_param_groups(), 2u);
}

TEST(Optimizer, FrozenAndUnusedParametersAreSkipped) {
  for (const json& config : kConfigs) {
    Problem problem;
    Tensor unused = Tensor::ones({2}, TensorOptions().requires_grad());
    auto optimizer = make_optimizer(config, {problem.params[0], problem.params[1], unused});
    problem.params[0].set_requires_grad(false);  // frozen, even though it has a gradient
    const std::vector<double> frozen = problem.params[0].to_vector();
    const std::vector<double> trained = problem.params[1].to_vector();
    run_steps(problem, *optimizer, 0, 3);
    EXPECT_EQ(problem.params[0].to_vector(), frozen) << config.dump();
    EXPECT_NE(problem.params[1].to_vector(), trained) << config.dump();
    EXPECT_EQ(unused.to_vector(), (std::vector<double>{1, 1})) << config.dump();
    const json state = optimizer->state_dict().meta.at("state");
    EXPECT_EQ(state.size(), 1u) << config.dump();
    EXPECT_TRUE(state.contains("1")) << config.dump();
  }
}

TEST(Optimizer, ZeroGradDropsGradients) {
  Problem problem;
  SGD sgd(problem.params, SGDOptions(0.1));
  problem.set_grads(0);
  sgd.zero_grad();
  EXPECT_FALSE(problem.params[0].grad().defined());
  EXPECT_FALSE(problem.params[1].grad().defined());
}

TEST(Optimizer, BadOptionsAndParametersAreRefused) {
  Tensor p = Tensor::ones({2}, TensorOptions().requires_grad());
  EXPECT_EQ(error_of([&] { SGD({p}, SGDOptions(-0.1)); }),
            "SGD.lr: expected a number >= 0, got -0.1");
  EXPECT_EQ(error_of([&] { SGD({p}, SGDOptions(0.1).dampening(0.5).nesterov(true)); }),
            "SGD.nesterov: Nesterov momentum requires momentum > 0 and dampening = 0, got "
            "momentum 0 and dampening 0.5");
  EXPECT_EQ(error_of([&] { Adam({p}, AdamOptions().betas({0.9, 1.0})); }),
            "Adam.betas[1]: expected a number in [0, 1), got 1");
  EXPECT_EQ(error_of([&] { Adam({p}, AdamOptions().eps(-1e-8)); }),
            "Adam.eps: expected a number >= 0, got -1e-08");
  EXPECT_EQ(error_of([&] { SWATS({p}, SWATSOptions().eps_switch(-1)); }),
            "SWATS.eps_switch: expected a number >= 0, got -1");
  EXPECT_EQ(error_of([&] { SGD(std::vector<Tensor>{}, SGDOptions(0.1)); }),
            "SGD: got an empty parameter list");
  EXPECT_EQ(error_of([&] { SGD({p, p}, SGDOptions(0.1)); }),
            "SGD.param_groups[0].params[1]: this parameter appears more than once in the "
            "optimizer's groups");
  EXPECT_EQ(error_of([&] { SGD({p * 2.0}, SGDOptions(0.1)); }),
            "SGD.param_groups[0].params[0]: can't optimize a non-leaf tensor (the result of an "
            "op)");
  EXPECT_EQ(error_of([&] { SGD({Tensor::zeros({2}, DType::i64)}, SGDOptions(0.1)); }),
            "SGD.param_groups[0].params[0]: expected a floating tensor, got Tensor(i64, (2), cpu)");
}

TEST(Optimizer, SwatsSwitchesOnceAndKeepsItsPhase) {
  Problem problem(DType::f64);
  SWATS swats(problem.params, SWATSOptions(0.05).eps_switch(1.0));
  EXPECT_FALSE(swats.switched());
  run_steps(problem, swats, 0, 5);
  EXPECT_TRUE(swats.switched());
  EXPECT_EQ(swats.switch_step(), 2);
  EXPECT_GT(swats.sgd_lr(), 0.0);
  const OptimizerState s = swats.state_dict();
  EXPECT_TRUE(s.tensors.count("state.0.momentum_buffer"));
  EXPECT_FALSE(s.tensors.count("state.0.exp_avg"));  // Adam's moments end at the switch
  EXPECT_EQ(s.meta.at("group_state")[0].at("switch_step"), 2);
}

// ---- gradient clipping ---------------------------------------------------------------

// Leaves with the given gradients.
std::vector<Tensor> with_grads(const std::vector<std::vector<double>>& grads) {
  std::vector<Tensor> params;
  for (const auto& g : grads) {
    const int64_t n = static_cast<int64_t>(g.size());
    params.push_back(Tensor::zeros({n}, TensorOptions(DType::f64).requires_grad()));
    params.back().set_grad(Tensor::from_vector(g, {n}, DType::f64));
  }
  return params;
}

TEST(ClipGrad, NormRescalesAllGradientsJointly) {
  std::vector<Tensor> params = with_grads({{3, -4}, {12}});
  params.push_back(Tensor::ones({2}, TensorOptions().requires_grad()));  // no gradient: skipped
  EXPECT_EQ(clip_grad_norm_(params, 6.5).item(), 13.0);
  const double coef = 6.5 / (13.0 + 1e-6);
  EXPECT_EQ(params[0].grad().to_vector(), (std::vector<double>{3 * coef, -4 * coef}));
  EXPECT_EQ(params[1].grad().to_vector(), (std::vector<double>{12 * coef}));
  // The norm is a 0-d tensor of the gradients' dtype, as PyTorch's.
  const Tensor f32_param = Tensor::zeros({2}, TensorOptions().requires_grad());
  f32_param.set_grad(Tensor::from_vector(std::vector<float>{3, 4}, {2}));
  const Tensor f32_norm = clip_grad_norm_({f32_param}, 1.0);
  EXPECT_EQ(f32_norm.dtype(), DType::f32);
  EXPECT_EQ(f32_norm.item(), 5.0);
  EXPECT_EQ(f32_norm.dim(), 0);
  EXPECT_EQ(clip_grad_norm_(with_grads({{3, -4}, {12}}), 100.0, 1.0).item(), 19.0);
  const auto unclipped = with_grads({{3, -4}, {12}});
  EXPECT_EQ(clip_grad_norm_(unclipped, 100.0, INFINITY).item(), 12.0);
  EXPECT_EQ(unclipped[0].grad().to_vector(), (std::vector<double>{3, -4}));  // norm < max_norm
  EXPECT_NEAR(clip_grad_norm_(with_grads({{1, 2}, {2}}), 1.0, 3.0).item(), std::cbrt(17.0), 1e-15);
  EXPECT_EQ(clip_grad_norm_({Tensor::ones({2})}, 1.0).item(), 0.0);  // no gradients at all
  EXPECT_NE(error_of([] { clip_grad_norm_({}, 1.0, 0.0); }).find("norm_type must be > 0"),
            std::string::npos);
}

TEST(ClipGrad, NonFiniteNormsFollowPyTorch) {
  const double inf = std::numeric_limits<double>::infinity();
  // error_if_nonfinite: a one-line error, gradients untouched.
  const auto checked = with_grads({{1, inf}, {2}});
  EXPECT_EQ(error_of([&] { clip_grad_norm_(checked, 1.0, 2.0, true); }),
            "clip_grad_norm_: the total norm of order 2 of the gradients is inf, so they cannot "
            "be clipped; pass error_if_nonfinite=false to scale them by it anyway");
  EXPECT_EQ(checked[1].grad().to_vector(), (std::vector<double>{2}));
  // Otherwise: scaled by max_norm / inf = 0, so the inf entry becomes NaN.
  const auto scaled = with_grads({{1, inf}, {2}});
  EXPECT_EQ(clip_grad_norm_(scaled, 1.0).item(), inf);
  EXPECT_EQ(scaled[0].grad().to_vector()[0], 0.0);
  EXPECT_TRUE(std::isnan(scaled[0].grad().to_vector()[1]));
  EXPECT_EQ(scaled[1].grad().to_vector(), (std::vector<double>{0}));
  // A NaN norm scales everything by NaN, for the inf norm too.
  const auto nan = with_grads({{1, NAN}, {2}});
  EXPECT_TRUE(std::isnan(clip_grad_norm_(nan, 1.0, INFINITY).item()));
  EXPECT_TRUE(std::isnan(nan[1].grad().to_vector()[0]));
}

TEST(ClipGrad, ValueClampsElementwise) {
  const auto params = with_grads({{-3, 0.5, 2}, {NAN}});
  clip_grad_value_(params, 1.0);
  EXPECT_EQ(params[0].grad().to_vector(), (std::vector<double>{-1, 0.5, 1}));
  EXPECT_TRUE(std::isnan(params[1].grad().to_vector()[0]));
  EXPECT_NE(error_of([&] { clip_grad_value_(params, -1.0); }).find("clip_value must be >= 0"),
            std::string::npos);
}

// ---- make_optimizer ------------------------------------------------------------------

TEST(MakeOptimizer, BuildsEachTypeWithItsOptions) {
  Problem problem;
  for (const std::string& type : optimizer_types()) {
    json config = {{"type", type}, {"lr", 0.25}};
    auto optimizer = make_optimizer(config, problem.params);
    EXPECT_EQ(optimizer->name(), type);
    EXPECT_EQ(optimizer->lr(0), 0.25);
  }
  auto adamw = make_optimizer({{"type", "AdamW"}, {"betas", {0.8, 0.9}}}, problem.params);
  EXPECT_EQ(adamw->group_options(0),
            json::parse(R"({"lr": 0.001, "betas": [0.8, 0.9], "eps": 1e-8,
                            "weight_decay": 0.01, "amsgrad": false})"));
  auto sgd = make_optimizer({{"type", "SGD"}, {"lr", 0.1}},
                            {ParamGroup({problem.params[0]}), ParamGroup({problem.params[1]},
                                                                          {{"lr", 0.01}})});
  EXPECT_EQ(sgd->lr(1), 0.01);
}

TEST(MakeOptimizer, ErrorsNameTheFieldAndWhatIsAllowed) {
  const std::vector<Tensor> params = Problem().params;
  auto error = [&](const json& config) {
    return error_of([&] { make_optimizer(config, params); });
  };
  EXPECT_EQ(error({{"type", "SGD"}, {"lr", 0.1}, {"momentum", -1}}),
            "optimizer.momentum: expected a number >= 0, got -1");
  EXPECT_EQ(error({{"type", "Adamm"}}), "optimizer.type: expected one of SGD, Adam, AdamW, "
                                        "Adagrad, Adadelta, RMSprop, SWATS, got \"Adamm\"");
  EXPECT_EQ(error({{"lr", 0.1}}), "optimizer.type: expected one of SGD, Adam, AdamW, Adagrad, "
                                  "Adadelta, RMSprop, SWATS, got nothing");
  EXPECT_EQ(error({{"type", "SGD"}}), "optimizer.lr: required for SGD (a number >= 0)");
  EXPECT_EQ(error({{"type", "RMSprop"}, {"momentun", 0.9}}),
            "optimizer.momentun: unknown option; expected one of lr, alpha, eps, weight_decay, "
            "momentum, centered");
  EXPECT_EQ(error({{"type", "Adam"}, {"lr", "fast"}}),
            "optimizer.lr: expected a number, got \"fast\"");
  EXPECT_EQ(error({{"type", "Adam"}, {"amsgrad", 1}}),
            "optimizer.amsgrad: expected true or false, got 1");
  EXPECT_EQ(error({{"type", "Adam"}, {"betas", {0.9}}}),
            "optimizer.betas: expected two numbers [beta1, beta2], got [0.9]");
  EXPECT_EQ(error({{"type", "Adadelta"}, {"rho", 1.5}}),
            "optimizer.rho: expected a number in [0, 1], got 1.5");
  EXPECT_EQ(error(json::array()),
            "optimizer: expected an object such as {\"type\": \"SGD\", \"lr\": 0.1}, got []");
  EXPECT_EQ(error_of([&] {
              make_optimizer({{"type", "Adagrad"}},
                             {ParamGroup({params[0]}), ParamGroup({params[1]}, {{"lr_decay", -2}})},
                             "train.optimizer");
            }),
            "train.optimizer.param_groups[1].lr_decay: expected a number >= 0, got -2");
}

}  // namespace
}  // namespace danlu::optim
