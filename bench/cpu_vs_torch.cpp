// Times forward+backward steps of the Fashion-MNIST CNN on the CPU and prints
// images/s as one JSON line; bench/cpu_vs_torch.py runs it beside PyTorch.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "danlu.h"
#include "layers/models.h"

using namespace danlu;

int main(int argc, char** argv) {
  CLI::App app{"Fashion-MNIST CNN forward+backward throughput on the CPU"};
  int64_t batch = 128;
  int steps = 20, warmup = 3;
  app.add_option("--batch", batch, "batch size")->check(CLI::PositiveNumber);
  app.add_option("--steps", steps, "timed steps")->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup, "untimed steps first")->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);

  manual_seed(0);
  auto model = nn::fashion_cnn();
  Tensor x = Tensor::rand({batch, 1, 28, 28});
  std::vector<int64_t> labels(batch);
  for (int64_t i = 0; i < batch; ++i) labels[i] = i % 10;
  Tensor y = Tensor::from_vector(labels, {batch});

  std::chrono::steady_clock::time_point start;
  for (int i = 0; i < warmup + steps; ++i) {
    if (i == warmup) start = std::chrono::steady_clock::now();
    model->zero_grad();
    cross_entropy((*model)(x), y).backward();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"batch\": %lld, \"steps\": %d, \"seconds\": %.6f, \"images_per_second\": %.2f}\n",
              static_cast<long long>(batch), steps, seconds, batch * steps / seconds);
  return 0;
}
