// Config resolution: the defaults below are the schema. A user key must exist
// in them (outside the free-form sections) and keep the default's JSON type;
// ranges are checked after the merge, with errors naming the JSON path.
#include "train/config.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/error.h"
#include "engine/json_fields.h"
#include "engine/json_number.h"
#include "engine/range_check.h"
#include "engine/io/cifar10.h"
#include "engine/io/idx.h"
#include "kernels/conv.h"

namespace danlu::train {

using nlohmann::json;

const json& default_config() {
  static const json defaults = json::parse(R"({
    "model": {"preset": "fashion_cnn"},
    "data": {
      "dataset": "fashion_mnist",
      "path": "",
      "train_limit": 0,
      "test_limit": 0,
      "classes": [],
      "train_per_class": 0,
      "normalize": true,
      "mean": [],
      "std": [],
      "augmentation": {
        "random_crop": false,
        "crop_padding": 4,
        "horizontal_flip": false,
        "random_erasing": false,
        "erasing_p": 0.5
      },
      "num_workers": 1,
      "on_device": true
    },
    "batch_size": 128,
    "eval_batch_size": 1000,
    "epochs": 10,
    "max_steps": 0,
    "optimizer": {"type": "SGD", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0005},
    "param_groups": [],
    "scheduler": null,
    "label_smoothing": 0.0,
    "clip_grad_norm": 0.0,
    "clip_grad_value": 0.0,
    "seed": 0,
    "eval_every": 1,
    "log_every": 50,
    "checkpoint_every": 1,
    "monitor": {"every": 100},
    "early_stopping": {"metric": "test_accuracy", "patience": 0, "min_delta": 0.0},
    "freeze": [],
    "unfreeze_at_epoch": 0,
    "pretrained": "",
    "device": "auto",
    "cuda_graph": true,
    "conv_variant": 0,
    "allow_tf32": true
  })");
  return defaults;
}

