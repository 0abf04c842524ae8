// `danlu sweep`: the sweep file's checks, the points it searches (grid cross
// product, random and log-uniform draws, the same on every run), the rungs
// of successive halving, and a real sweep on a slice of Fashion-MNIST with
// failing points, a stop, its resume and a re-run that trains nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "tests/support/error_of.h"
#include "tests/support/files.h"
#include "tests/support/test_directory.h"
#include "train/config.h"
#include "train/sweep.h"

namespace danlu::train {
namespace {

namespace fs = std::filesystem;
using danlu::testing::error_of;
using nlohmann::json;

class Sweep : public testing::TestDirectory {
 protected:
  void SetUp() override {
    TestDirectory::SetUp();
    // 256 training images in batches of 64: 4 steps per epoch, 2 epochs.
    write("train.json", {{"model", {{"preset", "fashion_cnn"}}},
                         {"data", {{"train_limit", 256}, {"test_limit", 128}, {"num_workers", 0}}},
                         {"batch_size", 64},
                         {"epochs", 2},
                         {"optimizer", {{"type", "SGD"}, {"lr", 0.02}, {"momentum", 0.9}}},
                         {"scheduler", {{"type", "CosineAnnealingLR"}, {"T_max", 8}}},
                         {"log_every", 2}});
  }
  std::string write(const std::string& name, const json& j) {
    const fs::path path = dir_ / name;
    std::ofstream(path) << j.dump(2);
    return path.string();
  }
  // read_sweep's error for a sweep file holding `j`.
  std::string sweep_error(const json& j) {
    const std::string path = write("sweep.json", j);
    return error_of([&] { read_sweep(path); });
  }
};

TEST_F(Sweep, FileErrorsNameTheKey) {
  const json space = {{"optimizer.lr", {{"grid", {0.1}}}}};
  const std::string file = (dir_ / "sweep.json").string();
  EXPECT_EQ(sweep_error({{"config", "train.json"}, {"space", space}, {"trails", 3}}),
            file + ": trails: unknown key; expected config, set, space, trials, seeds, metric, "
                   "halving or sampler_seed");
  EXPECT_EQ(sweep_error({{"space", space}}),
            file + ": config: expected the training config's path (relative to this file)");
  EXPECT_EQ(sweep_error({{"config", "train.json"}, {"space", {{"optimizer.lr", {{"normal", {0, 1}}}}}}}),
            file + ": space.optimizer.lr: unknown search \"normal\"; expected grid, uniform or "
                   "log_uniform");
  EXPECT_EQ(sweep_error({{"config", "train.json"},
                         {"space", {{"optimizer.lr", {{"log_uniform", {0, 1}}}}}}}),
            file + ": space.optimizer.lr.log_uniform: expected low > 0, got 0");
  EXPECT_EQ(sweep_error({{"config", "train.json"},
                         {"space", {{"optimizer.lr", {{"uniform", {1, 0.5}}}}}}}),
            file + ": space.optimizer.lr.uniform: expected [low, high] with low < high, got [1,0.5]");
  EXPECT_EQ(sweep_error({{"config", "train.json"}, {"space", space}, {"trials", 3}}),
            file + ": trials: 3 random draws, but every key is a grid; remove trials or make a "
                   "key random");
  EXPECT_EQ(sweep_error({{"config", "missing.json"}, {"space", space}}),
            (dir_ / "missing.json").string() + ": cannot open the file (No such file or directory)");
  EXPECT_EQ(sweep_error({{"config", "train.json"}, {"space", space}, {"metric", 5}}),
            file + ": metric: expected test_accuracy, test_loss or train_loss, got 5");
  EXPECT_EQ(sweep_error({{"config", "train.json"}, {"space", space}, {"metric", "accuracy"}}),
            file + ": metric: expected test_accuracy, test_loss or train_loss, got \"accuracy\"");
  EXPECT_EQ(sweep_error({{"config", "train.json"}, {"space", space}, {"halving", {{"eta", 1}}}}),
            file + ": halving.eta: expected 2 or more (the fraction kept is 1/eta)");
  EXPECT_EQ(sweep_error({{"config", "train.json"}, {"space", space}, {"seeds", {-1}}}),
            file + ": seeds: expected whole numbers >= 0, got -1");
}

TEST_F(Sweep, PointsAreTheGridTimesRandomDrawsTheSameOnEveryRun) {
  const std::string path =
      write("sweep.json", {{"config", "train.json"},
                           {"space", {{"optimizer.lr", {{"log_uniform", {0.001, 0.1}}}},
                                      {"optimizer.momentum", {{"uniform", {0.8, 0.9}}}},
                                      {"optimizer.weight_decay", {{"grid", {0, 0.001}}}}}},
                           {"trials", 5}});
  const SweepSpec spec = read_sweep(path);
  EXPECT_EQ(spec.config_path, (dir_ / "train.json").string());
  const std::vector<SweepPoint> points = sweep_points(spec);
  ASSERT_EQ(points.size(), 10u);
  // nlohmann::json sorts object keys: lr, momentum, weight_decay.
  ASSERT_EQ(spec.space[0].path, "optimizer.lr");
  double log_sum = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    const double lr = points[i].values[0].get<double>();
    const double momentum = points[i].values[1].get<double>();
    EXPECT_GE(lr, 0.001);
    EXPECT_LT(lr, 0.1);
    EXPECT_GE(momentum, 0.8);
    EXPECT_LT(momentum, 0.9);
    EXPECT_EQ(points[i].values[2], i < 5 ? json(0) : json(0.001));
    log_sum += std::log10(lr);
  }
  EXPECT_GT(log_sum / 10, -2.8);  // log-uniform: the mean exponent near -2, not near -1.3
  EXPECT_LT(log_sum / 10, -1.2);
  const std::vector<SweepPoint> again = sweep_points(spec);
  for (size_t i = 0; i < points.size(); ++i) EXPECT_EQ(again[i].values, points[i].values);
  const json config = point_config(spec, points[3], 7, 1);
  EXPECT_EQ(config["optimizer"]["lr"], points[3].values[0]);
  EXPECT_EQ(config["seed"], 7);
  EXPECT_EQ(config["epochs"], 1);
}

// configs/sweeps/lr_wd.json: 3 weight decays x 3 log-uniform rates on the
// quick config's 3 epochs, halved after the first.
TEST(SweepShipped, LrTimesWeightDecayIsNinePointsOverTwoRungs) {
  const SweepSpec spec = read_sweep(std::string(DANLU_SOURCE_DIR) + "/configs/sweeps/lr_wd.json");
  EXPECT_EQ(sweep_points(spec).size(), 9u);
  json base = read_json_file(spec.config_path);
  EXPECT_EQ(rung_epochs(spec, base.at("epochs").get<int64_t>()), std::vector<int64_t>({1, 3}));
}

TEST(SweepRungs, MinEpochsTimesEtaUpToTheConfigsEpochs) {
  SweepSpec s;
  EXPECT_EQ(rung_epochs(s, 9), std::vector<int64_t>({9}));
  s.halving = true, s.eta = 3, s.min_epochs = 1;
  EXPECT_EQ(rung_epochs(s, 9), std::vector<int64_t>({1, 3, 9}));
  EXPECT_EQ(rung_epochs(s, 5), std::vector<int64_t>({1, 3, 5}));
  EXPECT_EQ(rung_epochs(s, 1), std::vector<int64_t>({1}));
  s.min_epochs = 4;
  EXPECT_EQ(rung_epochs(s, 3), std::vector<int64_t>({3}));
  EXPECT_EQ(survivors(9, 3), 3);
  EXPECT_EQ(survivors(4, 3), 2);
  EXPECT_EQ(survivors(1, 3), 1);
}

TEST_F(Sweep, HalvingKeepsTheBestFailedPointsScoreWorstAndARerunTrainsNothing) {
  const std::string path =
      write("sweep.json", {{"config", "train.json"},
                           {"space", {{"optimizer.lr", {{"grid", {0.02, 0.05}}}},
                                      {"optimizer.momentum", {{"grid", {0.9, -1}}}}}},
                           {"halving", {{"eta", 2}, {"min_epochs", 1}}}});
  const SweepSpec spec = read_sweep(path);
  const std::string out = (dir_ / "out").string();

  // Stopped at once: nothing is a result yet; the run goes on from there.
  const std::atomic<bool> stop{true};
  EXPECT_TRUE(run_sweep(spec, out, Device::cpu(), &stop).stopped);

  const SweepResult r = run_sweep(spec, out, Device::cpu());
  EXPECT_FALSE(r.stopped);
  ASSERT_EQ(r.rungs, std::vector<int64_t>({1, 2}));
  ASSERT_EQ(r.points.size(), 4u);
  // Two points reach rung 2, ranked by their score there; the two with
  // momentum -1 fail at rung 1 and come last.
  EXPECT_EQ(r.points[0].scores.size(), 2u);
  EXPECT_EQ(r.points[1].scores.size(), 2u);
  EXPECT_GE(r.points[0].scores[1], r.points[1].scores[1]);
  for (int i : {0, 1}) {
    EXPECT_EQ(r.points[i].point.values[1], 0.9);
    EXPECT_TRUE(r.points[i].failure.empty()) << r.points[i].failure;
  }
  for (int i : {2, 3}) {
    ASSERT_EQ(r.points[i].scores.size(), 1u);
    EXPECT_TRUE(std::isnan(r.points[i].scores[0]));
    EXPECT_NE(r.points[i].failure.find("optimizer.momentum"), std::string::npos)
        << r.points[i].failure;
  }
  const std::string md = sweep_markdown(spec, r);
  EXPECT_NE(md.find("| rank | point | optimizer.lr | optimizer.momentum | test_accuracy @1 ep | "
                    "test_accuracy @2 ep | note |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| 4 | p"), std::string::npos) << md;

  // Again: every trial is read from its run directory, none is trained.
  const std::string log = testing::read_file(fs::path(r.points[0].dirs[0]) / "metrics.jsonl");
  const SweepResult again = run_sweep(spec, out, Device::cpu());
  EXPECT_EQ(testing::read_file(fs::path(r.points[0].dirs[0]) / "metrics.jsonl"), log);
  EXPECT_EQ(sweep_markdown(spec, again), md);
  EXPECT_EQ(sweep_csv(spec, again), sweep_csv(spec, r));
}

}  // namespace
}  // namespace danlu::train
