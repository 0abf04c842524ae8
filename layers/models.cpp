// The shipped networks, written as PyTorch users would write them.
#include "layers/models.h"

#include "layers/layers.h"

namespace danlu::nn {

std::shared_ptr<Sequential> fashion_cnn() {
  return std::make_shared<Sequential>(
      Conv2d(Conv2dOptions(1, 32, 3).padding(1)), BatchNorm2d(32), ReLU(), MaxPool2d(MaxPool2dOptions(2)),
      Conv2d(Conv2dOptions(32, 64, 3).padding(1)), BatchNorm2d(64), ReLU(), MaxPool2d(MaxPool2dOptions(2)),
      Flatten(), Linear(64 * 7 * 7, 10));
}

}  // namespace danlu::nn
