// Building a training session from a resolved config.
#include "train/session.h"

#include <iostream>

#include "engine/error.h"
#include "layers/builder.h"
#include "optim/make.h"
#include "schedulers/from_json.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/distributed.h"
#include "train/lr_scaling.h"
#include "train/memory_advice.h"

namespace danlu::train {

using nlohmann::json;

namespace {

bool starts_with(const std::string& name, const std::string& prefix) {
  // "fc" matches "fc.weight" and "fc" itself, not "fc2.weight".
  return name.rfind(prefix, 0) == 0 && (name.size() == prefix.size() || name[prefix.size()] == '.');
}

std::vector<std::string> prefixes_of(const json& params, const std::string& where) {
  if (params.is_string()) return {params.get<std::string>()};
  const bool ok = params.is_array() && !params.empty() &&
                  std::all_of(params.begin(), params.end(), [](const json& p) { return p.is_string(); });
  DANLU_CHECK(ok, where, ": expected a parameter-name prefix or a list of them (e.g. \"fc\" or ",
              "[\"layer3\", \"fc\"]), got ", params.dump());
  return params.get<std::vector<std::string>>();
}

// The trainable parameters split into the config's param groups, in config
// order, plus a last group with every parameter no group claimed.
std::vector<optim::ParamGroup> param_groups(const nn::Module& model, const json& specs,
                                            std::vector<std::string>& names) {
  std::vector<std::pair<std::string, Tensor>> trainable;
  for (const auto& [name, p] : model.named_parameters())
    if (p.requires_grad()) trainable.emplace_back(name, p);
  std::vector<bool> claimed(trainable.size(), false);
  std::vector<optim::ParamGroup> groups;
  for (size_t g = 0; g < specs.size(); ++g) {
    const std::string where = "param_groups[" + std::to_string(g) + "]";
    const json& spec = specs[g];
    DANLU_CHECK(spec.is_object() && spec.contains("params"), where,
                ": expected {\"params\": PREFIX, options...}, got ", spec.dump());
    const std::vector<std::string> prefixes = prefixes_of(spec["params"], where + ".params");
    std::vector<Tensor> params;
    for (size_t i = 0; i < trainable.size(); ++i)
      for (const std::string& prefix : prefixes)
        if (!claimed[i] && starts_with(trainable[i].first, prefix)) {
          params.push_back(trainable[i].second);
          claimed[i] = true;
        }
    DANLU_CHECK(!params.empty(), where, ".params: ", spec["params"].dump(),
                " matches no trainable parameter not already in an earlier group");
    json options = spec;
    options.erase("params");
    groups.emplace_back(std::move(params), std::move(options));
    std::string label;
    for (const auto& p : prefixes) label += (label.empty() ? "" : "+") + p;
    names.push_back(label);
  }
  std::vector<Tensor> rest;
  for (size_t i = 0; i < trainable.size(); ++i)
    if (!claimed[i]) rest.push_back(trainable[i].second);
  if (!rest.empty() || groups.empty()) {
    DANLU_CHECK(!rest.empty(), "freeze: every parameter is frozen; nothing would train");
    groups.emplace_back(std::move(rest));
    names.push_back(specs.empty() ? "all" : "rest");
  }
  return groups;
}

void freeze(nn::Module& model, const std::vector<std::string>& prefixes) {
  for (size_t i = 0; i < prefixes.size(); ++i) {
    bool matched = false;
    for (const auto& [name, p] : model.named_parameters())
      if (starts_with(name, prefixes[i])) {
        Tensor(p).set_requires_grad(false);  // a handle to the module's parameter
        matched = true;
      }
    DANLU_CHECK(matched, "freeze[", i, "]: \"", prefixes[i],
                "\" matches no parameter name (names look like \"0.weight\" or \"fc.bias\")");
  }
}

// Removes the training option model.sync_bn from the layers' spec and
// returns it (false when absent).
bool take_sync_bn(json& spec) {
  if (!spec.is_object() || !spec.contains("sync_bn")) return false;
  const json value = spec["sync_bn"];
  DANLU_CHECK(value.is_boolean(), "model.sync_bn: expected true or false, got ", value.dump());
  spec.erase("sync_bn");
  return value.get<bool>();
}

}  // namespace

Device pick_device(const std::string& requested, std::string& note) {
  if (requested == "auto") {
    if (cuda_available()) {
      // A data-parallel rank takes its machine's GPU number local rank (one
      // rank per GPU; docs/distributed.md). A single process takes cuda:0.
      const int gpu = world().local_rank() % cuda_device_count();
      note = "device cuda:" + std::to_string(gpu) + " (" + cuda_devices()[gpu].name + ")";
      return Device::cuda(gpu);
    }
    note = "device cpu (" + cuda_unavailable_reason() + ")";
    return Device::cpu();
  }
  const Device d = Device::parse(requested);
  DANLU_CHECK(d.is_cpu() || d.index < cuda_device_count(), "device ", requested,
              ": not usable here (", cuda_available() ? "no such GPU" : cuda_unavailable_reason(),
              "); use --device cpu or auto");
  note = "device " + d.str();
  return d;
}

std::shared_ptr<nn::Sequential> make_model(const TrainConfig& config, Device device,
                                           const std::vector<int64_t>& sample_shape) {
  Generator init(config.seed);
  json spec = config.json.at("model");
  if (spec.is_object() && !spec.contains("input_shape")) spec["input_shape"] = sample_shape;
  const bool sync_bn = take_sync_bn(spec);
  std::shared_ptr<nn::Sequential> model;
  try {
    model = nn::build_model(spec, &init);
  } catch (const OutOfMemory& e) {
    DANLU_FAIL(e.what(), " while building the model's weights: that one weight tensor is larger "
               "than this machine can hold; use a smaller model");
  }
  if (!config.pretrained.empty()) {
    const nn::LoadReport report =
        model->load_state_dict(read_weights(config.pretrained), /*strict=*/false);
    if (!report.ok()) std::cerr << "pretrained " << config.pretrained << ": " << report.str() << "\n";
  }
  if (sync_bn) synchronise_batch_norm(*model, world());
  freeze(*model, config.freeze);
  explain_out_of_memory_in(*model, nullptr, device, config.batch_size, [&] { model->to(device); });
  return model;
}

Session make_session(const TrainConfig& config, Device device,
                     const std::vector<int64_t>& sample_shape, int64_t steps_per_epoch) {
  Session s{config, device, make_model(config, device, sample_shape), nullptr, nullptr, {}, {}};
  json optimizer = config.json.at("optimizer"), scheduler = config.json.at("scheduler");
  const std::optional<LrScaling> scaling = take_lr_scaling(optimizer);
  s.optimizer = optim::make_optimizer(
      optimizer, param_groups(*s.model, config.json.at("param_groups"), s.group_names));
  // The scheduler takes the scaled rates as its base rates.
  if (scaling)
    s.lr_scaling =
        apply_lr_scaling(*scaling, config.batch_size, world().size(), *s.optimizer, scheduler);
  if (!scheduler.is_null())
    s.scheduler = sched::make_scheduler(scheduler, *s.optimizer, steps_per_epoch);
  return s;
}

TrainConfig load_config(const std::string& path, const std::vector<std::string>& overrides) {
  json user = read_json_file(path);
  for (const std::string& o : overrides) apply_override(user, o);
  try {
    TrainConfig config = parse_config(user);
    make_session(config, Device::cpu(), sample_shape(config.data.dataset), /*steps_per_epoch=*/1);
    return config;
  } catch (const Error& e) {
    rethrow_in(path + ": ", e);
  }
}

}  // namespace danlu::train
