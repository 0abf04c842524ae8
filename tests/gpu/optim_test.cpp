// Fused CUDA optimizer updates and gradient clipping against the CPU
// optimizers: every optimizer with its state-heavy options, 20 steps on two
// param groups of odd-sized tensors (one of 69,635 and one of 131,075
// elements, so chunks of 65,536 split them), gradients of mixed magnitude, a
// learning rate that changes every step and one parameter that misses a
// step's gradient (so steps differ within a group); determinism; clipping by
// every norm type, with non-finite gradients, and by value.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "danlu.h"
#include "optim/optim.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/gpu_parity.h"

namespace danlu::optim {
namespace {

using nlohmann::json;
using testing::uniform_floats;

const std::vector<Shape> kShapes = {Shape{1}, Shape{7}, Shape{10, 100}, Shape{69635},
                                    Shape{5, 26215}};

// The same parameters on the CPU and on the GPU.
struct Params {
  std::vector<Tensor> cpu, gpu;

  Params() {
    for (size_t j = 0; j < kShapes.size(); ++j) {
      const std::vector<float> v = uniform_floats(kShapes[j].numel(), 100 + j, -1.0f, 1.0f);
      cpu.push_back(Tensor::from_vector(v, kShapes[j], TensorOptions().requires_grad()));
      gpu.push_back(Tensor::from_vector(
          v, kShapes[j], TensorOptions().device(Device::cuda()).requires_grad()));
    }
  }

  // Step t's gradients, the same on both devices: uniform in [-1, 1), times
  // 1e3 for tensor 2; tensor 0 gets none at step 4.
  void set_grads(int t) const {
    for (size_t j = 0; j < kShapes.size(); ++j) {
      if (j == 0 && t == 4) {
        cpu[j].zero_grad();
        gpu[j].zero_grad();
        continue;
      }
      const float scale = j == 2 ? 1e3f : 1.0f;
      const Tensor g = Tensor::from_vector(
          uniform_floats(kShapes[j].numel(), 1000 * t + j, -scale, scale), kShapes[j]);
      cpu[j].set_grad(g);
      gpu[j].set_grad(g.to(Device::cuda()));
    }
  }

