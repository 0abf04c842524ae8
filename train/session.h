// Everything a config builds before the first step: the model (initialised
// from the seed, optionally from pretrained weights, with frozen layers), the
// optimizer over its trainable parameters in param groups, its learning
// rates scaled to the global batch (optimizer.lr_scaling), and the scheduler.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "layers/sequential.h"
#include "optim/optimizer.h"
#include "schedulers/scheduler.h"
#include "train/config.h"

namespace danlu::train {

class StepGraph;

struct Session {
  TrainConfig config;
  Device device;
  std::shared_ptr<nn::Sequential> model;
  std::unique_ptr<optim::Optimizer> optimizer;
  std::unique_ptr<sched::LRScheduler> scheduler;  // null without a "scheduler"
  std::vector<std::string> group_names;  // per param group: its "params" prefixes, or "rest"
  // What optimizer.lr_scaling changed, as a metrics record whose "text" the
  // run header prints (train/lr_scaling.h); null without lr_scaling.
  nlohmann::json lr_scaling;
  // What the pretrained weights loaded (train/finetune.h's load_report);
  // null without "pretrained".
  nlohmann::json pretrained;
  // The step's CUDA Graph (train/step_graph.h): on a GPU unless the config's
  // cuda_graph is false; null otherwise.
  std::shared_ptr<StepGraph> graph;
};

// The config's model on `device`: built and initialised from the seed, then
// the pretrained weights (a state-dict file or a checkpoint's model;
// non-strict, what loaded goes to `report`) and the frozen patterns applied.
std::shared_ptr<nn::Sequential> make_model(const TrainConfig& config, Device device,
                                           const std::vector<int64_t>& sample_shape,
                                           nn::LoadReport* report = nullptr);

// `sample_shape` is one example's (C, H, W), used to check the model's layers
// before training; `steps_per_epoch` is what epoch-interval schedules count.
Session make_session(const TrainConfig& config, Device device,
                     const std::vector<int64_t>& sample_shape, int64_t steps_per_epoch);

// read_json_file + apply_override for each "key=value" + parse_config, then
// a trial build of the model, optimizer and scheduler on the CPU, so every
// config error shows before any data loads, with the file named:
//   "configs/a.json: optimizer.momentum: expected a number, got \"high\"".
TrainConfig load_config(const std::string& path, const std::vector<std::string>& overrides);

// Resolves "auto", "cpu", "cuda", "cuda:N"; `note` says what was chosen and
// why. "auto" in a data-parallel job gives each rank its local rank's GPU.
Device pick_device(const std::string& requested, std::string& note);

}  // namespace danlu::train
