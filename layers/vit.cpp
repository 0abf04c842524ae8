// Patch embedding, class token, positional embedding and class-token
// selection on the shape ops (flatten, transpose, concat, narrow) and a
// broadcast add.
#include "layers/vit.h"

#include "engine/ops/elementwise.h"
#include "engine/ops/shape.h"
#include "layers/init.h"
#include "layers/repr.h"

namespace danlu::nn {

PatchEmbedding::PatchEmbedding(int64_t in_channels, int64_t embed_dim, int64_t patch)
    : Module("PatchEmbedding"), patch_size(patch) {
  DANLU_CHECK(in_channels > 0 && embed_dim > 0 && patch > 0,
              "PatchEmbedding: in_channels, embed_dim and patch_size must be positive, got ",
              in_channels, ", ", embed_dim, " and ", patch);
  proj = register_module("proj", std::make_shared<Conv2d>(
                                     Conv2dOptions(in_channels, embed_dim, patch).stride(patch)));
}

Tensor PatchEmbedding::forward(const Tensor& x) {
  DANLU_CHECK(x.dim() == 4 && x.size(2) % patch_size == 0 && x.size(3) % patch_size == 0,
              "PatchEmbedding: expected an input (N, C, H, W) with H and W multiples of the patch "
              "size ", patch_size, ", got ", x.shape(), "; resize or pad the images, or pick a "
              "patch size dividing them");
  return transpose(flatten((*proj)(x), 2), 1, 2);
}

ClassToken::ClassToken(int64_t embed_dim) : Module("ClassToken") {
  DANLU_CHECK(embed_dim > 0, "ClassToken: embed_dim must be positive, got ", embed_dim);
  cls_token = register_parameter("cls_token", Tensor::empty({1, 1, embed_dim}));
  reset_parameters();
}

void ClassToken::reset_parameters() { init::zeros_(cls_token); }

Tensor ClassToken::forward(const Tensor& x) {
  const int64_t d = cls_token.size(2);
  DANLU_CHECK(x.dim() == 3 && x.size(2) == d, "ClassToken: expected tokens (N, T, ", d, "), got ",
              x.shape());
  return concat({broadcast_to(cls_token, Shape({x.size(0), 1, d})), x}, 1);
}

std::string ClassToken::extra_repr() const {
  return "embed_dim=" + std::to_string(cls_token.size(2));
}

PositionalEmbedding::PositionalEmbedding(int64_t num_tokens, int64_t embed_dim)
    : Module("PositionalEmbedding") {
  DANLU_CHECK(num_tokens > 0 && embed_dim > 0,
              "PositionalEmbedding: num_tokens and embed_dim must be positive, got ", num_tokens,
              " and ", embed_dim);
  pos_embedding = register_parameter("pos_embedding", Tensor::empty({1, num_tokens, embed_dim}));
  reset_parameters();
}

void PositionalEmbedding::reset_parameters(Generator* gen) {
  init::normal_(pos_embedding, 0.0, 0.02, gen);
}

Tensor PositionalEmbedding::forward(const Tensor& x) {
  const int64_t t = pos_embedding.size(1), d = pos_embedding.size(2);
  DANLU_CHECK(x.dim() == 3 && x.size(1) == t && x.size(2) == d, "PositionalEmbedding: expected "
              "tokens (N, ", t, ", ", d, "), got ", x.shape(), "; num_tokens counts the class "
              "token too (patches + 1)");
  return x + pos_embedding;
}

std::string PositionalEmbedding::extra_repr() const {
  return "num_tokens=" + std::to_string(pos_embedding.size(1)) +
         ", embed_dim=" + std::to_string(pos_embedding.size(2));
}

Tensor TakeClassToken::forward(const Tensor& x) {
  DANLU_CHECK(x.dim() == 3 && x.size(1) >= 1, "TakeClassToken: expected tokens (N, T, D), got ",
              x.shape());
  return narrow(x, 1, 0, 1).reshape({x.size(0), x.size(2)});
}

}  // namespace danlu::nn
