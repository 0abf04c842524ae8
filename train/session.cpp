// Building a training session from a resolved config.
#include "train/session.h"

#include <optional>

#include "engine/error.h"
#include "engine/ops/conv.h"
#include "layers/builder.h"
#include "optim/make.h"
#include "schedulers/from_json.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/distributed.h"
#include "train/finetune.h"
#include "train/lr_scaling.h"
#include "train/memory_advice.h"
#include "train/step_graph.h"

namespace danlu::train {

using nlohmann::json;

namespace {

std::vector<std::string> prefixes_of(const json& params, const std::string& where) {
  if (params.is_string()) return {params.get<std::string>()};
  const bool ok = params.is_array() && !params.empty() &&
                  std::all_of(params.begin(), params.end(), [](const json& p) { return p.is_string(); });
  DANLU_CHECK(ok, where, ": expected a parameter-name prefix or glob, or a list of them (e.g. ",
              "\"fc\", \"layer*\" or [\"layer3\", \"fc\"]), got ", params.dump());
  return params.get<std::vector<std::string>>();
}

// The parameters split into the config's param groups, in config order,
// then the rest: one last group, or with optimizer.layer_lr_decay one group
// per depth from the head, whose rate the optimizer's times decay^depth
// (`lr_factors`, 1 for the other groups). Frozen parameters join only when
// they will be unfrozen (unfreeze_at_epoch): until then they have no
// gradient and no update.
std::vector<optim::ParamGroup> param_groups(const nn::Sequential& model, const TrainConfig& config,
                                            std::optional<double> layer_lr_decay,
                                            std::vector<std::string>& names,
                                            std::vector<double>& lr_factors) {
  const json& specs = config.json.at("param_groups");
  const bool with_frozen = config.unfreeze_at_epoch > 0;
  std::vector<std::pair<std::string, Tensor>> trainable;
  for (const auto& [name, p] : model.named_parameters())
    if (p.requires_grad() || with_frozen) trainable.emplace_back(name, p);
  std::vector<bool> claimed(trainable.size(), false);
  // The parameters not yet claimed that a pattern of `patterns` selects.
  const auto claim = [&](const std::vector<std::string>& patterns) {
    std::vector<Tensor> params;
    for (size_t i = 0; i < trainable.size(); ++i)
      for (const std::string& pattern : patterns)
        if (!claimed[i] && name_matches(trainable[i].first, pattern)) {
          params.push_back(trainable[i].second);
          claimed[i] = true;
        }
    return params;
  };
  std::vector<optim::ParamGroup> groups;
  for (size_t g = 0; g < specs.size(); ++g) {
    const std::string where = "param_groups[" + std::to_string(g) + "]";
    const json& spec = specs[g];
    DANLU_CHECK(spec.is_object() && spec.contains("params"), where,
                ": expected {\"params\": PATTERN, options...}, got ", spec.dump());
    const std::vector<std::string> patterns = prefixes_of(spec["params"], where + ".params");
    std::vector<Tensor> params = claim(patterns);
    DANLU_CHECK(!params.empty(), where, ".params: ", spec["params"].dump(),
                " matches no trainable parameter not already in an earlier group");
    json options = spec;
    options.erase("params");
    groups.emplace_back(std::move(params), std::move(options));
    lr_factors.push_back(1);
    std::string label;
    for (const auto& p : patterns) label += (label.empty() ? "" : "+") + p;
    names.push_back(label);
  }
  if (layer_lr_decay) {
    double factor = 1;
    for (const DepthGroup& depth : depth_groups(model)) {
      std::vector<Tensor> params = claim(depth.prefixes);
      if (!params.empty()) {
        groups.emplace_back(std::move(params));
        names.push_back(depth.layers);
        lr_factors.push_back(factor);
      }
      factor *= *layer_lr_decay;
    }
  }
  std::vector<Tensor> rest;
  for (size_t i = 0; i < trainable.size(); ++i)
    if (!claimed[i]) rest.push_back(trainable[i].second);
  if (!rest.empty() || groups.empty()) {
    DANLU_CHECK(!rest.empty(), "freeze: every parameter is frozen; nothing would train");
    groups.emplace_back(std::move(rest));
    names.push_back(specs.empty() && !layer_lr_decay ? "all" : "rest");
    lr_factors.push_back(1);
  }
  return groups;
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
                                           const std::vector<int64_t>& sample_shape,
                                           nn::LoadReport* report) {
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
    const nn::LoadReport loaded =
        model->load_state_dict(read_weights(config.pretrained), /*strict=*/false);
    if (report) *report = loaded;
  }
  if (sync_bn) synchronise_batch_norm(*model, world());
  freeze(*model, config.freeze);
  explain_out_of_memory_in(*model, nullptr, device, config.batch_size, [&] { model->to(device); });
  return model;
}

Session make_session(const TrainConfig& config, Device device,
                     const std::vector<int64_t>& sample_shape, int64_t steps_per_epoch) {
  nn::LoadReport loaded;
  Session s{config, device, make_model(config, device, sample_shape, &loaded), nullptr, nullptr,
            {}, {}, {}, nullptr};
  if (!config.pretrained.empty()) s.pretrained = load_report(config.pretrained, loaded);
  json optimizer = config.json.at("optimizer"), scheduler = config.json.at("scheduler");
  const std::optional<LrScaling> scaling = take_lr_scaling(optimizer);
  const std::optional<double> decay = take_layer_lr_decay(optimizer);
  std::vector<double> lr_factors;
  s.optimizer = optim::make_optimizer(
      optimizer, param_groups(*s.model, config, decay, s.group_names, lr_factors));
  for (size_t g = 0; g < lr_factors.size(); ++g)
    if (lr_factors[g] != 1) s.optimizer->set_lr(g, s.optimizer->lr(g) * lr_factors[g]);
  // The scheduler takes the scaled rates as its base rates.
  if (scaling)
    s.lr_scaling =
        apply_lr_scaling(*scaling, config.batch_size, world().size(), *s.optimizer, scheduler);
  if (!scheduler.is_null())
    s.scheduler = sched::make_scheduler(scheduler, *s.optimizer, steps_per_epoch);
  if (device.is_cuda() && config.cuda_graph) s.graph = std::make_shared<StepGraph>();
  set_conv_variant(config.conv_variant);
  set_conv_allow_tf32(config.allow_tf32);
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
