// The shipped networks, written as PyTorch users would write them.
#include "layers/models.h"

#include <string>

#include "layers/layers.h"

namespace danlu::nn {

std::shared_ptr<Sequential> fashion_cnn() {
  auto net = std::make_shared<Sequential>(
      Conv2d(Conv2dOptions(1, 32, 3).padding(1)), BatchNorm2d(32), ReLU(), MaxPool2d(MaxPool2dOptions(2)),
      Conv2d(Conv2dOptions(32, 64, 3).padding(1)), BatchNorm2d(64), ReLU(), MaxPool2d(MaxPool2dOptions(2)),
      Flatten(), Linear(64 * 7 * 7, 10));
  fuse_batchnorm_relu(*net);
  return net;
}

std::shared_ptr<Sequential> resnet20(int64_t num_classes, int64_t in_channels) {
  DANLU_CHECK(num_classes > 0 && in_channels > 0,
              "resnet20: num_classes and in_channels must be positive, got ", num_classes, " and ",
              in_channels);
  auto net = std::make_shared<Sequential>();
  net->push_back("conv1", std::make_shared<Conv2d>(
                              Conv2dOptions(in_channels, 16, 3).padding(1).bias(false)));
  net->push_back("bn1", std::make_shared<BatchNorm2d>(16));
  net->push_back("relu", std::make_shared<ReLU>());
  int64_t in_planes = 16;
  for (int stage = 0; stage < 3; ++stage) {
    const int64_t planes = int64_t{16} << stage;
    auto layer = std::make_shared<Sequential>();
    for (int block = 0; block < 3; ++block) {
      const int64_t stride = (stage > 0 && block == 0) ? 2 : 1;
      layer->push_back(
          std::make_shared<BasicBlock>(BasicBlockOptions(in_planes, planes).stride(stride)));
      in_planes = planes;
    }
    net->push_back("layer" + std::to_string(stage + 1), layer);
  }
  net->push_back("avgpool", std::make_shared<AdaptiveAvgPool2d>(1));
  net->push_back("flatten", std::make_shared<Flatten>());
  net->push_back("fc", std::make_shared<Linear>(64, num_classes));
  fuse_batchnorm_relu(*net);
  return net;
}

std::shared_ptr<Sequential> mlp(int64_t in_features, const std::vector<int64_t>& hidden,
                                int64_t num_classes,
                                const std::function<std::shared_ptr<Module>()>& activation,
                                double dropout) {
  auto net = std::make_shared<Sequential>(Flatten());
  int64_t width = in_features;
  for (int64_t h : hidden) {
    net->push_back(std::make_shared<Linear>(width, h));
    net->push_back(activation ? activation() : std::make_shared<ReLU>());
    if (dropout > 0) net->push_back(std::make_shared<Dropout>(dropout));
    width = h;
  }
  net->push_back(std::make_shared<Linear>(width, num_classes));
  return net;
}

}  // namespace danlu::nn
