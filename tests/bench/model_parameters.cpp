// Prints the parameters of the model a training config builds, initialised
// from the config's seed as `danlu train` does, as one JSON object
// {"NAME": {"shape": [...], "mean": m, "std": s}, ...}; the
// bench.side_by_side_models test compares PyTorch's translation with it.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <vector>
#include <nlohmann/json.hpp>

#include "danlu.h"
#include "layers/builder.h"

using namespace danlu;
using nlohmann::json;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CONFIG.json\n", argv[0]);
    return 2;
  }
  std::ifstream in(argv[1]);
  const json config = json::parse(in);
  Generator init(config.value("seed", uint64_t{0}));
  auto model = nn::build_model(config.value("model", json{{"preset", "fashion_cnn"}}), &init);
  json out = json::object();
  for (const auto& [name, p] : model->named_parameters()) {
    const std::vector<double> x = p.to_vector();
    double sum = 0, squares = 0;
    for (double v : x) sum += v;
    const double mean = sum / static_cast<double>(x.size());
    for (double v : x) squares += (v - mean) * (v - mean);
    out[name] = {{"shape", p.shape().vec()},
                 {"mean", mean},
                 {"std", std::sqrt(squares / static_cast<double>(x.size()))}};
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
