// Times whole training steps (zero_grad, forward, loss, backward, SGD step) of
// the fashion_cnn preset on the CPU and prints images/s as one JSON line last;
// bench/cpu_vs_torch.py runs it beside PyTorch.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "danlu.h"
#include "layers/models.h"
#include "optim/sgd.h"

using namespace danlu;

int main(int argc, char** argv) {
  CLI::App app{"Fashion-MNIST CNN training-step throughput on the CPU"};
  int64_t batch = 128;
  int steps = 20, warmup = 3;
  app.add_option("--batch", batch, "batch size")->check(CLI::PositiveNumber);
  app.add_option("--steps", steps, "timed steps")->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup, "untimed steps first")->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);

  manual_seed(0);
  auto model = nn::fashion_cnn();
  // configs/fashion_cnn.json's optimizer.
  optim::SGD sgd(model->parameters(),
                 optim::SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(5e-4));
  Tensor x = Tensor::rand({batch, 1, 28, 28});
  std::vector<int64_t> labels(batch);
  for (int64_t i = 0; i < batch; ++i) labels[i] = i % 10;
  Tensor y = Tensor::from_vector(labels, {batch});

  std::chrono::steady_clock::time_point start;
  for (int i = 0; i < warmup + steps; ++i) {
    if (i == warmup) start = std::chrono::steady_clock::now();
    sgd.zero_grad();
    cross_entropy((*model)(x), y).backward();
    sgd.step();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"batch\": %lld, \"steps\": %d, \"seconds\": %.6f, \"images_per_second\": %.2f}\n",
              static_cast<long long>(batch), steps, seconds, batch * steps / seconds);
  return 0;
}
