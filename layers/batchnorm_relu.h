// The BatchNorm + ReLU fusion: a pass that makes each Sequential run a
// BatchNorm directly followed by a ReLU as one batch_norm_relu op, the same
// values and gradients with one pass fewer over the activations on a GPU.
//
//   auto net = std::make_shared<Sequential>(Conv2d(...), BatchNorm2d(32), ReLU(), ...);
//   fuse_batchnorm_relu(*net);  // once, after building; build_model and the
//                               // shipped models (layers/models.h) do it
//
// The pass changes what forward() runs, not the module tree: children,
// parameter names, state dicts, checkpoints and printing stay as they were.
#pragma once

#include <memory>

#include "layers/batchnorm.h"
#include "layers/module.h"

namespace danlu::nn {

// relu(bn(x)) as one op, charged to the BatchNorm in a step profile. The
// pass hands it to a Sequential as the runner of the pair; it is not a child
// and owns no parameters.
class BatchNormReLU : public Module {
 public:
  explicit BatchNormReLU(std::shared_ptr<BatchNormBase> bn);
  Tensor forward(const Tensor& x) override;

 private:
  std::shared_ptr<BatchNormBase> bn_;
};

// Fuses every BatchNorm1d/2d directly followed by a ReLU in every Sequential
// of `model` (the model itself included). Running it again changes nothing;
// children appended later run on their own until it runs again.
void fuse_batchnorm_relu(Module& model);

}  // namespace danlu::nn
