// Finetuning: which parameters a name pattern selects (for `freeze` and
// `param_groups`), freezing and gradual unfreezing (`unfreeze_at_epoch`),
// discriminative learning rates by depth from the head
// (`optimizer.layer_lr_decay`), and the report of what pretrained weights
// loaded into the model (`pretrained`).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "layers/module.h"
#include "layers/sequential.h"

namespace danlu::train {

// A pattern with *, ? or [...] is a glob over the whole parameter name (*
// crosses dots: "layer*" selects "layer1.0.conv1.weight"); any other pattern
// is a prefix of whole name parts ("fc" selects "fc.weight", not
// "fc2.weight").
bool name_matches(const std::string& name, const std::string& pattern);

// Sets requires_grad off for every parameter that a pattern selects; a
// pattern that selects nothing is an error naming it.
void freeze(nn::Module& model, const std::vector<std::string>& patterns);
// Sets requires_grad on for every parameter; returns how many were frozen.
int64_t unfreeze_all(nn::Module& model);

// Removes optimizer.layer_lr_decay (a number in (0, 1]) from the optimizer's
// spec and returns it; nullopt when absent.
std::optional<double> take_layer_lr_decay(nlohmann::json& optimizer);

// The model's top-level layers that own parameters, grouped by depth from
// the head: [0] is the head (the last such layer), [1] the one before, ...;
// a normalisation layer shares the depth of the layer before it. Each entry
// is the layers' names ("9", "6+7").
struct DepthGroup {
  std::string layers;
  std::vector<std::string> prefixes;
};
std::vector<DepthGroup> depth_groups(const nn::Sequential& model);

// What loading pretrained weights did, as a "pretrained" metrics record
// with the run header's text: the tensors loaded, those re-initialised
// because their shape differs (a new head), those missing from the file
// (kept at their initialisation) and those in the file the model lacks.
nlohmann::json load_report(const std::string& file, const nn::LoadReport& report);

}  // namespace danlu::train
