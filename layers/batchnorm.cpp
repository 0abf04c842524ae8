// BatchNorm: buffers, the num_batches_tracked counter and the momentum it
// implies, and the forward call into ops::batch_norm (or batch_norm_relu).
#include "layers/batchnorm.h"

#include "engine/cuda_graph.h"
#include "engine/ops/activation.h"
#include "engine/ops/norm.h"
#include "layers/init.h"
#include "layers/repr.h"

namespace danlu::nn {

namespace {

// Adds `delta` to the i64 counter and returns the new count. Module::to
// keeps the counter on the CPU, where this is a host increment; a counter put
// on a GPU by hand goes through a host copy, which waits for the GPU.
int64_t add_to(const Tensor& counter, int64_t delta) {
  Tensor host = counter.to(Device::cpu());
  const int64_t count = host.data<int64_t>()[0] += delta;
  if (!counter.device().is_cpu()) Tensor(counter).copy_(host.to(counter.device()));
  return count;
}

}  // namespace

BatchNormBase::BatchNormBase(std::string name, const BatchNormOptions& opts, int min_dim,
                             int max_dim)
    : Module(std::move(name)), options(opts), min_dim_(min_dim), max_dim_(max_dim) {
  const int64_t c = options.num_features_;
  DANLU_CHECK(c > 0, this->name(), ": num_features must be positive, got ", c);
  DANLU_CHECK(options.eps_ > 0, this->name(), ": eps must be positive, got ", options.eps_);
  DANLU_CHECK(!options.momentum_ || (*options.momentum_ >= 0 && *options.momentum_ <= 1),
              this->name(), ": momentum must be in [0, 1], got ", options.momentum_.value_or(0));
  if (options.affine_) {
    weight = register_parameter("weight", Tensor::empty({c}));
    bias = register_parameter("bias", Tensor::empty({c}));
  }
  if (options.track_running_stats_) {
    running_mean = register_buffer("running_mean", Tensor::empty({c}));
    running_var = register_buffer("running_var", Tensor::empty({c}));
    num_batches_tracked = register_buffer("num_batches_tracked", Tensor::scalar(0, DType::i64));
  }
  reset_parameters();
}

void BatchNormBase::reset_running_stats() {
  if (!options.track_running_stats_) return;
  init::zeros_(running_mean);
  init::ones_(running_var);
  init::zeros_(num_batches_tracked);
}

void BatchNormBase::reset_parameters() {
  reset_running_stats();
  if (!options.affine_) return;
  init::ones_(weight);
  init::zeros_(bias);
}

Tensor BatchNormBase::forward(const Tensor& x) { return normalize(x, false); }

Tensor BatchNormBase::forward_relu(const Tensor& x) { return normalize(x, true); }

Tensor BatchNormBase::normalize(const Tensor& x, bool relu) {
  DANLU_CHECK(x.dim() >= min_dim_ && x.dim() <= max_dim_, name(), ": expected a ",
              min_dim_ == max_dim_ ? "4-d input (N, C, H, W)" : "2-d or 3-d input (N, C[, L])",
              ", got ", x.shape());
  DANLU_CHECK(x.size(1) == options.num_features_, name(), ": expected ", options.num_features_,
              " channels, got ", x.size(1), " (input ", x.shape(), ")");
  // Without running statistics there is nothing else to normalise with.
  const bool batch_stats = is_training() || !options.track_running_stats_;
  DANLU_CHECK(!batch_stats || x.numel() / x.size(1) > 1, name(),
              ": expected more than 1 value per channel when training, got input ", x.shape());
  double momentum = options.momentum_.value_or(0.0);
  if (is_training() && options.track_running_stats_) {
    if (!options.momentum_)
      refuse_capture(x.device(), name() + " has momentum=None: its running averages weigh each "
                                          "step by 1/steps, a number a graph cannot change");
    const int64_t batches = add_to(num_batches_tracked, 1);
    // A CUDA Graph of this step counts each of its launches (engine/cuda_graph.h).
    const Tensor counter = num_batches_tracked;
    add_capture_effect(x.device(), {[counter] { add_to(counter, 1); },
                                    [counter] { add_to(counter, -1); }, {}});
    if (!options.momentum_) momentum = 1.0 / static_cast<double>(batches);
  }
  if (is_training() && sync_statistics) {
    const Tensor y = sync_batch_norm(x, running_mean, running_var, weight, bias, momentum,
                                     options.eps_, sync_statistics);
    return relu ? danlu::relu(y) : y;
  }
  const auto op = relu ? batch_norm_relu : batch_norm;
  return op(x, running_mean, running_var, weight, bias, batch_stats, momentum, options.eps_);
}

std::string BatchNormBase::extra_repr() const {
  return std::to_string(options.num_features_) + ", eps=" + detail::py_float(options.eps_) +
         ", momentum=" + (options.momentum_ ? detail::py_float(*options.momentum_) : "None") +
         ", affine=" + detail::py_bool(options.affine_) +
         ", track_running_stats=" + detail::py_bool(options.track_running_stats_);
}

}  // namespace danlu::nn
