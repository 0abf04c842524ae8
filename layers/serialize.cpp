// State dicts to and from safetensors files.
#include "layers/serialize.h"

#include "engine/io/safetensors.h"

namespace danlu::nn {

void save_state_dict(const std::string& path, const StateDict& dict,
                     const std::map<std::string, std::string>& metadata) {
  io::save_safetensors(path, dict.items(), metadata);
}

StateDict load_state_dict_file(const std::string& path) {
  StateDict dict;
  for (auto& [name, tensor] : io::load_safetensors(path).tensors) dict.insert(name, tensor);
  return dict;
}

}  // namespace danlu::nn
