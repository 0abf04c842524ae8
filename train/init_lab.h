// The initialisation lab (`danlu init-lab`): one config trained for a few
// steps under each of several initialisations, every run from the same seed,
// so the data order and batches are the same and only the initial weights
// differ. For each it keeps the training loss at every step, every layer's
// health (train/monitor.h: activation std, gradient norm, ...) at the first
// step (the initial weights) and the last, and the first convolution's
// feature maps of one image under the initial weights (the practitioner's
// picture of Xavier against Kaiming).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/io/idx.h"
#include "train/config.h"
#include "train/monitor.h"

namespace danlu::train {

// One initialisation: its name as given ("kaiming_normal", "normal@0.01")
// and the model.init rule it sets for every Conv2d and Linear.
struct InitChoice {
  std::string name;
  nlohmann::json rule;
};

// "default" (PyTorch's reset_parameters), "xavier_uniform", "xavier_normal"
// (gain 1), "kaiming_uniform", "kaiming_normal" (fan_in, for `nonlinearity`),
// "normal@STD", "uniform@A" (U(-A, A)), "trunc_normal@STD". `nonlinearity`
// is relu, leaky_relu, tanh, sigmoid, selu or linear. Bad ones throw a
// one-line error listing what is allowed.
InitChoice parse_init_choice(const std::string& spec, const std::string& nonlinearity);

struct InitLabOptions {
  std::vector<InitChoice> inits;
  int64_t steps = 100;  // at least 1
  int64_t maps = 8;     // feature maps of the first convolution kept (at most)
};

// One feature map or input channel, row-major.
struct Picture {
  int64_t height = 0, width = 0;
  std::vector<float> pixels;
};

struct InitRun {
  std::string init;
  std::vector<double> losses;  // per step run; the run stops at a non-finite loss
  bool diverged = false;
  std::vector<LayerHealth> first, last;  // the health at step 1 and at the last step run
  std::vector<Picture> maps;             // the first Conv2d's output for the picture
  double maps_std = 0;                   // over all of that conv's output channels
};

struct InitLabResult {
  Picture image;      // the picture (the first training batch's first image, channel 0)
  int64_t label = 0;  // its class
  std::string first_conv;  // the layer the maps come from ("" when the model has no Conv2d)
  std::vector<InitRun> runs;
};

// Runs every choice on `device` over `data` (the training split).
InitLabResult run_init_lab(const TrainConfig& config, Device device, const io::ImageDataset& data,
                           const InitLabOptions& options);

}  // namespace danlu::train
