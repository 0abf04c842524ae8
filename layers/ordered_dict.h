// OrderedDict: string keys kept in insertion order with lookup by key, the
// shape of PyTorch's state_dict() and named_parameters() results.
#pragma once

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/error.h"

namespace danlu::nn {

template <class V>
class OrderedDict {
 public:
  using Item = std::pair<std::string, V>;

  OrderedDict() = default;
  OrderedDict(std::initializer_list<Item> items) {
    for (const Item& item : items) insert(item.first, item.second);
  }

  // Appends a new key; a key that is already present is an error.
  V& insert(std::string key, V value) {
    DANLU_CHECK(!contains(key), "OrderedDict: key '", key, "' is already present");
    index_.emplace(key, items_.size());
    items_.emplace_back(std::move(key), std::move(value));
    return items_.back().second;
  }

  const V* find(const std::string& key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].second;
  }
  V* find(const std::string& key) {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].second;
  }
  bool contains(const std::string& key) const { return index_.count(key) != 0; }

  const V& operator[](const std::string& key) const {
    const V* value = find(key);
    DANLU_CHECK(value, "OrderedDict: no key '", key, "'");
    return *value;
  }
  V& operator[](const std::string& key) {
    return const_cast<V&>(static_cast<const OrderedDict&>(*this)[key]);
  }

  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  const std::vector<Item>& items() const { return items_; }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const Item& item : items_) out.push_back(item.first);
    return out;
  }
  std::vector<V> values() const {
    std::vector<V> out;
    for (const Item& item : items_) out.push_back(item.second);
    return out;
  }

 private:
  std::vector<Item> items_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace danlu::nn
