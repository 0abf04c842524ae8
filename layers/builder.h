// build_model(): a network from the "model" section of a training config.
//
//   {"layers": [{"type": "Conv2d", "in_channels": 1, "out_channels": 32,
//                "kernel_size": 3, "padding": 1}, {"type": "ReLU"}, ...]}
//   {"preset": "fashion_cnn"}
//   {"preset": "resnet20", "num_classes": 10, "in_channels": 3}
//   {"preset": "mlp", "in_features": 784, "hidden": [256, 128], "num_classes": 10,
//    "activation": "ReLU", "dropout": 0.0}
//
// Layers take PyTorch's class and argument names (layer_types() lists them;
// sizes are an int or an [h, w] pair where PyTorch accepts both; "inplace"
// is accepted and ignored). BasicBlock takes torchvision's inplanes, planes,
// stride. MultiheadAttention and TransformerEncoderLayer take PyTorch's
// arguments; TransformerEncoder takes the layer's plus num_layers and
// final_norm (a LayerNorm after the stack). A Vision Transformer is
//   PatchEmbedding {in_channels, embed_dim, patch_size}, ClassToken {embed_dim},
//   PositionalEmbedding {num_tokens, embed_dim}, TransformerEncoder {...},
//   TakeClassToken, Linear.
// Optional keys beside "layers"/"preset":
//
//   "init": {"Conv2d": {"scheme": "kaiming_normal", "mode": "fan_out",
//                       "nonlinearity": "relu"},
//            "Linear": {"scheme": "xavier_uniform", "gain": 1.0},
//            "BatchNorm2d": {"weight": 1.0, "bias": 0.0}}
//     Linear and Conv2d take a scheme: default (PyTorch's reset_parameters),
//     xavier_uniform/xavier_normal (gain), kaiming_uniform/kaiming_normal (a,
//     mode, nonlinearity), normal (mean, std), uniform (a, b), trunc_normal
//     (mean, std, a, b) or zeros, with torch.nn.init's defaults. Every scheme
//     but default sets the biases to zero. BatchNorm1d/2d and LayerNorm take
//     constant "weight" and "bias" (defaults 1 and 0). Rules apply to every
//     module of that type, inside BasicBlocks too.
//   "input_shape": [1, 28, 28]
//     One sample's shape: the model runs a batch of 2 zeros in eval mode
//     without autograd, so a mismatched layer fails at build time naming the
//     layer and both shapes. The model is left in train mode.
//
// With a generator every Linear and Conv2d is initialised from it (by its
// rule, else PyTorch's default), so the model depends only on its seed.
// Each BatchNorm directly followed by a ReLU runs as one fused op
// (fuse_batchnorm_relu, layers/batchnorm_relu.h); the layers and their
// names are as listed.
// Every bad key, type, value or missing field throws one-line danlu::Error
// naming the JSON path and what is allowed:
//   model.layers[5].in_features: expected an integer >= 1, got "x"
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/random.h"
#include "layers/sequential.h"

namespace danlu::nn {

// `path` names the section in errors.
std::shared_ptr<Sequential> build_model(const nlohmann::json& spec, Generator* gen = nullptr,
                                        const std::string& path = "model");

// Applies an "init" section (as above) to every matching module of `model`.
void apply_init(Module& model, const nlohmann::json& init, Generator* gen = nullptr,
                const std::string& path = "model.init");

const std::vector<std::string>& layer_types();  // "Linear", "Conv2d", ...
const std::vector<std::string>& model_presets();  // "fashion_cnn", "mlp", "resnet20"

}  // namespace danlu::nn
