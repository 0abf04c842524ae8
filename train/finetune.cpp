// Name patterns, freezing, depth groups and the pretrained-weights report.
#include "train/finetune.h"

#include <fnmatch.h>

#include <cmath>

#include "engine/error.h"
#include "engine/printf_string.h"

namespace danlu::train {

using nlohmann::json;

namespace {

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : separator) + p;
  return out;
}

// A layer with parameters of its own or in its children (a BasicBlock).
bool has_parameters(const nn::Module& m) { return !m.named_parameters().empty(); }

bool is_normalisation(const nn::Module& m) { return m.name().find("Norm") != std::string::npos; }

}  // namespace

bool name_matches(const std::string& name, const std::string& pattern) {
  if (pattern.find_first_of("*?[") != std::string::npos)
    return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
  return name.rfind(pattern, 0) == 0 &&
         (name.size() == pattern.size() || name[pattern.size()] == '.');
}

void freeze(nn::Module& model, const std::vector<std::string>& patterns) {
  for (size_t i = 0; i < patterns.size(); ++i) {
    bool matched = false;
    for (const auto& [name, p] : model.named_parameters())
      if (name_matches(name, patterns[i])) {
        Tensor(p).set_requires_grad(false);  // a handle to the module's parameter
        matched = true;
      }
    DANLU_CHECK(matched, "freeze[", i, "]: \"", patterns[i],
                "\" matches no parameter name (names look like \"0.weight\" or \"fc.bias\"; ",
                "a glob such as \"layer1*\" selects by pattern)");
  }
}

int64_t unfreeze_all(nn::Module& model) {
  int64_t frozen = 0;
  for (const auto& [name, p] : model.named_parameters())
    if (!p.requires_grad()) Tensor(p).set_requires_grad(true), ++frozen;
  return frozen;
}

std::optional<double> take_layer_lr_decay(json& optimizer) {
  if (!optimizer.is_object() || !optimizer.contains("layer_lr_decay")) return std::nullopt;
  const json j = optimizer["layer_lr_decay"];
  optimizer.erase("layer_lr_decay");
  DANLU_CHECK(j.is_number() && j.get<double>() > 0 && j.get<double>() <= 1,
              "optimizer.layer_lr_decay: expected a number in (0, 1] (each layer's rate is this ",
              "times the rate of the layer after it; 0.7 is usual), got ", j.dump());
  return j.get<double>();
}

std::vector<DepthGroup> depth_groups(const nn::Sequential& model) {
  std::vector<DepthGroup> from_input;
  for (const auto& [name, child] : model.named_children().items()) {
    if (!has_parameters(*child)) continue;
    if (is_normalisation(*child) && !from_input.empty()) {
      from_input.back().layers += "+" + name;
      from_input.back().prefixes.push_back(name);
      continue;
    }
    from_input.push_back({name, {name}});
  }
  return {from_input.rbegin(), from_input.rend()};
}

json load_report(const std::string& file, const nn::LoadReport& r) {
  const size_t total = r.loaded_keys.size() + r.mismatched_keys.size() + r.missing_keys.size();
  std::string text = printf_string("pretrained %s: loaded %zu of the model's %zu tensors",
                                   file.c_str(), r.loaded_keys.size(), total);
  if (!r.mismatched_keys.empty())
    text += "; re-initialised (shape differs, e.g. a new head): " + join(r.mismatched_keys, "; ");
  if (!r.missing_keys.empty())
    text += "; not in the file (kept at their initialisation): " + join(r.missing_keys, ", ");
  if (!r.unexpected_keys.empty())
    text += "; in the file but not in the model (ignored): " + join(r.unexpected_keys, ", ");
  return {{"kind", "pretrained"},          {"file", file},
          {"loaded", r.loaded_keys},       {"reinitialised", r.mismatched_keys},
          {"missing", r.missing_keys},     {"unexpected", r.unexpected_keys},
          {"text", text}};
}

}  // namespace danlu::train
