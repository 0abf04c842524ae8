// The training config: a JSON file checked against danlu's defaults (every
// key the user writes must exist there with the same JSON type), with
// `--set key.path=value` overrides applied first. Sections whose shape
// depends on a type ("model", "optimizer", "scheduler", "param_groups") are
// checked by the code that builds them, with the same path-naming errors:
//   optimizer.momentum: expected a number >= 0, got -1
//   data.augmentation.flip: unknown key; expected one of random_crop, ...
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/io/augment.h"

namespace danlu::train {

// Every key a config may hold, with its default value.
const nlohmann::json& default_config();

// Applies "key.path=value" (value parsed as JSON, else taken as a string).
void apply_override(nlohmann::json& config, const std::string& assignment);

// defaults <- user, checking names and JSON types; throws on the first problem.
nlohmann::json resolve_config(const nlohmann::json& user);

// Reads a JSON file; errors name the file.
nlohmann::json read_json_file(const std::string& path);

struct DataConfig {
  std::string dataset;  // fashion_mnist, mnist, cifar10
  std::string path;     // resolved: the dataset's default when the config says ""
  int64_t train_limit = 0, test_limit = 0;  // 0: every example
  // Only these labels (both splits; empty: all), and at most this many
  // training examples of each, the first in file order (0: all).
  std::vector<int64_t> classes;
  int64_t train_per_class = 0;
  io::Augmentation augmentation;
  io::Normalization normalization;  // empty when "normalize" is false
  int num_workers = 1;
  // On a GPU, keep the dataset there and gather batches there (io::DeviceDataset).
  bool on_device = true;
};

struct EarlyStopping {
  std::string metric;  // test_accuracy (higher is better) or test_loss (lower)
  int64_t patience = 0;  // evaluations without improvement before stopping; 0 = off
  double min_delta = 0;
  bool higher_is_better() const { return metric == "test_accuracy"; }
};

// The resolved config in typed form; `json` keeps all of it (for
// RUN_DIR/config.json and the checkpoint's metadata).
struct TrainConfig {
  nlohmann::json json;
  DataConfig data;
  int64_t batch_size = 0, eval_batch_size = 0;
  int64_t epochs = 0, max_steps = 0;
  double label_smoothing = 0, clip_grad_norm = 0, clip_grad_value = 0;
  uint64_t seed = 0;
  int64_t eval_every = 1, log_every = 50, checkpoint_every = 1;
  int64_t monitor_every = 100;  // the health monitor's interval in steps (train/monitor.h); 0 = off
  EarlyStopping early_stopping;
  std::vector<std::string> freeze;  // parameter-name prefixes or globs that are not trained
  int64_t unfreeze_at_epoch = 0;    // from this epoch (1-based) every layer trains; 0 = never
  std::string pretrained;           // weights to start from ("" = none)
  std::string device;               // auto, cpu, cuda, cuda:N
  // On a GPU, capture the forward and backward into a CUDA Graph and replay
  // it (train/step_graph.h); false: every step is launched op by op.
  bool cuda_graph = true;
  // Which CUDA convolution variant runs (engine/ops/conv.h's
  // set_conv_variant): 0 = the dispatcher's choice, N forces rung N.
  int conv_variant = 0;
  // Whether convolutions on a GPU may use TF32 (set_conv_allow_tf32); on by
  // default, as in PyTorch.
  bool allow_tf32 = true;
};

// Resolves `user` and checks every range. The model, optimizer and
// scheduler sections are checked when the trainer builds them.
TrainConfig parse_config(const nlohmann::json& user);

}  // namespace danlu::train
