// Dataset selection and the two loaders of a training run.
#include "train/data.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/io/cifar10.h"

namespace danlu::train {

namespace {

// The file that holds label `index` of a split, and the label's index there.
std::pair<std::string, int64_t> label_source(const DataConfig& data, bool train, int64_t index) {
  namespace fs = std::filesystem;
  if (data.dataset == "cifar10") {
    fs::path dir = data.path;
    if (fs::exists(dir / "cifar-10-batches-bin")) dir /= "cifar-10-batches-bin";
    const std::string name = train ? "data_batch_" +
                                         std::to_string(1 + index / io::kCifar10Records) + ".bin"
                                   : "test_batch.bin";
    return {(dir / name).string(), index % io::kCifar10Records};
  }
  const std::string base = data.path + "/" + (train ? "train" : "t10k") + "-labels-idx1-ubyte";
  return {fs::exists(base + ".gz") ? base + ".gz" : base, index};
}

// The last layer with parameters (the one whose size is the class count)
// as "model.layers[i], Linear(...)".
std::string class_layer(const nn::Sequential& model, const nlohmann::json& model_config) {
  for (size_t i = model.size(); i-- > 0;) {
    const std::shared_ptr<nn::Module> layer = model[i];
    if (layer->parameters().empty()) continue;
    const bool listed = model_config.contains("layers") && model_config["layers"].is_array() &&
                        model_config["layers"].size() == model.size();
    return (listed ? "model.layers[" + std::to_string(i) + "]"
                   : "layer " + std::to_string(i) + " of model " + model_config.dump()) +
           ", " + layer->describe();
  }
  return "the model has no parameters";
}

}  // namespace

void check_labels(const io::ImageDataset& data, const TrainConfig& config, bool train,
                  nn::Sequential& model) {
  if (data.size() == 0) return;
  // The class count is the output width: one forward pass of a blank example.
  const std::vector<Tensor> params = model.parameters();
  const Device device = params.empty() ? Device::cpu() : params.front().device();
  const std::vector<int64_t> shape = sample_shape(data);
  int64_t classes = 0;
  {
    NoGradGuard no_grad;
    const bool was_training = model.is_training();
    model.eval();
    const Tensor out =
        model(Tensor::zeros({1, shape[0], shape[1], shape[2]}, TensorOptions().device(device)));
    model.train(was_training);
    if (out.dim() != 2) return;  // not a classifier; cross_entropy says why
    classes = out.shape()[1];
  }
  const int64_t* labels = data.labels.data<int64_t>();
  for (int64_t i = 0; i < data.size(); ++i) {
    if (labels[i] >= 0 && labels[i] < classes) continue;
    const auto [file, index] = label_source(config.data, train, data.source_of(i));
    DANLU_FAIL("label ", labels[i], " in ", file, " at index ", index, " is outside the ",
               classes, " classes of the last layer (", class_layer(model, config.json["model"]),
               "); give that layer ", labels[i] + 1, " outputs or more, or check the data");
  }
}

// The examples of data.classes, at most `per_class` of each (0: all).
io::ImageDataset select_classes(const io::ImageDataset& all, const DataConfig& data, bool train,
                                int64_t per_class) {
  const int64_t* labels = all.labels.data<int64_t>();
  std::map<int64_t, int64_t> taken;
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < all.size(); ++i) {
    const bool wanted = data.classes.empty() ||
                        std::find(data.classes.begin(), data.classes.end(), labels[i]) != data.classes.end();
    if (wanted && (per_class == 0 || taken[labels[i]] < per_class)) keep.push_back(i), ++taken[labels[i]];
  }
  DANLU_CHECK(!keep.empty(), "data.classes: the ", train ? "training" : "test",
              " split has no example of these classes; check data.classes and data.*_limit");
  return io::gather(all, keep.data(), int64_t(keep.size()));
}

io::ImageDataset load_split(const DataConfig& data, bool train) {
  const int64_t limit = train ? data.train_limit : data.test_limit;
  const int64_t keep = limit > 0 ? limit : -1;
  io::ImageDataset all = data.dataset == "cifar10"
                             ? io::load_cifar10(data.path, train, keep)
                             : io::load_mnist(data.path, train ? "train" : "t10k", keep);
  const int64_t per_class = train ? data.train_per_class : 0;
  if (data.classes.empty() && per_class == 0) return all;
  return select_classes(all, data, train, per_class);
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
                            Device device, Shard shard) {
  const int64_t global_batch = config.batch_size * shard.ranks;
  DANLU_CHECK(shard.ranks == 1 || data.size() >= global_batch, "the training data holds ",
              data.size(), " examples, fewer than one global batch of ", global_batch, " (",
              shard.ranks, " ranks x batch_size ", config.batch_size,
              "); lower batch_size or raise data.train_limit");
  return io::DataLoader(data, io::DataLoaderOptions(config.batch_size)
                                  .shuffle(true)
                                  .drop_last(data.size() >= global_batch)
                                  .shard(shard.rank, shard.ranks)
                                  .seed(config.seed)
                                  .augmentation(config.data.augmentation)
                                  .normalization(config.data.normalization)
                                  .num_workers(config.data.num_workers)
                                  .device(device)
                                  .on_device(config.data.on_device));
}

io::DataLoader eval_loader(const io::ImageDataset& data, const TrainConfig& config,
                           Device device, Shard shard) {
  return io::DataLoader(data, io::DataLoaderOptions(config.eval_batch_size)
                                  .shard(shard.rank, shard.ranks)
                                  .normalization(config.data.normalization)
                                  .num_workers(config.data.num_workers)
                                  .device(device)
                                  .on_device(config.data.on_device));
}

}  // namespace danlu::train
