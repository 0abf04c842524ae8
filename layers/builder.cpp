// build_model() and apply_init(): one reader per layer type and preset (on
// engine/json_fields.h), the init rules, and the dry run.
#include "layers/builder.h"

#include <algorithm>
#include <functional>
#include <map>
#include <type_traits>
#include <utility>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/json_fields.h"
#include "engine/json_number.h"
#include "layers/init.h"
#include "layers/layers.h"
#include "layers/models.h"

namespace danlu::nn {

namespace {

using nlohmann::json;
using Maker = std::function<std::shared_ptr<Module>()>;
using Fields = JsonFields;  // one object of the spec: a layer, an init rule, the model
constexpr int64_t kAny = JsonFields::kAny;

std::string list_text(const std::vector<int64_t>& xs) {
  std::string s = "[";
  for (size_t i = 0; i < xs.size(); ++i) s += (i ? ", " : "") + std::to_string(xs[i]);
  return s + "]";
}

// An int for both spatial dims or an [h, w] pair.
std::string size2_text(int64_t min) { return integer_text(min) + " or a pair [h, w] of them"; }

ExpandingArray<2> size2_of(const Fields& f, const std::string& key, const json& v, int64_t min) {
  auto fits = [min](const json& x) { return is_int64(x) && x.get<int64_t>() >= min; };
  if (fits(v)) return v.get<int64_t>();
  if (v.is_array() && v.size() == 2 && fits(v[0]) && fits(v[1]))
    return std::array<int64_t, 2>{v[0].get<int64_t>(), v[1].get<int64_t>()};
  f.fail(key, size2_text(min), v);
}

ExpandingArray<2> size2(Fields& f, const std::string& key, int64_t min) {
  return size2_of(f, key, f.require(key, size2_text(min)), min);
}

ExpandingArray<2> size2(Fields& f, const std::string& key, int64_t min, int64_t fallback) {
  const json* v = f.find(key);
  return v ? size2_of(f, key, *v, min) : ExpandingArray<2>(fallback);
}

// ---- layers --------------------------------------------------------------------
bool in_unit(double p) { return p >= 0 && p <= 1; }
bool positive(double x) { return x > 0; }

void inplace(Fields& f) { f.boolean("inplace", false); }  // accepted, no effect

template <class M, class O>
Maker make(O options) {
  return [options] { return std::make_shared<M>(options); };
}

Maker linear(Fields& f) {
  const int64_t in = f.integer("in_features", 1), out = f.integer("out_features", 1);
  return make<Linear>(LinearOptions(in, out).bias(f.boolean("bias", true)));
}

Maker conv2d(Fields& f) {
  const int64_t in = f.integer("in_channels", 1), out = f.integer("out_channels", 1);
  Conv2dOptions o(in, out, size2(f, "kernel_size", 1));
  o.stride(size2(f, "stride", 1, 1)).padding(size2(f, "padding", 0, 0));
  o.dilation(size2(f, "dilation", 1, 1)).groups(f.integer("groups", 1, 1));
  return make<Conv2d>(o.bias(f.boolean("bias", true)));
}

BatchNormOptions batchnorm(Fields& f) {
  BatchNormOptions o(f.integer("num_features", 1));
  o.eps(f.number("eps", 1e-5, "a number > 0", positive));
  const json* m = f.find("momentum");
  if (m && m->is_null()) o.momentum(std::nullopt);
  else o.momentum(f.number("momentum", 0.1, "a number in [0, 1] or null", in_unit));
  o.affine(f.boolean("affine", true));
  return o.track_running_stats(f.boolean("track_running_stats", true));
}

Maker layernorm(Fields& f) {
  LayerNormOptions o(f.integers("normalized_shape", 1, true));
  o.eps(f.number("eps", 1e-5, "a number > 0", positive));
  o.elementwise_affine(f.boolean("elementwise_affine", true));
  return make<LayerNorm>(o.bias(f.boolean("bias", true)));
}

// MaxPool2d's and AvgPool2d's shared keys; stride null or absent is the kernel.
template <class O>
O pool(Fields& f) {
  O o(size2(f, "kernel_size", 1));
  const json* s = f.find("stride");
  if (s && !s->is_null()) o.stride(size2(f, "stride", 1));
  o.padding(size2(f, "padding", 0, 0));
  o.ceil_mode(f.boolean("ceil_mode", false));
  return o;
}

Maker avgpool(Fields& f) {
  auto o = pool<AvgPool2dOptions>(f);
  return make<AvgPool2d>(o.count_include_pad(f.boolean("count_include_pad", true)));
}

Maker flatten(Fields& f) {
  FlattenOptions o;
  o.start_dim(f.integer("start_dim", kAny, 1));
  return make<Flatten>(o.end_dim(f.integer("end_dim", kAny, -1)));
}

Maker basic_block(Fields& f) {
  const int64_t in = f.integer("inplanes", 1), planes = f.integer("planes", 1);
  return make<BasicBlock>(BasicBlockOptions(in, planes).stride(f.integer("stride", 1, 1)));
}

MultiheadAttentionOptions attention(Fields& f) {
  MultiheadAttentionOptions o(f.integer("embed_dim", 1), f.integer("num_heads", 1));
  o.dropout(f.number("dropout", 0.0, "a number in [0, 1]", in_unit));
  return o.bias(f.boolean("bias", true)).batch_first(f.boolean("batch_first", false));
}

// TransformerEncoderLayer's keys, which TransformerEncoder shares.
TransformerEncoderLayerOptions encoder_layer(Fields& f) {
  TransformerEncoderLayerOptions o(f.integer("d_model", 1), f.integer("nhead", 1));
  o.dim_feedforward(f.integer("dim_feedforward", 1, 2048));
  o.dropout(f.number("dropout", 0.1, "a number in [0, 1]", in_unit));
  o.activation(f.choice("activation", "relu", {"relu", "gelu"}));
  o.layer_norm_eps(f.number("layer_norm_eps", 1e-5, "a number > 0", positive));
  o.batch_first(f.boolean("batch_first", false));
  return o.norm_first(f.boolean("norm_first", false));
}

Maker encoder(Fields& f) {
  const TransformerEncoderLayerOptions layer = encoder_layer(f);
  const int64_t n = f.integer("num_layers", 1);
  const bool final_norm = f.boolean("final_norm", false);
  return [=] { return std::make_shared<TransformerEncoder>(layer, n, final_norm); };
}

Maker patch_embedding(Fields& f) {
  const int64_t in = f.integer("in_channels", 1), dim = f.integer("embed_dim", 1);
  const int64_t patch = f.integer("patch_size", 1);
  return [=] { return std::make_shared<PatchEmbedding>(in, dim, patch); };
}

Maker positional_embedding(Fields& f) {
  const int64_t tokens = f.integer("num_tokens", 1), dim = f.integer("embed_dim", 1);
  return [=] { return std::make_shared<PositionalEmbedding>(tokens, dim); };
}

Maker class_token(Fields& f) {
  const int64_t dim = f.integer("embed_dim", 1);
  return [=] { return std::make_shared<ClassToken>(dim); };
}

template <class M>
Maker plain(Fields& f) {
  if constexpr (std::is_same_v<M, ReLU> || std::is_same_v<M, SiLU>) inplace(f);
  return [] { return std::make_shared<M>(); };
}

using LayerReader = Maker (*)(Fields&);
const std::vector<std::pair<std::string, LayerReader>>& layer_readers() {
  static const std::vector<std::pair<std::string, LayerReader>> all = {
      {"Linear", linear},
      {"Conv2d", conv2d},
      {"BatchNorm1d", [](Fields& f) { return make<BatchNorm1d>(batchnorm(f)); }},
      {"BatchNorm2d", [](Fields& f) { return make<BatchNorm2d>(batchnorm(f)); }},
      {"LayerNorm", layernorm},
      {"ReLU", plain<ReLU>},
      {"LeakyReLU",
       [](Fields& f) {
         LeakyReLUOptions o;
         o.negative_slope(f.number("negative_slope", 0.01));
         inplace(f);
         return make<LeakyReLU>(o);
       }},
      {"ELU",
       [](Fields& f) {
         ELUOptions o;
         o.alpha(f.number("alpha", 1.0));
         inplace(f);
         return make<ELU>(o);
       }},
      {"GELU",
       [](Fields& f) {
         GELUOptions o;
         return make<GELU>(o.approximate(f.choice("approximate", "none", {"none", "tanh"})));
       }},
      {"SiLU", plain<SiLU>},
      {"Sigmoid", plain<Sigmoid>},
      {"Tanh", plain<Tanh>},
      {"MaxPool2d", [](Fields& f) { return make<MaxPool2d>(pool<MaxPool2dOptions>(f)); }},
      {"AvgPool2d", avgpool},
      {"AdaptiveAvgPool2d",
       [](Fields& f) {
         return make<AdaptiveAvgPool2d>(AdaptiveAvgPool2dOptions(size2(f, "output_size", 1)));
       }},
      {"Dropout",
       [](Fields& f) {
         DropoutOptions o(f.number("p", 0.5, "a number in [0, 1]", in_unit));
         inplace(f);
         return make<Dropout>(o);
       }},
      {"Flatten", flatten},
      {"BasicBlock", basic_block},
      {"PatchEmbedding", patch_embedding},
      {"ClassToken", class_token},
      {"PositionalEmbedding", positional_embedding},
      {"MultiheadAttention", [](Fields& f) { return make<MultiheadAttention>(attention(f)); }},
      {"TransformerEncoderLayer",
       [](Fields& f) { return make<TransformerEncoderLayer>(encoder_layer(f)); }},
      {"TransformerEncoder", encoder},
      {"TakeClassToken", plain<TakeClassToken>},
  };
  return all;
}

// Runs `maker`, reporting a constructor's refusal at `path`.
std::shared_ptr<Module> construct(const Maker& maker, const std::string& path) {
  try {
    return maker();
  } catch (const Error& e) {
    rethrow_in(path + ": ", e);
  }
}

std::shared_ptr<Module> read_layer(const json& j, const std::string& path) {
  DANLU_CHECK(j.is_object(), path, ": expected a layer object {\"type\": NAME, ...}, got ",
              j.dump());
  const auto& readers = layer_readers();
  auto t = j.find("type");
  DANLU_CHECK(t != j.end(), path, ".type: required (one of ", join_names(layer_types(), "\""), ")");
  auto it = std::find_if(readers.begin(), readers.end(), [&](const auto& r) {
    return t->is_string() && r.first == t->get<std::string>();
  });
  DANLU_CHECK(it != readers.end(), path, ".type: unknown layer ", t->dump(), "; expected one of ",
              join_names(layer_types(), "\""));
  Fields f(j, path, it->first);
  f.find("type");
  const Maker maker = it->second(f);
  f.finish();
  return construct(maker, path);
}

// ---- presets -------------------------------------------------------------------
std::shared_ptr<Module> activation_module(const std::string& type) {
  return read_layer(json{{"type", type}}, "activation");
}

Maker preset(Fields& f, const std::string& name) {
  if (name == "resnet20") {
    const int64_t classes = f.integer("num_classes", 1, 10);
    const int64_t in = f.integer("in_channels", 1, 3);
    return [=] { return resnet20(classes, in); };
  }
  if (name == "mlp") {
    const int64_t in = f.integer("in_features", 1);
    const std::vector<int64_t> hidden = f.integers("hidden", 1, false, true);
    const int64_t classes = f.integer("num_classes", 1);
    const std::string act = f.choice(
        "activation", "ReLU", {"ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh"});
    const double p = f.number("dropout", 0.0, "a number in [0, 1]", in_unit);
    return [=] { return mlp(in, hidden, classes, [act] { return activation_module(act); }, p); };
  }
  return [] { return fashion_cnn(); };
}

// ---- init ----------------------------------------------------------------------
const std::vector<std::string> kSchemes = {
    "default", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
    "normal",  "uniform",        "trunc_normal",  "zeros"};
const std::vector<std::string> kNonlinearities = {
    "linear",  "conv1d",           "conv2d",           "conv3d", "conv_transpose1d",
    "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh",   "relu",
    "leaky_relu", "selu"};
const std::vector<std::string> kInitTypes = {"Linear", "Conv2d", "BatchNorm1d", "BatchNorm2d",
                                             "LayerNorm"};

struct WeightRule {
  std::string scheme = "default";
  double gain = 1, a = 0, b = 1, mean = 0, std = 1;
  init::Mode mode = init::Mode::fan_in;
  init::Nonlinearity nonlinearity = init::Nonlinearity::leaky_relu;
};
struct NormRule {
  double weight = 1, bias = 0;
};
struct InitRules {
  std::map<std::string, WeightRule> weights;  // Linear, Conv2d
  std::map<std::string, NormRule> norms;      // BatchNorm1d/2d, LayerNorm
};

WeightRule read_weight_rule(Fields& f) {
  WeightRule r;
  r.scheme = f.choice("scheme", kSchemes);
  f.set_owner(r.scheme);
  const auto nonneg = [](double x) { return x >= 0; };
  if (r.scheme.starts_with("xavier")) {
    r.gain = f.number("gain", 1.0, "a number > 0", positive);
  } else if (r.scheme.starts_with("kaiming")) {
    r.a = f.number("a", 0.0);
    r.mode = f.choice("mode", "fan_in", {"fan_in", "fan_out"}) == "fan_in" ? init::Mode::fan_in
                                                                          : init::Mode::fan_out;
    const std::string nl = f.choice("nonlinearity", "leaky_relu", kNonlinearities);
    r.nonlinearity = init::Nonlinearity(
        std::find(kNonlinearities.begin(), kNonlinearities.end(), nl) - kNonlinearities.begin());
  } else if (r.scheme == "normal" || r.scheme == "trunc_normal") {
    r.mean = f.number("mean", 0.0);
    r.std = f.number("std", 1.0, "a number >= 0", nonneg);
  }
  if (r.scheme == "uniform" || r.scheme == "trunc_normal") {
    const bool trunc = r.scheme == "trunc_normal";
    r.a = f.number("a", trunc ? -2.0 : 0.0);
    const std::string above = "a number > a = " + json(r.a).dump();
    r.b = f.number("b", trunc ? 2.0 : 1.0, above, [&](double b) { return b > r.a; });
  }
  return r;
}

InitRules read_init(const json& j, const std::string& path) {
  DANLU_CHECK(j.is_object(), path, ": expected an object {LAYER_TYPE: RULE, ...}, got ", j.dump());
  InitRules rules;
  for (const auto& [type, rule] : j.items()) {
    const std::string p = path + "." + type;
    DANLU_CHECK(std::find(kInitTypes.begin(), kInitTypes.end(), type) != kInitTypes.end(), p,
                ": no init rule for this type; expected one of ", join_names(kInitTypes, "\""));
    Fields f(rule, p, type);
    if (type == "Linear" || type == "Conv2d") {
      rules.weights[type] = read_weight_rule(f);
    } else {
      NormRule& n = rules.norms[type];
      n.weight = f.number("weight", 1.0);
      n.bias = f.number("bias", 0.0);
    }
    f.finish();
  }
  return rules;
}

void init_weight(const WeightRule& r, const Tensor& w, const Tensor& b, Generator* gen,
                 const std::function<void()>& reset) {
  if (r.scheme == "default") return reset();
  if (r.scheme == "xavier_uniform") init::xavier_uniform_(w, r.gain, gen);
  if (r.scheme == "xavier_normal") init::xavier_normal_(w, r.gain, gen);
  if (r.scheme == "kaiming_uniform") init::kaiming_uniform_(w, r.a, r.mode, r.nonlinearity, gen);
  if (r.scheme == "kaiming_normal") init::kaiming_normal_(w, r.a, r.mode, r.nonlinearity, gen);
  if (r.scheme == "normal") init::normal_(w, r.mean, r.std, gen);
  if (r.scheme == "uniform") init::uniform_(w, r.a, r.b, gen);
  if (r.scheme == "trunc_normal") init::trunc_normal_(w, r.mean, r.std, r.a, r.b, gen);
  if (r.scheme == "zeros") init::zeros_(w);
  if (b.defined()) init::zeros_(b);
}

// Layers with an initialisation of their own (attention's in_proj, the
// positional embedding) drawn again from gen. Runs after the children, so
// attention's out_proj.bias ends at 0 as in PyTorch.
void reset_own_parameters(Module& m, Generator* gen) {
  if (auto* a = dynamic_cast<MultiheadAttention*>(&m)) a->reset_parameters(gen);
  if (auto* p = dynamic_cast<PositionalEmbedding*>(&m)) p->reset_parameters(gen);
}

// Applies `rules`; with `everything`, unruled Linear/Conv2d get the default
// from gen, and so do the layers of reset_own_parameters.
void apply_rules(Module& model, const InitRules& rules, Generator* gen, bool everything) {
  auto weight_rule = [&](const std::string& type) -> const WeightRule* {
    static const WeightRule fallback;
    auto it = rules.weights.find(type);
    return it != rules.weights.end() ? &it->second : everything ? &fallback : nullptr;
  };
  model.apply([&](Module& m) {
    if (auto* l = dynamic_cast<Linear*>(&m); l && weight_rule("Linear"))
      init_weight(*weight_rule("Linear"), l->weight, l->bias, gen,
                  [&] { l->reset_parameters(gen); });
    if (auto* c = dynamic_cast<Conv2d*>(&m); c && weight_rule("Conv2d"))
      init_weight(*weight_rule("Conv2d"), c->weight, c->bias, gen,
                  [&] { c->reset_parameters(gen); });
    if (everything) reset_own_parameters(m, gen);
    auto norm = rules.norms.find(m.name());
    if (norm == rules.norms.end()) return;
    Tensor w, b;
    if (auto* bn = dynamic_cast<BatchNormBase*>(&m)) w = bn->weight, b = bn->bias;
    if (auto* ln = dynamic_cast<LayerNorm*>(&m)) w = ln->weight, b = ln->bias;
    if (w.defined()) init::constant_(w, norm->second.weight);
    if (b.defined()) init::constant_(b, norm->second.bias);
  });
}

// ---- the dry run ---------------------------------------------------------------
// Feeds a batch of 2 zeros of `sample` through each child in eval mode;
// labels[i] names child i in errors.
void dry_run(Sequential& net, const std::vector<int64_t>& sample,
             const std::vector<std::string>& labels, const std::string& shape_path) {
  std::vector<int64_t> dims{2};
  dims.insert(dims.end(), sample.begin(), sample.end());
  NoGradGuard no_grad;
  net.eval();
  Tensor x = Tensor::zeros(Shape(dims));
  for (size_t i = 0; i < net.size(); ++i) {
    try {
      x = net[i]->forward(x);
    } catch (const Error& e) {
      net.train();
      DANLU_FAIL(labels[i], ": ", shape_path, " ", list_text(sample),
                 " gives it an input of shape ", x.shape(), ": ", e.what());
    }
  }
  net.train();
}

}  // namespace

const std::vector<std::string>& layer_types() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& r : layer_readers()) n.push_back(r.first);
    return n;
  }();
  return names;
}

