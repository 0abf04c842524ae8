// Dataset selection and the two loaders of a training run.
#include "train/data.h"

#include "engine/io/cifar10.h"

namespace danlu::train {

io::ImageDataset load_split(const DataConfig& data, bool train) {
  const int64_t limit = train ? data.train_limit : data.test_limit;
  const int64_t keep = limit > 0 ? limit : -1;
  if (data.dataset == "cifar10") return io::load_cifar10(data.path, train, keep);
  return io::load_mnist(data.path, train ? "train" : "t10k", keep);
}

std::vector<std::string> class_names(const std::string& dataset) {
  if (dataset == "fashion_mnist")
    return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  if (dataset == "cifar10")
    return {"airplane", "automobile", "bird", "cat", "deer",
            "dog",      "frog",       "horse", "ship", "truck"};
  return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
}

std::vector<int64_t> sample_shape(const io::ImageDataset& data) {
  const Shape& s = data.images.shape();
  return {s[1], s[2], s[3]};
}

std::vector<int64_t> sample_shape(const std::string& dataset) {
  if (dataset == "cifar10") return {3, 32, 32};
  return {1, 28, 28};  // fashion_mnist, mnist
}

io::DataLoader train_loader(const io::ImageDataset& data, const TrainConfig& config,
                            Device device) {
  return io::DataLoader(data, io::DataLoaderOptions(config.batch_size)
                                  .shuffle(true)
                                  .drop_last(data.size() >= config.batch_size)
                                  .seed(config.seed)
                                  .augmentation(config.data.augmentation)
                                  .normalization(config.data.normalization)
                                  .num_workers(config.data.num_workers)
                                  .device(device));
}

io::DataLoader eval_loader(const io::ImageDataset& data, const TrainConfig& config,
                           Device device) {
  return io::DataLoader(data, io::DataLoaderOptions(config.eval_batch_size)
                                  .normalization(config.data.normalization)
                                  .num_workers(config.data.num_workers)
                                  .device(device));
}

}  // namespace danlu::train
