// build_model(): JSON layer lists and presets against the C++ models (names,
// shapes, parameter counts), every init scheme's statistics, the dry run's
// shape errors, and the exact one-line message of each bad spec.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "danlu.h"
#include "layers/builder.h"
#include "layers/layers.h"
#include "layers/models.h"
#include "tests/support/stats.h"

namespace danlu::nn {
namespace {

using nlohmann::json;

std::vector<std::pair<std::string, Shape>> shapes(const Module& m) {
  std::vector<std::pair<std::string, Shape>> out;
  for (const auto& [name, t] : m.state_dict()) out.emplace_back(name, t.shape());
  return out;
}

int64_t count(const Module& m) {
  int64_t n = 0;
  for (const Tensor& p : m.parameters()) n += p.numel();
  return n;
}

std::string error_of(const json& spec) {
  try {
    build_model(spec);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

const json kFashionLayers = json::parse(R"([
  {"type": "Conv2d", "in_channels": 1, "out_channels": 32, "kernel_size": 3, "padding": 1},
  {"type": "BatchNorm2d", "num_features": 32}, {"type": "ReLU"},
  {"type": "MaxPool2d", "kernel_size": 2},
  {"type": "Conv2d", "in_channels": 32, "out_channels": 64, "kernel_size": [3, 3], "padding": [1, 1]},
  {"type": "BatchNorm2d", "num_features": 64}, {"type": "ReLU"},
  {"type": "MaxPool2d", "kernel_size": 2, "stride": null},
  {"type": "Flatten"}, {"type": "Linear", "in_features": 3136, "out_features": 10}])");

TEST(Builder, FashionCnnLayerListMatchesTheCppModel) {
  auto built = build_model({{"layers", kFashionLayers}, {"input_shape", {1, 28, 28}}});
  auto reference = fashion_cnn();
  EXPECT_EQ(shapes(*built), shapes(*reference));
  EXPECT_EQ(built->describe(), reference->describe());
  EXPECT_EQ(shapes(*build_model({{"preset", "fashion_cnn"}})), shapes(*reference));
  EXPECT_EQ(built->forward(Tensor::zeros({3, 1, 28, 28})).shape(), Shape({3, 10}));
}

// PyTorch count for ResNet-20 with 1x1-projection shortcuts, 3 -> 10 classes:
//   conv1 3*16*9 = 432, bn1 32
//   layer1: 3 x (2 * 16*16*9 + 2 * 32)                       = 14,016
//   layer2: 16*32*9 + 32*32*9 + 128 + (16*32 + 64) = 14,528, + 2 x 18,560 = 51,648
//   layer3: 32*64*9 + 64*64*9 + 256 + (32*64 + 128) = 57,728, + 2 x 73,984 = 205,696
//   fc 64*10 + 10 = 650;  total 272,474 (the paper's "0.27M").
TEST(Builder, Resnet20HasTorchvisionNamesAnd272474Parameters) {
  auto net = build_model(
      {{"preset", "resnet20"}, {"num_classes", 10}, {"in_channels", 3}, {"input_shape", {3, 32, 32}}});
  EXPECT_EQ(count(*net), 272474);
  const StateDict sd = net->state_dict();
  EXPECT_EQ(net->named_parameters().size(), 65u);  // 21 convs, 21 BNs (x2), fc (x2)
  EXPECT_EQ(sd.keys().front(), "conv1.weight");
  EXPECT_EQ(sd["conv1.weight"].shape(), Shape({16, 3, 3, 3}));
  EXPECT_EQ(sd["layer1.2.conv2.weight"].shape(), Shape({16, 16, 3, 3}));
  EXPECT_EQ(sd["layer2.0.conv1.weight"].shape(), Shape({32, 16, 3, 3}));
  EXPECT_EQ(sd["layer2.0.downsample.0.weight"].shape(), Shape({32, 16, 1, 1}));
  EXPECT_EQ(sd["layer3.0.downsample.1.running_var"].shape(), Shape({64}));
  EXPECT_EQ(sd["layer3.2.bn2.num_batches_tracked"].dtype(), DType::i64);
  EXPECT_EQ(sd["fc.weight"].shape(), Shape({10, 64}));
  EXPECT_EQ(sd.keys().back(), "fc.bias");
  EXPECT_FALSE(sd.contains("layer1.0.downsample.0.weight"));
  EXPECT_FALSE(sd.contains("layer3.1.downsample.0.weight"));
  EXPECT_FALSE(sd.contains("conv1.bias"));
  EXPECT_EQ(net->forward(Tensor::zeros({2, 3, 32, 32})).shape(), Shape({2, 10}));

  auto gray = resnet20(100, 1);
  EXPECT_EQ(gray->state_dict()["conv1.weight"].shape(), Shape({16, 1, 3, 3}));
  EXPECT_EQ(gray->forward(Tensor::zeros({1, 1, 28, 28})).shape(), Shape({1, 100}));
}

TEST(Builder, MlpPreset) {
  auto plain = build_model({{"preset", "mlp"}, {"in_features", 784}, {"hidden", {256, 128}},
                            {"num_classes", 10}, {"input_shape", {1, 28, 28}}});
  EXPECT_EQ(shapes(*plain), (std::vector<std::pair<std::string, Shape>>{
                                {"1.weight", {256, 784}}, {"1.bias", {256}},
                                {"3.weight", {128, 256}}, {"3.bias", {128}},
                                {"5.weight", {10, 128}}, {"5.bias", {10}}}));
  EXPECT_EQ(plain->at<ReLU>(2)->name(), "ReLU");
  EXPECT_EQ(count(*plain), 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);

  auto gelu = build_model({{"preset", "mlp"}, {"in_features", 12}, {"hidden", {8}},
                           {"num_classes", 3}, {"activation", "GELU"}, {"dropout", 0.25}});
  EXPECT_EQ(gelu->describe(),
            "Sequential(\n"
            "  (0): Flatten(start_dim=1, end_dim=-1)\n"
            "  (1): Linear(in_features=12, out_features=8, bias=True)\n"
            "  (2): GELU(approximate='none')\n"
            "  (3): Dropout(p=0.25, inplace=False)\n"
            "  (4): Linear(in_features=8, out_features=3, bias=True)\n"
            ")");
  EXPECT_EQ(shapes(*build_model({{"preset", "mlp"}, {"in_features", 5}, {"hidden", json::array()},
                                 {"num_classes", 2}})),
            (std::vector<std::pair<std::string, Shape>>{{"1.weight", {2, 5}}, {"1.bias", {2}}}));
}

// The types the next test leaves to TransformerLayerTypesWithTheirArguments.
const std::vector<std::string> kTransformerTypes = {
    "PatchEmbedding",          "ClassToken",         "PositionalEmbedding", "MultiheadAttention",
    "TransformerEncoderLayer", "TransformerEncoder", "TakeClassToken"};

TEST(Builder, EveryLayerTypeWithItsPyTorchArguments) {
  const json layers = json::parse(R"([
    {"type": "Conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": [3, 5],
     "padding": [1, 2], "bias": false},
    {"type": "BasicBlock", "inplanes": 8, "planes": 16, "stride": 2},
    {"type": "BatchNorm2d", "num_features": 16, "momentum": null, "eps": 0.001},
    {"type": "LeakyReLU", "negative_slope": 0.2},
    {"type": "MaxPool2d", "kernel_size": 2, "stride": 1, "padding": 1},
    {"type": "AvgPool2d", "kernel_size": [2, 2], "stride": [1, 1], "count_include_pad": false},
    {"type": "ELU", "alpha": 0.5},
    {"type": "AdaptiveAvgPool2d", "output_size": [2, 2]},
    {"type": "Flatten", "start_dim": 1, "end_dim": -1},
    {"type": "LayerNorm", "normalized_shape": 64},
    {"type": "Linear", "in_features": 64, "out_features": 32},
    {"type": "BatchNorm1d", "num_features": 32, "affine": false},
    {"type": "GELU", "approximate": "tanh"},
    {"type": "Dropout", "p": 0.1},
    {"type": "SiLU"},
    {"type": "Linear", "in_features": 32, "out_features": 8, "bias": false},
    {"type": "Sigmoid"}, {"type": "Tanh"}, {"type": "ReLU", "inplace": true}])");
  auto net = build_model({{"layers", layers}, {"input_shape", {3, 8, 8}}});
  ASSERT_EQ(net->size(), 19u);
  std::vector<std::string> types;
  for (size_t i = 0; i < net->size(); ++i) types.push_back((*net)[i]->name());
  for (const std::string& t : layer_types()) {
    const bool transformer =
        std::find(kTransformerTypes.begin(), kTransformerTypes.end(), t) != kTransformerTypes.end();
    if (!transformer) {
      EXPECT_NE(std::find(types.begin(), types.end(), t), types.end()) << t;
    }
  }
  EXPECT_EQ(net->at<Conv2d>(0)->options.padding_.array(), (std::array<int64_t, 2>{1, 2}));
  EXPECT_FALSE(net->at<Conv2d>(0)->bias.defined());
  EXPECT_EQ(net->at<BasicBlock>(1)->options.stride_, 2);
  EXPECT_FALSE(net->at<BatchNorm2d>(2)->options.momentum_.has_value());
  EXPECT_DOUBLE_EQ(net->at<BatchNorm2d>(2)->options.eps_, 0.001);
  EXPECT_DOUBLE_EQ(net->at<LeakyReLU>(3)->options.negative_slope_, 0.2);
  EXPECT_EQ(net->at<MaxPool2d>(4)->options.stride_->array(), (std::array<int64_t, 2>{1, 1}));
  EXPECT_FALSE(net->at<AvgPool2d>(5)->options.count_include_pad_);
  EXPECT_EQ(net->at<LayerNorm>(9)->options.normalized_shape_, std::vector<int64_t>{64});
  EXPECT_FALSE(net->at<BatchNorm1d>(11)->weight.defined());
  EXPECT_EQ(net->at<GELU>(12)->options.approximate_, "tanh");
  EXPECT_DOUBLE_EQ(net->at<Dropout>(13)->options.p_, 0.1);
  EXPECT_TRUE(net->is_training());
  EXPECT_EQ(net->forward(Tensor::randn({4, 3, 8, 8})).shape(), Shape({4, 8}));
}

TEST(Builder, TransformerLayerTypesWithTheirArguments) {
  const json layers = json::parse(R"([
    {"type": "PatchEmbedding", "in_channels": 3, "embed_dim": 12, "patch_size": 4},
    {"type": "ClassToken", "embed_dim": 12},
    {"type": "PositionalEmbedding", "num_tokens": 5, "embed_dim": 12},
    {"type": "MultiheadAttention", "embed_dim": 12, "num_heads": 3, "dropout": 0.1,
     "bias": false, "batch_first": true},
    {"type": "TransformerEncoderLayer", "d_model": 12, "nhead": 2, "dim_feedforward": 24,
     "dropout": 0.0, "activation": "gelu", "layer_norm_eps": 1e-6, "batch_first": true,
     "norm_first": true},
    {"type": "TransformerEncoder", "num_layers": 2, "d_model": 12, "nhead": 4,
     "dim_feedforward": 8, "batch_first": true, "final_norm": true},
    {"type": "TakeClassToken"}])");
  auto net = build_model({{"layers", layers}, {"input_shape", {3, 8, 8}}});
  std::vector<std::string> types;
  for (size_t i = 0; i < net->size(); ++i) types.push_back((*net)[i]->name());
  EXPECT_EQ(types, kTransformerTypes);
  EXPECT_EQ(net->at<PatchEmbedding>(0)->patch_size, 4);
  const auto mha = net->at<MultiheadAttention>(3);
  EXPECT_EQ(mha->options.num_heads_, 3);
  EXPECT_DOUBLE_EQ(mha->options.dropout_, 0.1);
  EXPECT_FALSE(mha->in_proj_bias.defined());
  const auto layer = net->at<TransformerEncoderLayer>(4);
  EXPECT_EQ(layer->options.activation_, "gelu");
  EXPECT_TRUE(layer->options.norm_first_);
  EXPECT_DOUBLE_EQ(layer->options.layer_norm_eps_, 1e-6);
  const auto stack = net->at<TransformerEncoder>(5);
  EXPECT_EQ(stack->layers->size(), 2u);
  EXPECT_TRUE(stack->norm);
  EXPECT_EQ(stack->layers->at<TransformerEncoderLayer>(1)->options.activation_, "relu");
  EXPECT_EQ(net->forward(Tensor::randn({2, 3, 8, 8})).shape(), Shape({2, 12}));
}

// ---- init ----------------------------------------------------------------------
using testing::Stats;
using testing::stats;

bool all_zero(const Tensor& t) {
  const std::vector<double> v = t.to_vector();
  return std::all_of(v.begin(), v.end(), [](double x) { return x == 0; });
}

// Linear 400 -> 300 (fan_in 400, fan_out 300) and Conv2d 32 -> 64, 3x3
// (fan_in 288, fan_out 576) under the rule `rule` for both.
struct Initialised {
  std::shared_ptr<Linear> linear;
  std::shared_ptr<Conv2d> conv;
};
Initialised with_rule(const json& rule, uint64_t seed = 7) {
  const json spec = {
      {"layers", json::parse(R"([
         {"type": "Linear", "in_features": 400, "out_features": 300},
         {"type": "Conv2d", "in_channels": 32, "out_channels": 64, "kernel_size": 3}])")},
      {"init", {{"Linear", rule}, {"Conv2d", rule}}}};
  Generator gen(seed);
  auto net = build_model(spec, &gen);
  return {net->at<Linear>(0), net->at<Conv2d>(1)};
}

TEST(BuilderInit, XavierAndKaiming) {
  auto xu = with_rule({{"scheme", "xavier_uniform"}, {"gain", 2.0}});
  const double bound = 2.0 * std::sqrt(6.0 / 700);
  Stats s = stats(xu.linear->weight);
  EXPECT_LE(s.max, bound);
  EXPECT_GE(s.min, -bound);
  EXPECT_NEAR(s.std, bound / std::sqrt(3.0), 0.03 * bound);
  EXPECT_TRUE(all_zero(xu.linear->bias) && all_zero(xu.conv->bias));

  auto xn = with_rule({{"scheme", "xavier_normal"}});
  EXPECT_NEAR(stats(xn.linear->weight).std, std::sqrt(2.0 / 700), 0.03 * std::sqrt(2.0 / 700));
  EXPECT_TRUE(all_zero(xn.linear->bias));

  auto kn = with_rule({{"scheme", "kaiming_normal"}, {"mode", "fan_out"}, {"nonlinearity", "relu"}});
  const double kn_std = std::sqrt(2.0 / 576);
  EXPECT_NEAR(stats(kn.conv->weight).std, kn_std, 0.05 * kn_std);
  EXPECT_NEAR(stats(kn.conv->weight).mean, 0.0, 0.05 * kn_std);
  EXPECT_TRUE(all_zero(kn.conv->bias));

  auto ku = with_rule({{"scheme", "kaiming_uniform"}});  // a = 0, fan_in, leaky_relu
  const double ku_bound = std::sqrt(6.0 / 288);
  s = stats(ku.conv->weight);
  EXPECT_LE(s.max, ku_bound);
  EXPECT_NEAR(s.std, ku_bound / std::sqrt(3.0), 0.05 * ku_bound);
  EXPECT_TRUE(all_zero(ku.conv->bias));
}

TEST(BuilderInit, PlainDistributionsAndZeros) {
  auto n = with_rule({{"scheme", "normal"}, {"mean", 0.5}, {"std", 0.1}});
  Stats s = stats(n.linear->weight);
  EXPECT_NEAR(s.mean, 0.5, 0.005);
  EXPECT_NEAR(s.std, 0.1, 0.003);
  EXPECT_TRUE(all_zero(n.linear->bias));

  auto u = with_rule({{"scheme", "uniform"}, {"a", -0.3}, {"b", 0.1}});
  s = stats(u.linear->weight);
  EXPECT_GE(s.min, -0.3);
  EXPECT_LT(s.max, 0.1);
  EXPECT_NEAR(s.mean, -0.1, 0.005);
  EXPECT_TRUE(all_zero(u.conv->bias));

  auto t = with_rule({{"scheme", "trunc_normal"}, {"std", 1.0}, {"a", -0.5}, {"b", 0.5}});
  s = stats(t.linear->weight);
  EXPECT_GE(s.min, -0.5);
  EXPECT_LE(s.max, 0.5);
  EXPECT_NEAR(s.mean, 0.0, 0.01);
  EXPECT_NEAR(s.std, 0.2822, 0.01);  // N(0, 1) restricted to [-0.5, 0.5]
  EXPECT_TRUE(all_zero(t.linear->bias));

  auto z = with_rule({{"scheme", "zeros"}});
  EXPECT_TRUE(all_zero(z.linear->weight) && all_zero(z.conv->weight) && all_zero(z.conv->bias));
}

TEST(BuilderInit, DefaultIsPyTorchsAndTheGeneratorDecides) {
  auto d = with_rule({{"scheme", "default"}}, 3);
  const double bound = 1 / std::sqrt(400.0);
  Stats w = stats(d.linear->weight), b = stats(d.linear->bias);
  EXPECT_LE(w.max, bound);
  EXPECT_NEAR(w.std, bound / std::sqrt(3.0), 0.03 * bound);
  EXPECT_FALSE(all_zero(d.linear->bias));
  EXPECT_LE(std::max(-b.min, b.max), bound);

  // Without a rule a generator still decides every weight.
  const json spec = {{"preset", "mlp"}, {"in_features", 6}, {"hidden", {5}}, {"num_classes", 2}};
  Generator g1(11), g2(11), g3(12);
  auto a = build_model(spec, &g1), same = build_model(spec, &g2), other = build_model(spec, &g3);
  EXPECT_EQ(a->at<Linear>(1)->weight.to_vector(), same->at<Linear>(1)->weight.to_vector());
  EXPECT_EQ(a->at<Linear>(3)->bias.to_vector(), same->at<Linear>(3)->bias.to_vector());
  EXPECT_NE(a->at<Linear>(1)->weight.to_vector(), other->at<Linear>(1)->weight.to_vector());
}

TEST(BuilderInit, NormLayersAndNestedModules) {
  const json spec = json::parse(R"({
    "preset": "resnet20",
    "init": {"Conv2d": {"scheme": "kaiming_normal", "mode": "fan_out", "nonlinearity": "relu"},
             "BatchNorm2d": {"weight": 0.5, "bias": 0.25},
             "Linear": {"scheme": "xavier_uniform"}}})");
  Generator gen(5);
  auto net = build_model(spec, &gen);
  const StateDict sd = net->state_dict();
  // layer3.0.downsample.0: a 1x1 conv (64, 32, 1, 1), fan_out 64.
  EXPECT_NEAR(stats(sd["layer3.0.downsample.0.weight"]).std, std::sqrt(2.0 / 64), 0.1 * std::sqrt(2.0 / 64));
  EXPECT_NEAR(stats(sd["layer3.2.conv2.weight"]).std, std::sqrt(2.0 / 576), 0.05 * std::sqrt(2.0 / 576));
  for (const char* bn : {"bn1", "layer1.0.bn2", "layer2.0.downsample.1"}) {
    EXPECT_EQ(stats(sd[std::string(bn) + ".weight"]).min, 0.5) << bn;
    EXPECT_EQ(stats(sd[std::string(bn) + ".bias"]).max, 0.25) << bn;
  }
  EXPECT_TRUE(all_zero(sd["fc.bias"]));

