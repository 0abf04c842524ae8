// Normalisation: batch norm over (N, C, ...) and layer norm over trailing dims.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/tensor.h"

namespace danlu {

// x (N, C) or (N, C, ...). Training: normalises with the biased batch
// variance and, when the running tensors are defined, updates them in place:
// running = (1 - momentum) * running + momentum * batch_stat, where the
// variance fed to running_var is the unbiased one (as PyTorch).
// Eval: normalises with running_mean/running_var. weight/bias (C) may be undefined.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training,
                  double momentum = 0.1, double eps = 1e-5);

// relu(batch_norm(...)) as one op: the same arguments, running-statistics
// update and saved statistics, one pass over the output on a GPU, and a
// backward that applies ReLU's mask (read from the output) inside batch
// norm's. nn::Sequential uses it where a BatchNorm is directly followed by
// a ReLU.
Tensor batch_norm_relu(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                       const Tensor& weight, const Tensor& bias, bool training,
                       double momentum = 0.1, double eps = 1e-5);

// Sums `n` doubles element-wise over the ranks of a data-parallel job, in
// place, with the same result on every rank (train/distributed.h provides it).
using AllReduceSum = std::function<void(double* values, int64_t n)>;

// batch_norm in training mode over the global batch of a data-parallel job
// (PyTorch's SyncBatchNorm): every rank calls it with its slice; the
// per-channel sums (of x, then of squared deviations from the global mean,
// and the value count) go through `all_reduce` before normalising, and in
// the backward the sums of dy and dy * xhat do. With one rank it equals
// batch_norm(training = true). Any device: on a GPU each read of the
// statistics waits for the GPU (twice forward, once backward).
Tensor sync_batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                       const Tensor& weight, const Tensor& bias, double momentum, double eps,
                       const AllReduceSum& all_reduce);

// Normalises over the last normalized_shape.size() dims (biased variance);
// weight/bias have shape normalized_shape and may be undefined.
Tensor layer_norm(const Tensor& x, const std::vector<int64_t>& normalized_shape,
                  const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  double eps = 1e-5);

}  // namespace danlu
