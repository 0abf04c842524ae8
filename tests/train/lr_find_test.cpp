// The LR range test: its rates, and a real sweep that suggests a sane rate
// (never the first one tried) and leaves the model and optimizer as they
// were. The rules themselves: lr_suggest_test.cpp.
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
  const LrSuggestions& g = r.suggestions;
  ASSERT_EQ(g.none, "");
  EXPECT_EQ(g.first, 4u);  // a tenth of the iterations is warm-up
  EXPECT_GT(g.steepest, r.lrs[0]);
  for (double lr : {g.steepest, g.min_over_10(), g.valley}) {
    EXPECT_GT(lr, 1e-4);
    EXPECT_LT(lr, 1.0);
  }
  EXPECT_GT(g.min_lr, g.steepest / 100);
  size_t i = 0;
  for (const Tensor& p : s.model->parameters()) EXPECT_EQ(p.to_vector(), before[i++]);
  EXPECT_DOUBLE_EQ(s.optimizer->lr(0), 0.01);
}

}  // namespace
}  // namespace danlu::train