  // apply_init on a C++ model: LayerNorm constants.
  Sequential seq(Linear(4, 4), LayerNorm(LayerNormOptions({4})));
  apply_init(seq, {{"LayerNorm", {{"weight", 2.0}}}});
  EXPECT_EQ(seq.at<LayerNorm>(1)->weight.to_vector(), std::vector<double>(4, 2.0));
  EXPECT_TRUE(all_zero(seq.at<LayerNorm>(1)->bias));
}

// ---- the dry run -----------------------------------------------------------------
TEST(Builder, DryRunNamesTheLayerAndBothShapes) {
  json layers = kFashionLayers;
  layers[9]["in_features"] = 3000;
  EXPECT_EQ(error_of({{"layers", layers}, {"input_shape", {1, 28, 28}}}),
            "model.layers[9] (Linear): model.input_shape [1, 28, 28] gives it an input of shape "
            "(2, 3136): Linear: expected input (..., 3000), got (2, 3136)");
  EXPECT_EQ(error_of({{"layers", kFashionLayers}, {"input_shape", {1, 32, 32}}}),
            "model.layers[9] (Linear): model.input_shape [1, 32, 32] gives it an input of shape "
            "(2, 4096): Linear: expected input (..., 3136), got (2, 4096)");
  const std::string preset = error_of({{"preset", "resnet20"}, {"input_shape", {1, 32, 32}}});
  EXPECT_EQ(preset.rfind("model (preset \"resnet20\") layer conv1 (Conv2d): model.input_shape "
                         "[1, 32, 32] gives it an input of shape (2, 1, 32, 32): Conv2d: ", 0),
            0u) << preset;

  // A passing dry run leaves the model in train mode with untouched statistics.
  auto net = build_model({{"layers", kFashionLayers}, {"input_shape", {1, 28, 28}}});
  EXPECT_TRUE(net->is_training());
  EXPECT_TRUE(net->at<BatchNorm2d>(1)->is_training());
  EXPECT_EQ(net->at<BatchNorm2d>(1)->num_batches_tracked.item(), 0);
  EXPECT_EQ(net->at<BatchNorm2d>(1)->running_var.to_vector(), std::vector<double>(32, 1.0));
}

