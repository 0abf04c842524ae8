// End to end on real data: the Fashion-MNIST CNN trained on the CPU with SGD
// on 2,000 training images must reach 80% on 1,000 test images.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "danlu.h"
#include "engine/io/idx.h"
#include "layers/layers.h"
#include "layers/models.h"
#include "optim/sgd.h"

namespace danlu {
namespace {

double accuracy(nn::Module& model, const io::ImageDataset& data) {
  NoGradGuard no_grad;
  model.eval();
  Tensor predicted = argmax(model(data.images), 1);
  model.train();
  int64_t correct = 0;
  for (int64_t i = 0; i < data.size(); ++i)
    correct += predicted.data<int64_t>()[i] == data.labels.data<int64_t>()[i];
  return static_cast<double>(correct) / data.size();
}

TEST(EndToEnd, FashionCnnLearnsOnTheCpu) {
  const std::string dir = io::fashion_mnist_dir();
  if (!std::filesystem::exists(dir))
    GTEST_SKIP() << dir << " does not exist: scripts/setup.sh installs dataset-fashion-mnist, "
                           "or set DANLU_DATA_DIR to a folder with its four files";
  const auto start = std::chrono::steady_clock::now();
  io::ImageDataset train = io::load_mnist(dir, "train", 2000);
  io::ImageDataset test = io::load_mnist(dir, "t10k", 1000);
  io::normalize_(train, io::kFashionMnistMean, io::kFashionMnistStd);
  io::normalize_(test, io::kFashionMnistMean, io::kFashionMnistStd);

  manual_seed(0);
  auto model = nn::fashion_cnn();
  optim::SGD sgd(model->parameters(), optim::SGDOptions(0.02).momentum(0.9));
  Generator shuffle(1);
  const int64_t batch = 50, epochs = 5;
  double first_loss = 0, last_loss = 0;
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    std::vector<int64_t> order = shuffle.randperm(train.size());
    for (int64_t b = 0; b < train.size(); b += batch) {
      const int64_t count = std::min(batch, train.size() - b);
      io::ImageDataset mb = io::gather(train, order.data() + b, count);
      Tensor loss = cross_entropy((*model)(mb.images), mb.labels);
      sgd.zero_grad();
      loss.backward();
      sgd.step();
      last_loss = loss.item();
      if (epoch == 0 && b == 0) first_loss = last_loss;
    }
  }
  const double acc = accuracy(*model, test);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("loss %.3f -> %.3f, test accuracy %.1f%% after %.1f s\n", first_loss, last_loss,
              100 * acc, seconds);
  EXPECT_LT(last_loss, first_loss);
  EXPECT_GE(acc, 0.80);
}

}  // namespace
}  // namespace danlu
