#include "condense/nn/weights_io.hpp"

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/core/npy.hpp"

namespace condense {

template <class T>
void save_weights(const ParameterStore<T>& store, const std::filesystem::path& directory) {
  make_directories(directory);
  for (const ParameterInfo& info : store.info())
    write_npy(directory / (info.name + ".npy"), store.values().data() + info.offset, info.shape);
}

template <class T>
void load_weights(ParameterStore<T>& store, const std::filesystem::path& directory) {
  for (int id = 0; id < store.count(); ++id) {
    const ParameterInfo& info = store.info(id);
    const auto path = directory / (info.name + ".npy");
    if (!std::filesystem::exists(path))
      fail_input("{} is missing: the model has a tensor {} of shape {}", path.string(), info.name,
                 shape_string(info.shape));
    const NpyArray array = read_npy(path);
    if (!is_float_type(array.type))
      fail_input("{}: weights must be float32 or float64, not {}", path.string(),
                 npy_type_name(array.type));
    if (array.shape != info.shape)
      fail_input("{} has shape {}, but {} has shape {}", path.string(), shape_string(array.shape),
                 info.name, shape_string(info.shape));
    T* values = store.value(id);
    for (std::size_t i = 0; i < info.size; ++i) values[i] = T(array.values[i]);
  }
}

template void save_weights<float>(const ParameterStore<float>&, const std::filesystem::path&);
template void save_weights<double>(const ParameterStore<double>&, const std::filesystem::path&);
template void load_weights<float>(ParameterStore<float>&, const std::filesystem::path&);
template void load_weights<double>(ParameterStore<double>&, const std::filesystem::path&);

}  // namespace condense
