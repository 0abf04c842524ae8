// Data parallelism's gradient all-reduce, overlapped with the backward pass
// as PyTorch's DDP does. Gradients join a bucket as the backward completes
// them (engine/autograd.h's GradientReadyHook); a bucket's all-reduce starts
// as soon as it holds bucket_elements values, while the rest of the backward
// runs. finish() reduces what is left and writes back the mean over the
// ranks: the gradient one process would compute on the global batch.
//
// Buckets fill in the order gradients complete, which is the same on every
// rank (the same graph), so every rank reduces the same buckets. On a GPU
// with NCCL (train/nccl_communicator.h) the buckets live on the GPU and are
// reduced on the communicator's own stream; over MPI they are host memory.
#pragma once

#include <cstdint>
#include <unordered_set>
#include <vector>

#include "engine/tensor.h"
#include "train/distributed.h"

namespace danlu::train {

// A bucket's size, as in DDP: 4 MB of f32 gradients.
constexpr int64_t kBucketElements = int64_t{1} << 20;

class GradientAverager {
 public:
  // Averages the gradients of `params` (f32) over `comm`'s ranks.
  GradientAverager(const std::vector<Tensor>& params, Communicator& comm,
                   int64_t bucket_elements = kBucketElements);

  // `param`'s gradient is complete for this step: it joins the open bucket,
  // which is reduced now if full. Tensors that are not among the parameters
  // are ignored.
  void ready(const Tensor& param);

  // Every parameter with a gradient not yet reported joins (in parameter
  // order), the last bucket is reduced, and each gradient becomes the mean.
  void finish();

 private:
  struct Bucket {
    std::vector<Tensor> grads;
    int64_t elements = 0;
    Tensor flat;  // on comm_.device(), being reduced
  };
  // One rank on the host: the mean is the gradient. (One rank on a GPU runs
  // the buckets all the same: DANLU_TRANSPORT=nccl tries NCCL that way.)
  bool nothing_to_do() const { return comm_.size() == 1 && comm_.device().is_cpu(); }
  void add(const Tensor& grad);  // to the open bucket, reduced if that fills it
  void reduce_open_bucket();

  std::vector<Tensor> params_;
  Communicator& comm_;
  int64_t bucket_elements_;
  std::unordered_set<const TensorImpl*> pending_;  // parameters not yet in a bucket
  std::vector<Bucket> buckets_;                    // the last one is open
};

}  // namespace danlu::train