namespace {

// Sections whose keys depend on a "type" or are lists of user objects.
bool free_form(const std::string& path) {
  return path == "model" || path == "optimizer" || path == "scheduler" || path == "param_groups";
}

std::string type_name(const json& j) {
  if (j.is_number_integer()) return "an integer";
  if (j.is_number()) return "a number";
  if (j.is_boolean()) return "true or false";
  if (j.is_string()) return "a string";
  if (j.is_array()) return "a list";
  if (j.is_object()) return "an object";
  return "null";
}

bool same_type(const json& def, const json& user) {
  if (def.is_number_integer()) return is_int64(user);
  if (def.is_number()) return user.is_number();
  return def.type() == user.type();
}

std::string keys_of(const json& object) {
  std::string keys;
  for (const auto& [key, value] : object.items()) keys += (keys.empty() ? "" : ", ") + key;
  return keys;
}

void merge(json& into, const json& user, const std::string& path) {
  DANLU_CHECK(user.is_object(), (path.empty() ? "config" : path), ": expected an object, got ",
              user.dump());
  for (const auto& [key, value] : user.items()) {
    const std::string at = path.empty() ? key : path + "." + key;
    auto it = into.find(key);
    DANLU_CHECK(it != into.end(), at, ": unknown key; expected one of ", keys_of(into));
    if (free_form(at)) {
      *it = value;
    } else if (it->is_object()) {
      merge(*it, value, at);
    } else {
      DANLU_CHECK(same_type(*it, value), at, ": expected ", type_name(*it), ", got ", value.dump());
      *it = value;
    }
  }
}

// A number of the resolved config within [lo, hi].
double number_in(JsonFields& f, const std::string& key, double lo, double hi, const char* range) {
  const double v = f.number(key);
  check_range(v >= lo && v <= hi, f.path(), key, std::string("a number in ") + range, v);
  return v;
}

// A list of the resolved config whose every element is `ok`.
const json& list_of(JsonFields& f, const std::string& key, const std::string& expected,
                    bool (*ok)(const json&)) {
  const json& j = f.require(key, expected);
  if (!std::all_of(j.begin(), j.end(), ok)) f.fail(key, expected, j);
  return j;
}

// Each value must fit a float: 1e300 would become inf.
std::vector<float> floats(JsonFields& f, const std::string& key) {
  return list_of(f, key, "a list of numbers (each within +-3.4e38)", [](const json& x) {
           return x.is_number() && std::isfinite(x.get<float>());
         }).get<std::vector<float>>();
}

DataConfig parse_data(JsonFields data) {
  DataConfig d;
  d.dataset = data.choice("dataset", {"fashion_mnist", "mnist", "cifar10"});
  d.path = data.string("path");
  if (d.path.empty()) {
    DANLU_CHECK(d.dataset == "fashion_mnist", "data.path: required for ", d.dataset,
                " (the folder holding its files)");
    d.path = io::fashion_mnist_dir();
  }
  d.train_limit = data.integer("train_limit", 0);
  d.test_limit = data.integer("test_limit", 0);
  d.classes = list_of(data, "classes", "a list of labels from 0 to 9", [](const json& c) {
                return is_int64(c) && c >= 0 && c < 10;
              }).get<std::vector<int64_t>>();
  d.train_per_class = data.integer("train_per_class", 0);
  d.num_workers = static_cast<int>(data.integer("num_workers", 0));
  if (d.num_workers > 64) data.fail("num_workers", "an integer in [0, 64]", d.num_workers);
  d.on_device = data.boolean("on_device");

  JsonFields augmentation = data.object("augmentation");
  io::Augmentation& a = d.augmentation;
  a.random_crop = augmentation.boolean("random_crop");
  a.crop_padding = augmentation.integer("crop_padding", 0);
  a.horizontal_flip = augmentation.boolean("horizontal_flip");
  a.random_erasing = augmentation.boolean("random_erasing");
  a.erasing.p = number_in(augmentation, "erasing_p", 0, 1, "[0, 1]");

  const int64_t channels = d.dataset == "cifar10" ? 3 : 1;
  if (data.boolean("normalize")) {
    std::vector<float> mean = floats(data, "mean"), std = floats(data, "std");
    if (mean.empty() && std.empty()) {
      if (d.dataset == "cifar10") {
        mean.assign(io::kCifar10Mean.begin(), io::kCifar10Mean.end());
        std.assign(io::kCifar10Std.begin(), io::kCifar10Std.end());
      } else if (d.dataset == "mnist") {
        mean = {0.1307f}, std = {0.3081f};
      } else {
        mean = {io::kFashionMnistMean}, std = {io::kFashionMnistStd};
      }
    }
    DANLU_CHECK(int64_t(mean.size()) == channels && int64_t(std.size()) == channels,
                "data.mean/data.std: expected ", channels, " value(s) each for ", d.dataset,
                ", got ", mean.size(), " and ", std.size());
    d.normalization = {mean, std};
  }
  io::validate(a, d.normalization, channels);
  return d;
}

}  // namespace

void apply_override(json& config, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  DANLU_CHECK(eq != std::string::npos && eq > 0, "--set ", assignment,
              ": expected key.path=value, e.g. --set optimizer.lr=0.1");
  const std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = text;  // a bare word: a string
  json* node = &config;
  size_t start = 0;
  for (;;) {
    const size_t dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? dot : dot - start);
    DANLU_CHECK(!key.empty(), "--set ", assignment, ": empty key in '", path, "'");
    json* next;
    if (node->is_array()) {  // a list element by index: model.layers.3.p=0.1
      // At most 9 digits, so that stoul cannot overflow; no list is that long.
      const bool index =
          key.size() <= 9 && key.find_first_not_of("0123456789") == std::string::npos;
      DANLU_CHECK(index && std::stoul(key) < node->size(), "--set ", assignment, ": '", key,
                  "' is not an index of a list of ", node->size());
      next = &(*node)[std::stoul(key)];
    } else {
      if (!node->is_object()) *node = json::object();
      next = &(*node)[key];
    }
    if (dot == std::string::npos) {
      *next = value;
      return;
    }
    node = next;
    start = dot + 1;
  }
}

