#include "train/gradient_averager.h"

#include "engine/cuda_copy.h"
#include "engine/error.h"
#include "engine/ops/elementwise.h"

namespace danlu::train {

GradientAverager::GradientAverager(const std::vector<Tensor>& params, Communicator& comm,
                                   int64_t bucket_elements)
    : params_(params), comm_(comm), bucket_elements_(bucket_elements) {
  if (nothing_to_do()) return;
  for (const Tensor& p : params_) pending_.insert(p.impl().get());
  buckets_.emplace_back();
}

void GradientAverager::ready(const Tensor& param) {
  if (pending_.erase(param.impl().get()) == 0) return;  // not ours, or already in
  add(param.grad());
}

void GradientAverager::add(const Tensor& grad) {
  DANLU_CHECK(grad.dtype() == DType::f32, "data-parallel training averages f32 gradients, got ",
              grad.str());
  buckets_.back().grads.push_back(grad);
  buckets_.back().elements += grad.numel();
  if (buckets_.back().elements >= bucket_elements_) reduce_open_bucket();
}

// The open bucket's gradients packed into one buffer on the communicator's
// device, its all-reduce started, and a new bucket opened.
void GradientAverager::reduce_open_bucket() {
  Bucket& bucket = buckets_.back();
  if (bucket.elements == 0) return;
  bucket.flat = Tensor::empty({bucket.elements}, TensorOptions(DType::f32).device(comm_.device()));
  float* flat = bucket.flat.data<float>();
  for (const Tensor& grad : bucket.grads) {
    copy_bytes(flat, comm_.device(), grad.raw_data(), grad.device(), grad.numel() * sizeof(float));
    flat += grad.numel();
  }
  comm_.all_reduce_sum(bucket.flat.data<float>(), bucket.elements);
  buckets_.emplace_back();
}

void GradientAverager::finish() {
  if (nothing_to_do()) return;
  for (const Tensor& p : params_)
    if (pending_.erase(p.impl().get()) && p.grad().defined()) add(p.grad());
  reduce_open_bucket();
  comm_.wait();
  const double scale = 1.0 / comm_.size();
  for (const Bucket& bucket : buckets_) {
    if (!bucket.flat.defined()) continue;
    const Tensor mean = mul(bucket.flat, scale);
    const float* from = mean.data<float>();
    for (const Tensor& grad : bucket.grads) {
      copy_bytes(grad.raw_data(), grad.device(), from, comm_.device(),
                 grad.numel() * sizeof(float));
      from += grad.numel();
    }
  }
  buckets_.clear();
}

}  // namespace danlu::train
