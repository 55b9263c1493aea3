#include "condense/nn/conv_readout.hpp"

#include "condense/core/parallel.hpp"
#include "condense/nn/conv_kernels.hpp"

namespace condense {

namespace {

// Samples per chunk of the backward pass: fixed, so that the order of the gradient sums does not
// depend on the thread count. Each chunk keeps a partial readout gradient of M·L values per
// output, so chunks are larger than the conv layer's.
constexpr int kSamplesPerChunk = 8;

// n rounded up to a whole number of 64-byte lines.
template <class T>
std::size_t padded(std::int64_t n) {
  constexpr std::int64_t line = 64 / sizeof(T);
  return std::size_t((n + line - 1) / line * line);
}

}  // namespace

template <class T>
ConvReadout<T>::ConvReadout(Conv2d<T>& conv, ActivationLayer<T>& activation, Linear<T>& readout)
    : conv_(conv), activation_(activation), readout_(readout) {}

template <class T>
void ConvReadout<T>::reserve_scratch() {
  // Sized when the thread count grows, outside the parallel regions.
  if (thread_count() <= slots_) return;
  slots_ = thread_count();
  const ConvGeometry& g = conv_.geometry();
  slot_size_ = padded<T>(std::int64_t(g.patch_size()) * g.positions()) +
               2 * padded<T>(std::int64_t(g.out_channels) * g.positions());
  thread_scratch_.assign(std::size_t(slots_) * slot_size_, T(0));
}

template <class T>
void ConvReadout<T>::forward(ParameterStore<T>& store, const T* x, T* z, T* h, T* f, int N,
                             bool same_input) {
  reserve_scratch();
  const ConvGeometry& g = conv_.geometry();
  const int M = g.out_channels, K = g.patch_size(), L = g.positions();
  const int outputs = readout_.output_shape().channels;
  const std::int64_t ML = std::int64_t(M) * L, KL = std::int64_t(K) * L;
  patches_ = conv_.batch_patches(x, N, same_input);
  const T* weight = store.value(conv_.weight_id());
  ConstMatrixMap<T> readout(store.value(readout_.weight_id()), outputs, ML);
  const T* bias = conv_.has_bias() ? store.value(conv_.bias_id()) : nullptr;
  const T* readout_bias = readout_.has_bias() ? store.value(readout_.bias_id()) : nullptr;
  const Activation& activation = activation_.activation();
  parallel_for(N, [&](std::int64_t n) {
    const T* patches = patches_ ? patches_ + n * KL : nullptr;
    if (!patches) {
      T* scratch = thread_scratch_.data() + std::size_t(thread_index()) * slot_size_;
      im2col(g, x + n * conv_.input_shape().size(), scratch);
      patches = scratch;
    }
    conv_kernels::multiply<T>(M, K, L, weight, K, 1, patches, L, z + n * ML, L, bias, false);
    activation_forward(activation, z + n * ML, h + n * ML, std::size_t(ML));
    VectorMap<T> out(f + n * outputs, outputs);
    out.noalias() = readout * ConstVectorMap<T>(h + n * ML, ML);
    if (readout_bias) out += ConstVectorMap<T>(readout_bias, outputs);
  }, std::int64_t(N) * M * K * L);
}

template <class T>
void ConvReadout<T>::backward(ParameterStore<T>& store, const T* x, const T* z, const T* h,
                              const T* df, int N) {
  reserve_scratch();
  const ConvGeometry& g = conv_.geometry();
  const int M = g.out_channels, K = g.patch_size(), L = g.positions();
  const int outputs = readout_.output_shape().channels;
  const std::int64_t ML = std::int64_t(M) * L, KL = std::int64_t(K) * L;
  // One chunk's partial gradients: conv weight, conv bias, readout weight, readout bias.
  const std::int64_t conv_size = std::int64_t(M) * K, readout_size = outputs * ML;
  const std::int64_t chunk_size = conv_size + M + readout_size + outputs;
  const std::int64_t chunks = (N + kSamplesPerChunk - 1) / kSamplesPerChunk;
  if (chunk_grads_.size() < std::size_t(chunks * chunk_size))
    chunk_grads_.resize(std::size_t(chunks * chunk_size));
  ConstMatrixMap<T> readout(store.value(readout_.weight_id()), outputs, ML);
  const Activation& activation = activation_.activation();
  parallel_for(chunks, [&](std::int64_t c) {
    T* scratch = thread_scratch_.data() + std::size_t(thread_index()) * slot_size_;
    T* dh = scratch + padded<T>(KL);
    T* dz = dh + padded<T>(ML);
    T* partial = chunk_grads_.data() + c * chunk_size;
    MatrixMap<T> dW(partial, M, K);
    VectorMap<T> db(partial + conv_size, M);
    MatrixMap<T> dA(partial + conv_size + M, outputs, ML);
    VectorMap<T> dc(partial + conv_size + M + readout_size, outputs);
    std::fill(partial, partial + chunk_size, T(0));
    const std::int64_t end = std::min<std::int64_t>(N, (c + 1) * kSamplesPerChunk);
    for (std::int64_t n = c * kSamplesPerChunk; n < end; ++n) {
      ConstVectorMap<T> dfn(df + n * outputs, outputs);
      ConstVectorMap<T> hn(h + n * ML, ML);
      VectorMap<T>(dh, ML).noalias() = readout.transpose() * dfn;
      activation_backward(activation, z + n * ML, h + n * ML, dh, dz, std::size_t(ML));
      dA.noalias() += dfn * hn.transpose();
      dc += dfn;
      const T* patches = patches_ ? patches_ + n * KL : nullptr;
      if (!patches) {
        im2col(g, x + n * conv_.input_shape().size(), scratch);
        patches = scratch;
      }
      conv_kernels::multiply_add_transposed<T>(M, K, L, dz, L, patches, L, dW.data(), K);
      if (conv_.has_bias())
        for (int m = 0; m < M; ++m) {
          const T* row = dz + std::int64_t(m) * L;
          T sum = 0;
          for (int q = 0; q < L; ++q) sum += row[q];
          db[m] += sum;
        }
    }
  }, std::int64_t(N) * M * K * L);

  // Sum the chunks in order, each segment into its gradient.
  auto sum_chunks = [&](std::int64_t offset, std::int64_t size, T* grad) {
    parallel_blocks(size, 4096, [&](std::int64_t begin, std::int64_t stop) {
      for (std::int64_t c = 0; c < chunks; ++c) {
        const T* partial = chunk_grads_.data() + c * chunk_size + offset;
        for (std::int64_t i = begin; i < stop; ++i) grad[i] += partial[i];
      }
    }, chunks * size);
  };
  sum_chunks(0, conv_size, store.grad(conv_.weight_id()));
  if (conv_.has_bias()) sum_chunks(conv_size, M, store.grad(conv_.bias_id()));
  sum_chunks(conv_size + M, readout_size, store.grad(readout_.weight_id()));
  if (readout_.has_bias())
    sum_chunks(conv_size + M + readout_size, outputs, store.grad(readout_.bias_id()));
}

template class ConvReadout<float>;
template class ConvReadout<double>;

}  // namespace condense