json resolve_config(const json& user) {
  json resolved = default_config();
  merge(resolved, user, "");
  return resolved;
}

json read_json_file(const std::string& path) {
  std::error_code ec;
  DANLU_CHECK(!std::filesystem::is_directory(path, ec), path,
              ": is a directory; expected a JSON file");
  std::ifstream in(path);
  DANLU_CHECK(in, path, ": cannot open the file (", std::strerror(errno), ")");
  try {
    return json::parse(in);
  } catch (const json::exception& e) {  // a syntax error, or a number like 1e999 (out_of_range)
    DANLU_FAIL(path, ": not valid JSON (", e.what(), ")");
  }
}

TrainConfig parse_config(const json& user) {
  TrainConfig c;
  c.json = resolve_config(user);
  JsonFields r(c.json, "", "the training config");
  c.data = parse_data(r.object("data"));
  c.batch_size = r.integer("batch_size", 1);
  c.eval_batch_size = r.integer("eval_batch_size", 1);
  c.epochs = r.integer("epochs", 0);
  c.max_steps = r.integer("max_steps", 0);
  DANLU_CHECK(c.epochs > 0 || c.max_steps > 0,
              "epochs: 0 needs max_steps > 0 (train for epochs, steps or both)");
  c.label_smoothing = number_in(r, "label_smoothing", 0, 1, "[0, 1]");
  c.clip_grad_norm = number_in(r, "clip_grad_norm", 0, 1e30, "[0, inf) (0 = off)");
  c.clip_grad_value = number_in(r, "clip_grad_value", 0, 1e30, "[0, inf) (0 = off)");
  c.seed = static_cast<uint64_t>(r.integer("seed", 0));
  c.eval_every = r.integer("eval_every", 0);
  c.log_every = r.integer("log_every", 1);
  c.checkpoint_every = r.integer("checkpoint_every", 0);
  c.monitor_every = r.object("monitor").integer("every", 0);
  JsonFields early = r.object("early_stopping");
  c.early_stopping.metric = early.choice("metric", {"test_accuracy", "test_loss"});
  c.early_stopping.patience = early.integer("patience", 0);
  c.early_stopping.min_delta = number_in(early, "min_delta", 0, 1e30, "[0, inf)");
  DANLU_CHECK(c.early_stopping.patience == 0 || c.eval_every > 0,
              "early_stopping.patience: needs eval_every > 0 (it counts evaluations)");
  c.freeze = list_of(r, "freeze", "a list of strings", [](const json& x) {
               return x.is_string();
             }).get<std::vector<std::string>>();
  c.unfreeze_at_epoch = r.integer("unfreeze_at_epoch", 0);
  DANLU_CHECK(c.unfreeze_at_epoch == 0 || !c.freeze.empty(),
              "unfreeze_at_epoch: nothing is frozen; give \"freeze\" the layers to train later");
  c.pretrained = r.string("pretrained");
  c.device = r.string("device");
  c.cuda_graph = r.boolean("cuda_graph");
  c.conv_variant = static_cast<int>(r.integer("conv_variant", 0));
  DANLU_CHECK(c.conv_variant == 0 || kernels::cuda::conv2d_is_rung(c.conv_variant),
              "conv_variant: expected 0 (automatic) or a rung of the convolution ladder (",
              kernels::cuda::conv2d_variant_numbers(), "), got ", c.conv_variant);
  c.allow_tf32 = r.boolean("allow_tf32");
  const json& groups = r.require("param_groups", "a list");
  if (!groups.is_array())
    r.fail("param_groups", "a list of {\"params\": PREFIX, options...}", groups);
  return c;
}

}  // namespace danlu::train
