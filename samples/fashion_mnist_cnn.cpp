// Trains the Fashion-MNIST CNN on the full dataset with the C++ API (SGD with
// momentum, cosine learning-rate decay per iteration) and prints the test
// accuracy after every epoch. It runs on the GPU when one is usable and on
// the CPU otherwise: the model and each batch are moved with .to(device).
//
//   fashion_mnist_cnn [epochs=5] [batch=128] [lr=0.02] [data_dir]
#include <chrono>
#include <cstdio>
#include <string>

#include "danlu.h"
#include "engine/io/idx.h"
#include "layers/models.h"
#include "optim/sgd.h"
#include "schedulers/cosine.h"

using namespace danlu;

// Fraction of `data` the model classifies correctly, in eval mode.
double test_accuracy(nn::Module& model, const io::ImageDataset& data, int64_t batch,
                     Device device) {
  NoGradGuard no_grad;
  model.eval();
  int64_t correct = 0;
  std::vector<int64_t> indices(batch);
  for (int64_t start = 0; start < data.size(); start += batch) {
    const int64_t count = std::min(batch, data.size() - start);
    for (int64_t i = 0; i < count; ++i) indices[i] = start + i;
    io::ImageDataset mb = io::gather(data, indices.data(), count);
    Tensor predicted = argmax(model(mb.images.to(device)), 1).to(Device::cpu());
    for (int64_t i = 0; i < count; ++i)
      correct += predicted.data<int64_t>()[i] == mb.labels.data<int64_t>()[i];
  }
  model.train();
  return static_cast<double>(correct) / data.size();
}

int main(int argc, char** argv) try {
  const int epochs = argc > 1 ? std::stoi(argv[1]) : 5;
  const int64_t batch = argc > 2 ? std::stoll(argv[2]) : 128;
  const double lr = argc > 3 ? std::stod(argv[3]) : 0.02;
  const std::string dir = argc > 4 ? argv[4] : io::fashion_mnist_dir();

  io::ImageDataset train = io::load_mnist(dir, "train");
  io::ImageDataset test = io::load_mnist(dir, "t10k");
  io::normalize_(train, io::kFashionMnistMean, io::kFashionMnistStd);
  io::normalize_(test, io::kFashionMnistMean, io::kFashionMnistStd);
  const Device device = cuda_available() ? Device::cuda(0) : Device::cpu();
  std::printf("Fashion-MNIST: %lld training and %lld test images; device %s%s\n",
              static_cast<long long>(train.size()), static_cast<long long>(test.size()),
              device.str().c_str(),
              cuda_available() ? "" : (" (" + cuda_unavailable_reason() + ")").c_str());
  std::fflush(stdout);

  manual_seed(0);
  auto model = nn::fashion_cnn();
  model->to(device);
  optim::SGD sgd(model->parameters(), optim::SGDOptions(lr).momentum(0.9).weight_decay(5e-4));
  const int64_t steps_per_epoch = train.size() / batch;
  sched::CosineAnnealingLR cosine(sgd, epochs * steps_per_epoch);
  Generator shuffle(1);

  for (int epoch = 1; epoch <= epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<int64_t> order = shuffle.randperm(train.size());
    double loss_sum = 0;
    int64_t steps = 0;
    for (int64_t b = 0; b + batch <= train.size(); b += batch, ++steps) {
      io::ImageDataset mb = io::gather(train, order.data() + b, batch);
      Tensor loss = cross_entropy((*model)(mb.images.to(device)), mb.labels.to(device));
      sgd.zero_grad();
      loss.backward();
      sgd.step();
      cosine.step();
      loss_sum += loss.item();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("epoch %d  train loss %.4f  test accuracy %.2f%%  %.1f s (%.0f images/s)\n",
                epoch, loss_sum / steps, 100 * test_accuracy(*model, test, 1000, device), seconds,
                steps * batch / seconds);
    std::fflush(stdout);  // show progress at once when piped to a file
  }
  return 0;
} catch (const Error& e) {
  std::fprintf(stderr, "fashion_mnist_cnn: error: %s\n", e.what());
  return 1;
}