// ---- bad specs -------------------------------------------------------------------
json layer(const std::string& text) { return {{"layers", {json::parse(text)}}}; }
// A Conv2d 1 -> 2 with `extra` keys.
json conv(const std::string& extra) {
  return layer(R"({"type": "Conv2d", "in_channels": 1, "out_channels": 2, )" + extra + "}");
}

TEST(BuilderErrors, LayerFields) {
  EXPECT_EQ(error_of(layer(R"({"type": "Linear", "in_features": "x", "out_features": 10})")),
            "model.layers[0].in_features: expected an integer >= 1, got \"x\"");
  EXPECT_EQ(error_of(layer(R"({"type": "Linear", "in_features": 4})")),
            "model.layers[0].out_features: required by Linear (an integer >= 1)");
  EXPECT_EQ(error_of(conv(R"("kernel_size": 0)")),
            "model.layers[0].kernel_size: expected an integer >= 1 or a pair [h, w] of them, got 0");
  EXPECT_EQ(error_of(conv(R"("kernel_size": [3])")),
            "model.layers[0].kernel_size: expected an integer >= 1 or a pair [h, w] of them, got [3]");
  EXPECT_EQ(error_of(conv(R"("kernel_size": 3, "padding": -1)")),
            "model.layers[0].padding: expected an integer >= 0 or a pair [h, w] of them, got -1");
  EXPECT_EQ(error_of(layer(R"({"type": "ReLU", "slope": 1})")),
            "model.layers[0].slope: unknown key for ReLU; expected one of type, inplace");
  EXPECT_EQ(error_of(layer(R"({"type": "Dropout", "p": 1.5})")),
            "model.layers[0].p: expected a number in [0, 1], got 1.5");
  EXPECT_EQ(error_of(layer(R"({"type": "BatchNorm2d", "num_features": 8, "affine": 1})")),
            "model.layers[0].affine: expected true or false, got 1");
  EXPECT_EQ(error_of(layer(R"({"type": "GELU", "approximate": "fast"})")),
            "model.layers[0].approximate: expected one of \"none\", \"tanh\", got \"fast\"");
  EXPECT_EQ(error_of({{"layers", {{{"type", "ReLU"}}, {{"type", "Conv3d"}}}}}),
            "model.layers[1].type: unknown layer \"Conv3d\"; expected one of \"Linear\", \"Conv2d\", "
            "\"BatchNorm1d\", \"BatchNorm2d\", \"LayerNorm\", \"ReLU\", \"LeakyReLU\", \"ELU\", "
            "\"GELU\", \"SiLU\", \"Sigmoid\", \"Tanh\", \"MaxPool2d\", \"AvgPool2d\", "
            "\"AdaptiveAvgPool2d\", \"Dropout\", \"Flatten\", \"BasicBlock\", "
            "\"PatchEmbedding\", \"ClassToken\", \"PositionalEmbedding\", "
            "\"MultiheadAttention\", \"TransformerEncoderLayer\", \"TransformerEncoder\", "
            "\"TakeClassToken\"");
  EXPECT_EQ(error_of({{"layers", {"ReLU"}}}),
            "model.layers[0]: expected a layer object {\"type\": NAME, ...}, got \"ReLU\"");
  // A constructor's own check, reported at the layer.
  const std::string groups = error_of(layer(
      R"({"type": "Conv2d", "in_channels": 4, "out_channels": 6, "kernel_size": 3, "groups": 4})"));
  EXPECT_EQ(groups.rfind("model.layers[0]: Conv2d: ", 0), 0u) << groups;
}

