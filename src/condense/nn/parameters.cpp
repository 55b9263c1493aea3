#include "condense/nn/parameters.hpp"

#include <numeric>
#include <stdexcept>

namespace condense {

template <class T>
int ParameterStore<T>::add(const std::string& layer, bool is_bias, std::vector<std::int64_t> shape,
                           int fan_in, int fan_out) {
  if (allocated_) throw std::logic_error("ParameterStore::add after allocate");
  ParameterInfo info;
  info.name = layer + (is_bias ? ".bias" : ".weight");
  info.layer = layer;
  info.is_bias = is_bias;
  info.size = std::size_t(
      std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>()));
  info.shape = std::move(shape);
  info.offset = info_.empty() ? 0 : info_.back().offset + info_.back().size;
  info.fan_in = fan_in;
  info.fan_out = fan_out;
  info_.push_back(std::move(info));
  return int(info_.size()) - 1;
}

template <class T>
void ParameterStore<T>::allocate() {
  const std::size_t total = declared_size();
  values_ = Vector<T>::Zero(Eigen::Index(total));
  grads_ = Vector<T>::Zero(Eigen::Index(total));
  allocated_ = true;
}

template <class T>
int ParameterStore<T>::find(std::string_view name) const {
  for (std::size_t i = 0; i < info_.size(); ++i)
    if (info_[i].name == name) return int(i);
  return -1;
}

template class ParameterStore<float>;
template class ParameterStore<double>;

}  // namespace condense
