// Loading reference vectors from JSON.
#include "tests/support/reference.h"

#include <fstream>

namespace danlu::testing {

nlohmann::json load_reference(const std::string& name) {
  const std::string path = std::string(DANLU_REFERENCE_DIR) + "/" + name;
  std::ifstream in(path);
  DANLU_CHECK(in, "reference vectors ", path, " not found; regenerate them with ",
              "tests/reference/make_vectors.py");
  return nlohmann::json::parse(in);
}

Tensor tensor_from_json(const nlohmann::json& j, DType dtype) {
  std::vector<int64_t> shape = j.at("shape").get<std::vector<int64_t>>();
  if (dtype == DType::i64)
    return Tensor::from_vector(j.at("data").get<std::vector<int64_t>>(), Shape(shape));
  return Tensor::from_vector(j.at("data").get<std::vector<double>>(), Shape(shape), dtype);
}

}  // namespace danlu::testing