const std::vector<std::string>& model_presets() {
  static const std::vector<std::string> names = {"fashion_cnn", "mlp", "resnet20"};
  return names;
}

std::shared_ptr<Sequential> build_model(const json& spec, Generator* gen,
                                        const std::string& path) {
  Fields f(spec, path, "the model");
  const bool has_layers = spec.contains("layers"), has_preset = spec.contains("preset");
  DANLU_CHECK(!(has_layers && has_preset), path, ": give \"layers\" or \"preset\", not both");
  DANLU_CHECK(has_layers || has_preset, path,
              ": expected \"layers\" (a list of layer objects) or \"preset\" (one of ",
              join_names(model_presets(), "\""), ")");
  std::shared_ptr<Sequential> net;
  std::vector<std::string> labels;
  Maker preset_maker;
  std::string name;
  if (has_layers) {
    const json& list = *f.find("layers");
    DANLU_CHECK(list.is_array() && !list.empty(), f.path("layers"),
                ": expected a non-empty list of layer objects, got ", list.dump());
    net = std::make_shared<Sequential>();
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string at = f.path("layers[" + std::to_string(i) + "]");
      std::shared_ptr<Module> layer = read_layer(list[i], at);
      labels.push_back(at + " (" + layer->name() + ")");
      net->push_back(std::move(layer));
    }
  } else {
    name = f.choice("preset", model_presets());
    f.set_owner("preset \"" + name + "\"");
    preset_maker = preset(f, name);
  }
  InitRules rules;
  if (const json* init = f.find("init")) rules = read_init(*init, f.path("init"));
  std::vector<int64_t> sample;
  if (f.find("input_shape")) sample = f.integers("input_shape", 1, false);
  f.finish();
  if (preset_maker) {
    net = std::static_pointer_cast<Sequential>(construct(preset_maker, path));
    for (const auto& [child, module] : net->named_children())
      labels.push_back(path + " (preset \"" + name + "\") layer " + child + " (" +
                       module->name() + ")");
  }
  if (gen || !rules.weights.empty() || !rules.norms.empty()) apply_rules(*net, rules, gen, gen);
  if (!sample.empty()) dry_run(*net, sample, labels, f.path("input_shape"));
  fuse_batchnorm_relu(*net);
  return net;
}

void apply_init(Module& model, const json& init, Generator* gen, const std::string& path) {
  apply_rules(model, read_init(init, path), gen, false);
}

}  // namespace danlu::nn
