// The layers that turn an image into a Vision Transformer's tokens and back
// (as torchvision's VisionTransformer): patch embedding, a class token,
// learned positional embeddings, and taking the class token's features.
#pragma once

#include <cstdint>
#include <memory>

#include "engine/random.h"
#include "layers/conv.h"
#include "layers/module.h"

namespace danlu::nn {

// A Conv2d with kernel and stride equal to the patch size (child "proj"),
// its (N, embed_dim, H/p, W/p) output read as (N, H/p * W/p, embed_dim)
// tokens in row-major patch order. H and W must be multiples of the patch.
class PatchEmbedding : public Module {
 public:
  PatchEmbedding(int64_t in_channels, int64_t embed_dim, int64_t patch_size);
  Tensor forward(const Tensor& x) override;  // (N, C, H, W) -> (N, T, embed_dim)

  int64_t patch_size;
  std::shared_ptr<Conv2d> proj;
};

// Prepends a learned token to every sequence: (N, T, D) -> (N, T + 1, D).
// cls_token (1, 1, D) starts at 0 (torchvision's class_token).
class ClassToken : public Module {
 public:
  explicit ClassToken(int64_t embed_dim);
  Tensor forward(const Tensor& x) override;
  void reset_parameters();

  Tensor cls_token;

 protected:
  std::string extra_repr() const override;
};

// Adds a learned embedding per position: (N, T, D) + pos_embedding (1, T, D),
// initialised N(0, 0.02^2) (torchvision's pos_embedding).
class PositionalEmbedding : public Module {
 public:
  PositionalEmbedding(int64_t num_tokens, int64_t embed_dim);
  Tensor forward(const Tensor& x) override;
  void reset_parameters(Generator* gen = nullptr);

  Tensor pos_embedding;

 protected:
  std::string extra_repr() const override;
};

// The first token's features, the classifier's input: (N, T, D) -> (N, D).
class TakeClassToken : public Module {
 public:
  TakeClassToken() : Module("TakeClassToken") {}
  Tensor forward(const Tensor& x) override;
};

}  // namespace danlu::nn
