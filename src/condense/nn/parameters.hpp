#pragma once
// All of a model's parameters in one flat buffer, their gradients in a second one of the same
// layout, and named views into both. Optimizers, checkpoints and the condensation analysis work on
// the flat vectors; the list of parameters is written once, by the layers that declare them.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "condense/core/types.hpp"

namespace condense {

struct ParameterInfo {
  std::string name;                  // PyTorch's: "conv1.weight", "fc2.bias"
  std::string layer;                 // "conv1"
  bool is_bias = false;
  std::vector<std::int64_t> shape;   // conv weight (M, C, k, k), linear weight (out, in), bias (out)
  std::size_t offset = 0;            // into values() and grads()
  std::size_t size = 0;
  int fan_in = 0;                    // of the layer: C·k·k or in
  int fan_out = 0;                   // M·k·k or out
};

template <class T>
class ParameterStore {
 public:
  // Declares a tensor; only before allocate(). Returns its id.
  int add(const std::string& layer, bool is_bias, std::vector<std::int64_t> shape, int fan_in,
          int fan_out);
  // Allocates both buffers, zeroed. Pointers stay valid for the store's lifetime.
  void allocate();

  std::size_t size() const { return values_.size(); }
  // The values declared so far: size() once allocated, and before it.
  std::size_t declared_size() const {
    return info_.empty() ? 0 : info_.back().offset + info_.back().size;
  }
  int count() const { return int(info_.size()); }
  const ParameterInfo& info(int id) const { return info_[std::size_t(id)]; }
  const std::vector<ParameterInfo>& info() const { return info_; }
  int find(std::string_view name) const;  // -1 when absent

  T* value(int id) { return values_.data() + info_[std::size_t(id)].offset; }
  const T* value(int id) const { return values_.data() + info_[std::size_t(id)].offset; }
  T* grad(int id) { return grads_.data() + info_[std::size_t(id)].offset; }
  const T* grad(int id) const { return grads_.data() + info_[std::size_t(id)].offset; }

  Vector<T>& values() { return values_; }
  const Vector<T>& values() const { return values_; }
  Vector<T>& grads() { return grads_; }
  const Vector<T>& grads() const { return grads_; }

  void zero_grad() { grads_.setZero(); }

 private:
  std::vector<ParameterInfo> info_;
  Vector<T> values_;
  Vector<T> grads_;
  bool allocated_ = false;
};

}  // namespace condense