  // Tensors 0-2 in one group, 3-4 in another with half the learning rate.
  std::vector<ParamGroup> groups(const std::vector<Tensor>& ps, double lr) const {
    return {ParamGroup({ps[0], ps[1], ps[2]}),
            ParamGroup({ps[3], ps[4]}, json{{"lr", lr / 2}})};
  }
};

const std::vector<json> kConfigs = {
    {{"type", "SGD"}, {"lr", 0.05}},
    {{"type", "SGD"}, {"lr", 0.05}, {"momentum", 0.9}, {"dampening", 0.1}, {"weight_decay", 0.01}},
    {{"type", "SGD"}, {"lr", 0.05}, {"momentum", 0.9}, {"nesterov", true}, {"weight_decay", 0.01}},
    {{"type", "Adam"}, {"lr", 0.05}},
    {{"type", "Adam"}, {"lr", 0.05}, {"amsgrad", true}, {"weight_decay", 0.01}},
    {{"type", "AdamW"}, {"lr", 0.05}, {"amsgrad", true}},
    {{"type", "AdamW"}, {"lr", 0.05}, {"weight_decay", 0.1}},
    {{"type", "Adagrad"}, {"lr", 0.1}, {"lr_decay", 0.01}, {"initial_accumulator_value", 0.1},
     {"weight_decay", 0.01}},
    {{"type", "Adadelta"}, {"weight_decay", 0.01}},
    {{"type", "RMSprop"}, {"lr", 0.01}, {"weight_decay", 0.01}},
    {{"type", "RMSprop"}, {"lr", 0.01}, {"momentum", 0.5}, {"centered", true}},
    {{"type", "SWATS"}, {"lr", 0.05}},
    {{"type", "SWATS"}, {"lr", 0.05}, {"eps_switch", 1e6}},  // switches after step 2
};

// Runs 20 steps, the learning rate of every group decaying by 3% a step.
void run(Optimizer& optimizer, const Params& params, double base_lr) {
  for (int t = 0; t < 20; ++t) {
    params.set_grads(t);
    optimizer.set_lr(0, base_lr * (1.0 - 0.03 * t));
    optimizer.set_lr(1, base_lr / 2 * (1.0 - 0.03 * t));
    optimizer.step();
  }
}

// The kernels round each operation as the CPU loop is written and get the
// same float constants, so on x86-64 (whose baseline has no FMA for the
// compiler to fuse into) the two agree bit for bit. The bound leaves room
// for a CPU build that fuses multiply-adds (an ulp per operation, compounded
// over 20 steps: rtol 1e-5) and, for SWATS, for the SGD rate estimated from
// double dot products summed in another order (atol 1e-6).
constexpr double kAtol = 1e-6, kRtol = 1e-5;

std::vector<float> floats(const Tensor& t) {
  const std::vector<double> v = t.to_vector();
  return {v.begin(), v.end()};
}

TEST(GpuOptim, TwentyStepsMatchCpu) {
  DANLU_REQUIRE_GPU();
  for (const json& config : kConfigs) {
    Params params;
    const double lr = config.value("lr", 1.0);
    auto cpu = make_optimizer(config, params.groups(params.cpu, lr));
    auto gpu = make_optimizer(config, params.groups(params.gpu, lr));
    run(*cpu, params, lr);
    run(*gpu, params, lr);
    for (size_t j = 0; j < kShapes.size(); ++j) {
      EXPECT_TRUE(params.gpu[j].device().is_cuda());
      testing::expect_close_floats(floats(params.gpu[j]), floats(params.cpu[j]), kAtol, kRtol,
                                   config.dump() + " param " + std::to_string(j));
    }
    if (auto* swats = dynamic_cast<SWATS*>(cpu.get())) {
      EXPECT_EQ(dynamic_cast<SWATS*>(gpu.get())->switch_step(), swats->switch_step());
    }
  }
}

TEST(GpuOptim, FusedStepsAreDeterministic) {
  DANLU_REQUIRE_GPU();
  for (const json& config : {kConfigs[4], kConfigs[12]}) {
    Params first, second;
    auto a = make_optimizer(config, first.groups(first.gpu, 0.05));
    auto b = make_optimizer(config, second.groups(second.gpu, 0.05));
    run(*a, first, 0.05);
    run(*b, second, 0.05);
    for (size_t j = 0; j < kShapes.size(); ++j)
      EXPECT_TRUE(testing::bitwise_equal(floats(first.gpu[j]), floats(second.gpu[j])))
          << config.dump() << " param " << j;
  }
}

// A GPU optimizer saved after 7 steps and loaded into a fresh one continues
// exactly as the original: the state buffers and step counts carry over.
TEST(GpuOptim, StateDictResumeIsBitIdentical) {
  DANLU_REQUIRE_GPU();
  for (const json& config : {kConfigs[2], kConfigs[4], kConfigs[10], kConfigs[12]}) {
    Params run_params;
    auto original = make_optimizer(config, run_params.groups(run_params.gpu, 0.05));
    for (int t = 0; t < 7; ++t) {
      run_params.set_grads(t);
      original->step();
    }
    const OptimizerState saved = original->state_dict();
    Params resumed_params;
    for (size_t j = 0; j < kShapes.size(); ++j) resumed_params.gpu[j].copy_(run_params.gpu[j]);
    auto resumed = make_optimizer(config, resumed_params.groups(resumed_params.gpu, 0.05));
    resumed->load_state_dict(saved);
    for (int t = 7; t < 15; ++t) {
      run_params.set_grads(t);
      original->step();
      resumed_params.set_grads(t);
      resumed->step();
    }
    for (size_t j = 0; j < kShapes.size(); ++j)
      EXPECT_TRUE(testing::bitwise_equal(floats(resumed_params.gpu[j]), floats(run_params.gpu[j])))
          << config.dump() << " param " << j;
  }
}

// Equal values, or NaN on both sides (0 * inf is a NaN whose sign bit
// differs between x86 and CUDA).
void expect_same_or_both_nan(const std::vector<float>& out, const std::vector<float>& ref,
                             const std::string& what) {
  ASSERT_EQ(out.size(), ref.size()) << what;
  int bad = 0;
  for (size_t i = 0; i < out.size(); ++i)
    if (!(out[i] == ref[i] || (std::isnan(out[i]) && std::isnan(ref[i]))) && bad++ < 5)
      ADD_FAILURE() << what << "[" << i << "]: " << out[i] << " vs " << ref[i];
}

TEST(GpuClipGrad, NormMatchesCpuForEveryNormType) {
  DANLU_REQUIRE_GPU();
  for (double norm_type : {2.0, 1.0, 3.0, std::numeric_limits<double>::infinity()}) {
    Params params;
    params.set_grads(0);
    const Tensor norm = clip_grad_norm_(params.gpu, 1.0, norm_type);
    EXPECT_EQ(norm.device(), Device::cuda());  // stays on the GPU, as the gradients
    EXPECT_EQ(norm.dtype(), DType::f32);
    EXPECT_EQ(norm.dim(), 0);
    const double ref = clip_grad_norm_(params.cpu, 1.0, norm_type).item();
    const double out = norm.item();
    // Both add the same positive double terms in another order (at most
    // elements * 2^-53 apart), then round to float: at most an ulp apart.
    EXPECT_NEAR(out, ref, std::ldexp(ref, -23)) << "norm " << norm_type;
    // The scale factors then agree to ~1e-10, so their float roundings differ
    // by at most an ulp, and the scaled gradients by two: rtol 2.4e-7.
    for (size_t j = 0; j < kShapes.size(); ++j)
      testing::expect_close_floats(floats(params.gpu[j].grad()), floats(params.cpu[j].grad()),
                                   0.0, 2.4e-7, "norm " + std::to_string(norm_type));
    // The same gradients give the same norm bit for bit.
    EXPECT_EQ(clip_grad_norm_(params.gpu, 1e30, norm_type).item(),
              clip_grad_norm_(params.gpu, 1e30, norm_type).item());
  }
}

TEST(GpuClipGrad, GradientsOnSeveralDevicesClipAsOnCpu) {
  DANLU_REQUIRE_GPU();
  Params params;
  params.set_grads(3);
  std::vector<Tensor> mixed = params.gpu;
  mixed[1] = params.cpu[1];  // one gradient on the CPU: the norm goes through the host
  const Tensor out = clip_grad_norm_(mixed, 1.0);
  EXPECT_EQ(out.device(), Device::cuda());  // the first gradient's device
  const double ref = clip_grad_norm_(params.cpu, 1.0).item();
  EXPECT_NEAR(out.item(), ref, std::ldexp(ref, -23));
  for (size_t j = 0; j < kShapes.size(); ++j)
    if (j != 1)
      testing::expect_close_floats(floats(params.gpu[j].grad()), floats(params.cpu[j].grad()),
                                   0.0, 2.4e-7, "param " + std::to_string(j));
}

TEST(GpuClipGrad, NonFiniteGradientsBehaveAsOnCpu) {
  DANLU_REQUIRE_GPU();
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (float bad : {inf, nan})
    for (double norm_type : {2.0, std::numeric_limits<double>::infinity()}) {
      Params params;
      params.set_grads(1);
      std::vector<float> g = floats(params.cpu[3].grad());
      g[70000 - 65536] = bad;  // in the tensor's second chunk
      params.cpu[3].set_grad(Tensor::from_vector(g, kShapes[3]));
      params.gpu[3].set_grad(Tensor::from_vector(g, kShapes[3]).to(Device::cuda()));
      const double ref = clip_grad_norm_(params.cpu, 1.0, norm_type).item();
      const double out = clip_grad_norm_(params.gpu, 1.0, norm_type).item();
      EXPECT_TRUE(out == ref || (std::isnan(out) && std::isnan(ref))) << out << " vs " << ref;
      for (size_t j = 0; j < kShapes.size(); ++j)
        expect_same_or_both_nan(floats(params.gpu[j].grad()), floats(params.cpu[j].grad()),
                                "param " + std::to_string(j));
      EXPECT_THROW(clip_grad_norm_(params.gpu, 1.0, norm_type, true), Error);
    }
}

TEST(GpuClipGrad, ValueMatchesCpuBitForBit) {
  DANLU_REQUIRE_GPU();
  Params params;
  params.set_grads(2);
  std::vector<float> g = floats(params.cpu[4].grad());
  g[5] = std::numeric_limits<float>::quiet_NaN();
  g[100000] = -std::numeric_limits<float>::infinity();
  params.cpu[4].set_grad(Tensor::from_vector(g, kShapes[4]));
  params.gpu[4].set_grad(Tensor::from_vector(g, kShapes[4]).to(Device::cuda()));
  clip_grad_value_(params.cpu, 0.3);
  clip_grad_value_(params.gpu, 0.3);
  for (size_t j = 0; j < kShapes.size(); ++j)
    EXPECT_TRUE(testing::bitwise_equal(floats(params.gpu[j].grad()), floats(params.cpu[j].grad())))
        << "param " << j;
}

}  // namespace
}  // namespace danlu::optim
