// check_labels: a label beyond the model's classes is named with its file,
// its index and the layer that sets the class count (the failure it
// prevents: cross_entropy's bare "target out of range" on the CPU, and
// reads past the logits on a GPU).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/support/error_of.h"
#include "train/data.h"
#include "train/session.h"

namespace danlu::train {
namespace {

namespace fs = std::filesystem;

void write_idx(const fs::path& path, std::vector<uint8_t> dims_and_data) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(dims_and_data.data()), std::streamsize(dims_and_data.size()));
}

TEST(CheckLabels, ALabelBeyondTheClassesNamesFileIndexAndLayer) {
  const fs::path dir = fs::temp_directory_path() / ("danlu_labels_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::vector<uint8_t> images = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 28, 0, 0, 0, 28};
  images.resize(images.size() + 3 * 28 * 28, 0);
  write_idx(dir / "t10k-images-idx3-ubyte", images);
  write_idx(dir / "t10k-labels-idx1-ubyte", {0, 0, 8, 1, 0, 0, 0, 3, 4, 9, 12});
  const TrainConfig config = parse_config(nlohmann::json::parse(R"({
    "model": {"layers": [{"type": "Flatten"}, {"type": "Linear", "in_features": 784, "out_features": 10}]},
    "data": {"dataset": "mnist", "path": ")" + dir.string() + R"("}})"));
  const io::ImageDataset test = load_split(config.data, /*train=*/false);
  auto model = make_model(config, Device::cpu(), sample_shape(test));
  EXPECT_EQ(testing::error_of([&] { check_labels(test, config, false, *model); }),
            "label 12 in " + (dir / "t10k-labels-idx1-ubyte").string() +
                " at index 2 is outside the 10 classes of the last layer (model.layers[1], "
                "Linear(in_features=784, out_features=10, bias=True)); give that layer 13 "
                "outputs or more, or check the data");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace danlu::train
