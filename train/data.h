// The datasets and loaders a training config names.
#pragma once

#include <string>
#include <vector>

#include "engine/io/data_loader.h"
#include "engine/io/idx.h"
#include "layers/sequential.h"
#include "train/config.h"

namespace danlu::train {

// The training split (train = true) or the test split of data.dataset, cut
// to data.train_limit / data.test_limit. Images are (N, C, H, W) in [0, 1];
// normalisation happens in the loader.
io::ImageDataset load_split(const DataConfig& data, bool train);

// The dataset's class names, index = label ("T-shirt/top", ..., or "0".."9").
std::vector<std::string> class_names(const std::string& dataset);

// One example's (C, H, W).
std::vector<int64_t> sample_shape(const io::ImageDataset& data);
// The same, from the dataset's name alone (before any file is read).
std::vector<int64_t> sample_shape(const std::string& dataset);

// Refuses a label outside the classes `model` predicts (the width of its
// output), naming the data file, the example's index in it and the layer
// that sets the class count, e.g. "label 12 in .../t10k-labels-idx1-ubyte.gz
// at index 345 is outside the 10 classes of the last layer (model.layers[6],
// Linear(in_features=392, out_features=10, bias=True))". Without this check
// a GPU run would read past the logits.
void check_labels(const io::ImageDataset& data, const TrainConfig& config, bool train,
                  nn::Sequential& model);

// Which part of the data this process trains and evaluates on: rank `rank`
// of `ranks` data-parallel ranks (train/distributed.h), each taking its
// slice of every global batch of batch_size * ranks.
struct Shard {
  int64_t rank = 0, ranks = 1;
};

// Shuffled, augmented batches of config.batch_size (drop_last, as a fixed
// batch size keeps BatchNorm statistics and the steps per epoch stable).
// Sharded, the data must hold one global batch.
io::DataLoader train_loader(const io::ImageDataset& data, const TrainConfig& config,
                            Device device, Shard shard = {});
// Every test example once, in order, normalised and not augmented; sharded,
// each rank's slice of every global batch (possibly empty at the end).
io::DataLoader eval_loader(const io::ImageDataset& data, const TrainConfig& config,
                           Device device, Shard shard = {});

}  // namespace danlu::train
