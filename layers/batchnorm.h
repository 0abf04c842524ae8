// BatchNorm1d / BatchNorm2d: per-channel normalisation over the batch (and
// spatial) dims with running statistics, as torch.nn.BatchNorm1d/2d.
#pragma once

#include <cstdint>
#include <optional>

#include "engine/ops/norm.h"
#include "layers/module.h"

namespace danlu::nn {

struct BatchNormOptions {
  int64_t num_features_;
  double eps_ = 1e-5;
  // Weight of the batch statistic in the running average; nullopt means a
  // cumulative average (weight 1/num_batches_tracked), as PyTorch's None.
  std::optional<double> momentum_ = 0.1;
  bool affine_ = true;               // learnable weight and bias
  bool track_running_stats_ = true;  // otherwise batch statistics in eval too

  // Implicit, so that BatchNorm2d(32) reads as in PyTorch.
  BatchNormOptions(int64_t num_features) : num_features_(num_features) {}  // NOLINT
  BatchNormOptions& eps(double e) { eps_ = e; return *this; }
  BatchNormOptions& momentum(std::optional<double> m) { momentum_ = m; return *this; }
  BatchNormOptions& affine(bool a) { affine_ = a; return *this; }
  BatchNormOptions& track_running_stats(bool t) { track_running_stats_ = t; return *this; }
};
using BatchNorm1dOptions = BatchNormOptions;
using BatchNorm2dOptions = BatchNormOptions;

// What BatchNorm1d and BatchNorm2d share; they differ in the input ranks
// they accept.
class BatchNormBase : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  // relu(forward(x)) as one op (batch_norm_relu), for a ReLU that follows.
  Tensor forward_relu(const Tensor& x);
  void reset_running_stats();  // mean 0, var 1, num_batches_tracked 0
  void reset_parameters();     // the running stats, and weight 1, bias 0

  BatchNormOptions options;
  Tensor weight, bias;               // (C), undefined unless affine
  Tensor running_mean, running_var;  // (C), undefined unless track_running_stats
  Tensor num_batches_tracked;        // i64 0-d, undefined unless track_running_stats
  // Set in a data-parallel run with model.sync_bn (train/distributed.h):
  // training then normalises with the global batch's statistics
  // (sync_batch_norm). Unset, each rank normalises with its own slice's.
  AllReduceSum sync_statistics;

 protected:
  BatchNormBase(std::string name, const BatchNormOptions& options, int min_dim, int max_dim);
  std::string extra_repr() const override;

 private:
  Tensor normalize(const Tensor& x, bool relu);

  int min_dim_, max_dim_;
};

// x (N, C) or (N, C, L).
class BatchNorm1d : public BatchNormBase {
 public:
  explicit BatchNorm1d(const BatchNormOptions& options)
      : BatchNormBase("BatchNorm1d", options, 2, 3) {}
};

// x (N, C, H, W).
class BatchNorm2d : public BatchNormBase {
 public:
  explicit BatchNorm2d(const BatchNormOptions& options)
      : BatchNormBase("BatchNorm2d", options, 4, 4) {}
};

}  // namespace danlu::nn
