// The LR range test: the suggestion rules on a known curve, and a real sweep
// that suggests a sane rate and leaves the model and optimizer as they were.
#include <gtest/gtest.h>

#include <cmath>

#include "train/data.h"
#include "train/lr_find.h"

namespace danlu::train {
namespace {

TEST(LrFind, RatesSweepGeometricallyOrLinearly) {
  LrFindOptions o;
  o.start = 1e-4, o.end = 1, o.iters = 5;
  EXPECT_DOUBLE_EQ(lr_at(o, 0), 1e-4);
  EXPECT_NEAR(lr_at(o, 2), 1e-2, 1e-15);
  EXPECT_DOUBLE_EQ(lr_at(o, 4), 1);
  o.exponential = false;
  EXPECT_DOUBLE_EQ(lr_at(o, 2), 1e-4 + (1 - 1e-4) / 2);
}

TEST(LrFind, SuggestsTheSteepestDescentAndATenthOfTheMinimum) {
  // Flat, a steep fall around lr = 1e-2, the minimum at 1e-1, then a rise.
  LrFindResult r;
  r.lrs = {1e-4, 1e-3, 1e-2, 1e-1, 1};
  r.smoothed = {2.3, 2.2, 1.0, 0.5, 3.0};
  r.losses = r.smoothed;
  suggest(r);
  EXPECT_DOUBLE_EQ(r.steepest_lr, 1e-2);
  EXPECT_DOUBLE_EQ(r.min_lr, 1e-1);
  EXPECT_DOUBLE_EQ(r.min_over_10_lr(), 1e-2);
}

TEST(LrFind, SweepOnFashionMnistSuggestsASaneRateAndRestoresTheModel) {
  const TrainConfig c = parse_config({{"data", {{"train_limit", 1024}, {"num_workers", 0}}},
                                      {"batch_size", 64},
                                      {"optimizer", {{"type", "SGD"}, {"lr", 0.01}, {"momentum", 0.9}}}});
  const io::ImageDataset data = load_split(c.data, true);
  const io::DataLoader loader = train_loader(data, c, Device::cpu());
  Session s = make_session(c, Device::cpu(), sample_shape(data), loader.size());
  std::vector<std::vector<double>> before;
  for (const Tensor& p : s.model->parameters()) before.push_back(p.to_vector());

  LrFindOptions o;
  o.start = 1e-5, o.end = 10, o.iters = 40;
  const LrFindResult r = lr_find(s, loader, o);
  EXPECT_GT(r.steepest_lr, 1e-4);
  EXPECT_LT(r.steepest_lr, 1.0);
  EXPECT_GT(r.min_lr, r.steepest_lr / 100);
  size_t i = 0;
  for (const Tensor& p : s.model->parameters()) EXPECT_EQ(p.to_vector(), before[i++]);
  EXPECT_DOUBLE_EQ(s.optimizer->lr(0), 0.01);
}

}  // namespace
}  // namespace danlu::train
