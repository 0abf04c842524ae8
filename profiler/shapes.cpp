// Workload lists: a model's layers recorded by one CPU forward, a config's
// model, and the standard set.
#include "profiler/shapes.h"

#include <optional>
#include <set>
#include <utility>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/ops/elementwise.h"
#include "layers/activation.h"
#include "layers/basic_block.h"
#include "layers/batchnorm.h"
#include "layers/builder.h"
#include "layers/conv.h"
#include "layers/layernorm.h"
#include "layers/linear.h"
#include "layers/models.h"
#include "layers/pool.h"
#include "layers/sequential.h"
#include "train/config.h"
#include "train/data.h"
#include "train/session.h"

namespace danlu::profiler {

namespace {

// Walks a model as its forward does, recording each leaf layer's work from
// the tensors it sees (so output sizes come from the layers themselves),
// with the sample's batch of 1 scaled to `batch`.
class Recorder {
 public:
  explicit Recorder(int64_t batch) : batch_(batch) {}

  Tensor run(nn::Module& m, const Tensor& x) {
    if (auto* seq = dynamic_cast<nn::Sequential*>(&m)) {
      Tensor h = x;
      for (const auto& [name, child] : seq->named_children()) h = run(*child, h);
      return h;
    }
    if (auto* block = dynamic_cast<nn::BasicBlock*>(&m)) {  // BasicBlock::forward, unrolled
      Tensor h = run(*block->relu, run(*block->bn1, run(*block->conv1, x)));
      h = run(*block->bn2, run(*block->conv2, h));
      const Tensor identity = block->downsample ? run(*block->downsample, x) : x;
      return run(*block->relu, h + identity);
    }
    const Tensor y = m.forward(x);
    record(m, x, y);
    return y;
  }

  std::vector<Workload> workloads;

 private:
  // Elements of t at the full batch (t holds one sample).
  int64_t scaled(const Tensor& t) const { return t.numel() * batch_; }

  void record(nn::Module& m, const Tensor& x, const Tensor& y) {
    if (auto* conv = dynamic_cast<nn::Conv2d*>(&m)) {
      const nn::Conv2dOptions& o = conv->options;
      kernels::Conv2dShape s;
      s.n = batch_, s.c = x.shape()[1], s.h = x.shape()[2], s.w = x.shape()[3];
      s.o = y.shape()[1], s.oh = y.shape()[2], s.ow = y.shape()[3];
      s.kh = o.kernel_size_[0], s.kw = o.kernel_size_[1];
      s.stride_h = o.stride_[0], s.stride_w = o.stride_[1];
      s.pad_h = o.padding_[0], s.pad_w = o.padding_[1];
      s.dil_h = o.dilation_[0], s.dil_w = o.dilation_[1];
      s.groups = o.groups_;
      workloads.push_back(ConvWork{s});
    } else if (dynamic_cast<nn::BatchNormBase*>(&m)) {
      const int64_t c = x.shape()[1];
      workloads.push_back(BatchNormWork{batch_, c, x.numel() / c});
    } else if (auto* ln = dynamic_cast<nn::LayerNorm*>(&m)) {
      int64_t d = 1;
      for (int64_t n : ln->options.normalized_shape_) d *= n;
      workloads.push_back(LayerNormWork{scaled(x) / d, d});
    } else if (const auto act = activation_of(m)) {
      workloads.push_back(ActivationWork{*act, scaled(x)});
    } else if (auto* linear = dynamic_cast<nn::Linear*>(&m)) {
      const int64_t in = linear->options.in_features_;
      workloads.push_back(GemmWork{scaled(x) / in, in, linear->options.out_features_});
    } else if (auto pool = pool_of(m, x, y)) {
      workloads.push_back(*pool);
    }
  }

  static std::optional<kernels::Activation> activation_of(nn::Module& m) {
    using kernels::Activation;
    if (dynamic_cast<nn::ReLU*>(&m)) return Activation::relu;
    if (dynamic_cast<nn::LeakyReLU*>(&m)) return Activation::leaky_relu;
    if (dynamic_cast<nn::ELU*>(&m)) return Activation::elu;
    if (auto* gelu = dynamic_cast<nn::GELU*>(&m))
      return gelu->options.approximate_ == "tanh" ? Activation::gelu_tanh : Activation::gelu;
    if (dynamic_cast<nn::SiLU*>(&m)) return Activation::silu;
    if (dynamic_cast<nn::Sigmoid*>(&m)) return Activation::sigmoid;
    if (dynamic_cast<nn::Tanh*>(&m)) return Activation::tanh;
    return std::nullopt;
  }

  std::optional<PoolWork> pool_of(nn::Module& m, const Tensor& x, const Tensor& y) const {
    PoolWork p;
    p.s.planes = batch_ * x.shape()[1];
    p.s.h = x.shape()[2], p.s.w = x.shape()[3];
    p.s.oh = y.shape()[2], p.s.ow = y.shape()[3];
    const auto window = [&p](const auto& o) {
      p.s.kh = o.kernel_size_[0], p.s.kw = o.kernel_size_[1];
      const auto stride = o.stride_.value_or(o.kernel_size_);
      p.s.stride_h = stride[0], p.s.stride_w = stride[1];
      p.s.pad_h = o.padding_[0], p.s.pad_w = o.padding_[1];
    };
    if (auto* max = dynamic_cast<nn::MaxPool2d*>(&m)) {
      p.kind = PoolKind::max;
      window(max->options);
    } else if (auto* avg = dynamic_cast<nn::AvgPool2d*>(&m)) {
      p.kind = PoolKind::avg;
      p.count_include_pad = avg->options.count_include_pad_;
      window(avg->options);
    } else if (dynamic_cast<nn::AdaptiveAvgPool2d*>(&m)) {
      p.kind = PoolKind::adaptive_avg;
    } else {
      return std::nullopt;
    }
    return p;
  }

