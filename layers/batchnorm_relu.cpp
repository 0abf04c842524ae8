// The BatchNorm + ReLU fusion pass and the runner it installs.
#include "layers/batchnorm_relu.h"

#include "layers/activation.h"
#include "layers/sequential.h"

namespace danlu::nn {

BatchNormReLU::BatchNormReLU(std::shared_ptr<BatchNormBase> bn)
    : Module("BatchNormReLU"), bn_(std::move(bn)) {
  DANLU_CHECK(bn_, "BatchNormReLU: the BatchNorm is null");
}

Tensor BatchNormReLU::forward(const Tensor& x) {
  return bn_->as_layer([&] { return bn_->forward_relu(x); });
}

void fuse_batchnorm_relu(Module& model) {
  model.apply([](Module& m) {
    auto* seq = dynamic_cast<Sequential*>(&m);
    if (!seq) return;
    for (size_t i = 0; i + 1 < seq->size(); ++i) {
      auto bn = std::dynamic_pointer_cast<BatchNormBase>((*seq)[i]);
      if (!bn || !dynamic_cast<ReLU*>((*seq)[i + 1].get())) continue;
      if (!seq->runs_alone(i) || !seq->runs_alone(i + 1)) continue;  // fused already
      seq->fuse(i, 2, std::make_shared<BatchNormReLU>(std::move(bn)));
      ++i;
    }
  });
}

}  // namespace danlu::nn
