// Which shapes the profiler times: the layers of a model (each layer's input
// recorded by running one forward on the CPU), of a training config, or the
// `standard` set (the shipped configs and presets plus ResNet-18's 3x3
// convolutions, all at batch 128).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "layers/module.h"
#include "profiler/workload.h"

namespace danlu::profiler {

// The workloads of `model` at batch size `batch` for one sample of
// `sample_shape` (C, H, W): a conv per Conv2d, a bn per BatchNorm, an ln per
// LayerNorm, an act per activation module, a pool per pooling module, a gemm
// per Linear; then the cross-entropy over a 2-d output (N, classes) and the
// optimizer over every trainable parameter. The model runs once on a zero
// batch of one sample (eval mode, no autograd) and the recorded shapes are
// scaled to `batch`, so building the list costs one sample's forward.
// Repeated shapes are kept once.
std::vector<Workload> model_workloads(nn::Module& model, const std::vector<int64_t>& sample_shape,
                                      int64_t batch);

// The workloads of a training config's model at its batch_size, for one
// sample of its dataset's shape (or the model's "input_shape"). Config
// errors name the file, as `danlu train` does.
std::vector<Workload> config_workloads(const std::string& path);

// configs/fashion_cnn.json's model, the fashion_cnn preset, resnet20 at
// 1x28x28 and 3x32x32 (which holds every ResNet-20 3x3 conv), and the 3x3
// convolutions of ResNet-18 at 224x224, at batch 128, deduplicated.
std::vector<Workload> standard_workloads();
constexpr int64_t kStandardBatch = 128;

// The copy of configs/fashion_cnn.json's "model.layers" the standard set is
// built from (so the command needs no source tree; a test keeps it equal).
const nlohmann::json& fashion_cnn_config_layers();

// Keeps the first workload of each (op, describe()) pair, in order.
std::vector<Workload> deduplicate(const std::vector<Workload>& workloads);

}  // namespace danlu::profiler