  int64_t batch_;
};

ConvWork resnet18_conv3x3(int64_t c, int64_t o, int64_t hw, int64_t stride) {
  kernels::Conv2dShape s;
  s.n = kStandardBatch, s.c = c, s.h = s.w = hw, s.o = o, s.kh = s.kw = 3;
  s.stride_h = s.stride_w = stride, s.pad_h = s.pad_w = 1;
  s.oh = s.ow = (hw + 2 - 3) / stride + 1;
  return {s};
}

}  // namespace

std::vector<Workload> deduplicate(const std::vector<Workload>& workloads) {
  std::set<std::pair<Op, std::string>> seen;
  std::vector<Workload> out;
  for (const Workload& w : workloads)
    if (seen.emplace(op_of(w), describe(w)).second) out.push_back(w);
  return out;
}

std::vector<Workload> model_workloads(nn::Module& model, const std::vector<int64_t>& sample_shape,
                                      int64_t batch) {
  DANLU_CHECK(batch >= 1, "profile: batch size must be >= 1, got ", batch);
  std::vector<int64_t> sizes{1};
  sizes.insert(sizes.end(), sample_shape.begin(), sample_shape.end());
  const bool was_training = model.is_training();
  model.eval();  // BatchNorm on one sample needs its running statistics
  Recorder recorder(batch);
  Tensor out;
  {
    NoGradGuard no_grad;
    out = recorder.run(model, Tensor::zeros(Shape(sizes)));
  }
  model.train(was_training);
  std::vector<Workload> w = std::move(recorder.workloads);
  if (out.dim() == 2) w.push_back(XentWork{batch, out.shape()[1]});
  OptimWork optim;
  for (const Tensor& p : model.parameters())
    if (p.requires_grad()) optim.sizes.push_back(p.numel());
  if (!optim.sizes.empty()) w.push_back(optim);
  return deduplicate(w);
}

std::vector<Workload> config_workloads(const std::string& path) {
  const train::TrainConfig config = train::load_config(path, {});
  // One sample's shape as load_config checks the model with: the model's own
  // input_shape, else its dataset's.
  std::vector<int64_t> sample = train::sample_shape(config.data.dataset);
  const nlohmann::json& spec = config.json.at("model");
  if (spec.is_object() && spec.contains("input_shape"))
    sample = spec.at("input_shape").get<std::vector<int64_t>>();
  auto model = train::make_model(config, Device::cpu(), sample);
  return model_workloads(*model, sample, config.batch_size);
}

const nlohmann::json& fashion_cnn_config_layers() {
  static const nlohmann::json layers = nlohmann::json::parse(R"([
    {"type": "Conv2d", "in_channels": 1, "out_channels": 32, "kernel_size": 3, "padding": 1, "bias": false},
    {"type": "BatchNorm2d", "num_features": 32},
    {"type": "ReLU"},
    {"type": "MaxPool2d", "kernel_size": 2},
    {"type": "Conv2d", "in_channels": 32, "out_channels": 64, "kernel_size": 3, "padding": 1, "bias": false},
    {"type": "BatchNorm2d", "num_features": 64},
    {"type": "ReLU"},
    {"type": "MaxPool2d", "kernel_size": 2},
    {"type": "Conv2d", "in_channels": 64, "out_channels": 128, "kernel_size": 3, "padding": 1, "bias": false},
    {"type": "BatchNorm2d", "num_features": 128},
    {"type": "ReLU"},
    {"type": "MaxPool2d", "kernel_size": 2},
    {"type": "Flatten"},
    {"type": "Dropout", "p": 0.1},
    {"type": "Linear", "in_features": 1152, "out_features": 10}
  ])");
  return layers;
}

std::vector<Workload> standard_workloads() {
  std::vector<Workload> all;
  const auto add = [&all](nn::Module& model, std::vector<int64_t> sample) {
    for (Workload& w : model_workloads(model, sample, kStandardBatch)) all.push_back(std::move(w));
  };
  add(*nn::build_model({{"layers", fashion_cnn_config_layers()}}), {1, 28, 28});
  add(*nn::fashion_cnn(), {1, 28, 28});
  add(*nn::resnet20(10, 1), {1, 28, 28});
  add(*nn::resnet20(10, 3), {3, 32, 32});
  // ResNet-18's 3x3 convolutions at 224x224 (stages at 56, 28, 14, 7): the
  // first conv of stages 2-4 halves the size and doubles the channels.
  all.push_back(resnet18_conv3x3(64, 64, 56, 1));
  for (int64_t c = 64, hw = 56; c < 512; c *= 2, hw /= 2) {
    all.push_back(resnet18_conv3x3(c, 2 * c, hw, 2));
    all.push_back(resnet18_conv3x3(2 * c, 2 * c, hw / 2, 1));
  }
  return deduplicate(all);
}

}  // namespace danlu::profiler
