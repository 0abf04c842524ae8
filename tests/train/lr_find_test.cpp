// The LR range test: its rates, and a real sweep that suggests a sane rate
// (never the first one tried) and leaves the model and optimizer as they
// were. The rules themselves: lr_suggest_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

#include "train/data.h"
#include "train/lr_find.h"
#include "train/session.h"
#include "train/step.h"

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

// The finder's recommendation tried for real on every shipped config (a
// slice of the training data, no scheduler): a short run at the recommended
// rate ends with a lower training loss than the same run at a tenth of it,
// and does not diverge. The CIFAR-10 config is left out (its data is not
// shipped; configs_test.cpp runs it on a generated file).
class ShippedConfigLr : public ::testing::TestWithParam<std::string> {};

// The mean training loss of the last third of `steps` steps at `lr`, from
// the config's initial weights and data order.
double short_run_loss(const TrainConfig& c, const io::ImageDataset& data, double lr, int steps) {
  const io::DataLoader loader = train_loader(data, c, Device::cpu());
  Session s = make_session(c, Device::cpu(), sample_shape(data), loader.size());
  for (size_t g = 0; g < s.optimizer->num_param_groups(); ++g) s.optimizer->set_lr(g, lr);
  io::Epoch batches = loader.epoch(0);
  double tail = 0;
  for (int step = 0, epoch = 0; step < steps; ++step) {
    std::optional<io::Batch> batch = batches.next();
    if (!batch) batches = loader.epoch(++epoch), batch = batches.next();
    const double loss = train_step(s, *batch).loss.item();
    if (step >= steps - steps / 3) tail += loss / (steps / 3);
  }
  return tail;
}

TEST_P(ShippedConfigLr, RecommendedRateBeatsATenthOfIt) {
  const TrainConfig c = load_config(
      std::string(DANLU_SOURCE_DIR) + "/configs/" + GetParam(),
      {"data.train_limit=512", "batch_size=16", "data.num_workers=0", "scheduler=null",
       "monitor.every=0"});
  const io::ImageDataset data = load_split(c.data, true);
  const io::DataLoader loader = train_loader(data, c, Device::cpu());
  Session s = make_session(c, Device::cpu(), sample_shape(data), loader.size());
  LrFindOptions o;
  o.start = 1e-6, o.end = 10, o.iters = 40;
  const LrFindResult r = lr_find(s, loader, o);
  ASSERT_EQ(r.suggestions.none, "");
  const double lr = r.suggestions.recommended();
  const double at_lr = short_run_loss(c, data, lr, 24), at_tenth = short_run_loss(c, data, lr / 10, 24);
  EXPECT_TRUE(std::isfinite(at_lr)) << "lr " << lr;
  EXPECT_LT(at_lr, at_tenth) << "lr " << lr << " (" << r.suggestions.recommended_rule() << ")";
  std::printf("%s: recommended lr %.3g (%s): loss %.4f, at lr/10 %.4f\n", GetParam().c_str(), lr,
              r.suggestions.recommended_rule(), at_lr, at_tenth);
}

INSTANTIATE_TEST_SUITE_P(Configs, ShippedConfigLr,
                         ::testing::Values("fashion_cnn.json", "fashion_cnn_cpu_quick.json",
                                           "fashion_resnet20.json", "fashion_vit.json",
                                           "fashion_plain20_relu.json", "fashion_plain20_tanh.json"),
                         [](const auto& info) {
                           std::string n = info.param;
                           return n.substr(0, n.find('.'));
                         });

}  // namespace
}  // namespace danlu::train
