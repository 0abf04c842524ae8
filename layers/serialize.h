// State dicts as safetensors files: a model's weights (or any named tensors)
// saved and loaded under their PyTorch-style dotted names. These live in
// layers/ because engine/io must not depend on nn::StateDict.
#pragma once

#include <map>
#include <string>

#include "layers/module.h"

namespace danlu::nn {

// Writes every entry of `dict` in order, crash-safely (see io::save_safetensors).
void save_state_dict(const std::string& path, const StateDict& dict,
                     const std::map<std::string, std::string>& metadata = {});

// Reads a safetensors file (e.g. one written by PyTorch) as a state dict in
// file order, ready for Module::load_state_dict. The metadata is dropped; use
// io::load_safetensors to read it.
StateDict load_state_dict_file(const std::string& path);

}  // namespace danlu::nn