TEST(BuilderErrors, ModelAndPresets) {
  EXPECT_EQ(error_of(json::object()),
            "model: expected \"layers\" (a list of layer objects) or \"preset\" (one of "
            "\"fashion_cnn\", \"mlp\", \"resnet20\")");
  EXPECT_EQ(error_of({{"layers", json::object()}}),
            "model.layers: expected a non-empty list of layer objects, got {}");
  EXPECT_EQ(error_of({{"preset", "vgg"}}),
            "model.preset: expected one of \"fashion_cnn\", \"mlp\", \"resnet20\", got \"vgg\"");
  EXPECT_EQ(error_of({{"preset", "resnet20"}, {"depth", 20}}),
            "model.depth: unknown key for preset \"resnet20\"; expected one of preset, num_classes, "
            "in_channels, init, input_shape");
  EXPECT_EQ(error_of({{"preset", "mlp"}, {"in_features", 4}, {"num_classes", 2}}),
            "model.hidden: required by preset \"mlp\" (a list of integers >= 1)");
  EXPECT_EQ(error_of({{"preset", "fashion_cnn"}, {"input_shape", {1, 0}}}),
            "model.input_shape: expected a non-empty list of integers >= 1, got [1,0]");
}

TEST(BuilderErrors, InitRules) {
  auto with_init = [](const std::string& text) {
    return error_of({{"preset", "fashion_cnn"}, {"init", json::parse(text)}});
  };
  EXPECT_EQ(with_init(R"({"ReLU": {}})"),
            "model.init.ReLU: no init rule for this type; expected one of \"Linear\", \"Conv2d\", "
            "\"BatchNorm1d\", \"BatchNorm2d\", \"LayerNorm\"");
  EXPECT_EQ(with_init(R"({"Conv2d": {"scheme": "he"}})"),
            "model.init.Conv2d.scheme: expected one of \"default\", \"xavier_uniform\", "
            "\"xavier_normal\", \"kaiming_uniform\", \"kaiming_normal\", \"normal\", \"uniform\", "
            "\"trunc_normal\", \"zeros\", got \"he\"");
  EXPECT_EQ(with_init(R"({"Conv2d": {"mode": "fan_in"}})"),
            "model.init.Conv2d.scheme: required by Conv2d (one of \"default\", \"xavier_uniform\", "
            "\"xavier_normal\", \"kaiming_uniform\", \"kaiming_normal\", \"normal\", \"uniform\", "
            "\"trunc_normal\", \"zeros\")");
  EXPECT_EQ(with_init(R"({"Conv2d": {"scheme": "kaiming_normal", "mode": "fan_avg"}})"),
            "model.init.Conv2d.mode: expected one of \"fan_in\", \"fan_out\", got \"fan_avg\"");
  EXPECT_EQ(with_init(R"({"Linear": {"scheme": "xavier_uniform", "std": 0.1}})"),
            "model.init.Linear.std: unknown key for xavier_uniform; expected one of scheme, gain");
  EXPECT_EQ(with_init(R"({"Linear": {"scheme": "normal", "std": -1}})"),
            "model.init.Linear.std: expected a number >= 0, got -1");
  EXPECT_EQ(with_init(R"({"Linear": {"scheme": "uniform", "a": 0.5, "b": 0.1}})"),
            "model.init.Linear.b: expected a number > a = 0.5, got 0.1");
  EXPECT_EQ(with_init(R"({"BatchNorm2d": {"weight": "one"}})"),
            "model.init.BatchNorm2d.weight: expected a number, got \"one\"");
  EXPECT_EQ(with_init(R"([])"), "model.init: expected an object {LAYER_TYPE: RULE, ...}, got []");
}

}  // namespace
}  // namespace danlu::nn
