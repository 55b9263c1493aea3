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
    : conv_(conv), activation_(activation), readout_(readout) {
  keeps_z_ = !activation.activation().derivative_from_output();
  const ConvGeometry& g = conv_.geometry();
  // Stride 1: the patches are read in place from the zero-padded sample (conv_kernels.hpp),
  // which sits in L1 where a patch matrix would not.
  direct_ = g.stride == 1;
  conv_.keep_patches(!direct_);
  if (direct_) {
    offsets_ = direct_offsets(g);
    const int Wp = g.in_width + 2 * g.padding;
    positions_ = conv_kernels::DirectPositions::make<T>(g.out_height(), g.out_width(), Wp);
  }
}

template <class T>
std::size_t ConvReadout<T>::scratch_bytes(int batch) const {
  // As reserve_scratch and Pass::begin size them.
  const ConvGeometry& g = conv_.geometry();
  const std::int64_t M = g.out_channels, K = g.patch_size(), L = g.positions(), ML = M * L;
  const std::int64_t outputs = readout_.output_shape().channels;
  const std::int64_t slot = padded<T>(K * L) + 4 * padded<T>(ML);
  const std::int64_t chunk = M * K + M + outputs * ML + outputs;
  const std::int64_t chunks = (batch + kSamplesPerChunk - 1) / kSamplesPerChunk;
  return std::size_t(thread_count() * slot + chunks * chunk) * sizeof(T);
}

template <class T>
void ConvReadout<T>::reserve_scratch() {
  // Sized when the thread count grows, outside the parallel regions.
  if (thread_count() <= slots_) return;
  slots_ = thread_count();
  const ConvGeometry& g = conv_.geometry();
  const std::int64_t ML = std::int64_t(g.out_channels) * g.positions();
  slot_size_ = padded<T>(std::int64_t(g.patch_size()) * g.positions()) + 4 * padded<T>(ML);
  thread_scratch_.assign(std::size_t(slots_) * slot_size_, T(0));
}

template <class T>
typename ConvReadout<T>::Slot ConvReadout<T>::slot() {
  const ConvGeometry& g = conv_.geometry();
  const std::int64_t ML = std::int64_t(g.out_channels) * g.positions();
  T* base = thread_scratch_.data() + std::size_t(thread_index()) * slot_size_;
  Slot s;
  s.input = base;
  s.z = base + padded<T>(std::int64_t(g.patch_size()) * g.positions());
  s.h = s.z + padded<T>(ML);
  s.dh = s.h + padded<T>(ML);
  s.dz = s.dh + padded<T>(ML);
  return s;
}

template <class T>
void ConvReadout<T>::Pass::begin(ConvReadout& owner, ParameterStore<T>& store, int batch) {
  const ConvGeometry& g = owner.conv_.geometry();
  M = g.out_channels;
  K = g.patch_size();
  L = g.positions();
  outputs = owner.readout_.output_shape().channels;
  ML = std::int64_t(M) * L;
  KL = std::int64_t(K) * L;
  N = batch;
  weight = store.value(owner.conv_.weight_id());
  bias = owner.conv_.has_bias() ? store.value(owner.conv_.bias_id()) : nullptr;
  readout = store.value(owner.readout_.weight_id());
  readout_bias = owner.readout_.has_bias() ? store.value(owner.readout_.bias_id()) : nullptr;
  conv_size = std::int64_t(M) * K;
  readout_size = outputs * ML;
  chunk_size = conv_size + M + readout_size + outputs;
  chunks = (N + kSamplesPerChunk - 1) / kSamplesPerChunk;
}

template <class T>
const T* ConvReadout<T>::sample_input(const T* x, std::int64_t n, const Slot& s) const {
  const ConvGeometry& g = conv_.geometry();
  const T* xn = x + n * conv_.input_shape().size();
  if (direct_) {
    pad_input(g, xn, s.input);
    return s.input;
  }
  const std::int64_t KL = std::int64_t(g.patch_size()) * g.positions();
  if (patches_) return patches_ + n * KL;
  im2col(g, xn, s.input);
  return s.input;
}

template <class T>
void ConvReadout<T>::sample_forward(const Pass& p, const T* input, T* zn, T* hn, T* fn) const {
  if (direct_)
    conv_kernels::multiply_direct<T>(p.M, p.K, positions_, p.weight, offsets_.data(), input, zn,
                                     p.L, p.bias);
  else
    conv_kernels::multiply<T>(p.M, p.K, p.L, p.weight, p.K, 1, input, p.L, zn, p.L, p.bias, false);
  activation_forward(activation_.activation(), zn, hn, std::size_t(p.ML));
  VectorMap<T> out(fn, p.outputs);
  out.noalias() = ConstMatrixMap<T>(p.readout, p.outputs, p.ML) * ConstVectorMap<T>(hn, p.ML);
  if (p.readout_bias) out += ConstVectorMap<T>(p.readout_bias, p.outputs);
}

template <class T>
void ConvReadout<T>::sample_backward(const Pass& p, const T* input, const T* zn, const T* hn,
                                     const T* dfn, bool first, const Slot& s, T* dz,
                                     T* partial) const {
  const Activation& activation = activation_.activation();
  MatrixMap<T> dW(partial, p.M, p.K);
  VectorMap<T> db(partial + p.conv_size, p.M);
  MatrixMap<T> dA(partial + p.conv_size + p.M, p.outputs, p.ML);
  VectorMap<T> dc(partial + p.conv_size + p.M + p.readout_size, p.outputs);
  if (p.outputs == 1) {
    // dH = a·df, dZ = σ'(Z) ⊙ dH and dA += df·H in one sweep over the sample.
    activation_backward_readout(activation, zn, hn, p.readout, dfn[0], dz, dA.data(), first,
                                std::size_t(p.ML));
  } else {
    ConstVectorMap<T> df(dfn, p.outputs);
    VectorMap<T>(s.dh, p.ML).noalias() =
        ConstMatrixMap<T>(p.readout, p.outputs, p.ML).transpose() * df;
    activation_backward(activation, zn, hn, s.dh, dz, std::size_t(p.ML));
    dA.noalias() += df * ConstVectorMap<T>(hn, p.ML).transpose();
  }
  dc += ConstVectorMap<T>(dfn, p.outputs);
  if (direct_)
    conv_kernels::multiply_add_transposed_direct<T>(p.M, p.K, positions_, p.L, dz, offsets_.data(),
                                                    input, dW.data());
  else
    conv_kernels::multiply_add_transposed<T>(p.M, p.K, p.L, dz, p.L, input, p.L, dW.data(), p.K);
  if (conv_.has_bias())
    for (int m = 0; m < p.M; ++m) {
      const T* row = dz + std::int64_t(m) * p.L;
      T sum = 0;
      for (int q = 0; q < p.L; ++q) sum += row[q];
      db[m] += sum;
    }
}

template <class T>
T* ConvReadout<T>::begin_chunk(const Pass& p, std::int64_t c) {
  T* partial = chunk_grads_.data() + c * p.chunk_size;
  // A single output writes its dA partial at the chunk's first sample; only the rest is zeroed.
  std::fill(partial, partial + p.conv_size + p.M, T(0));
  std::fill(partial + p.conv_size + p.M + (p.outputs == 1 ? p.readout_size : 0),
            partial + p.chunk_size, T(0));
  return partial;
}

template <class T>
void ConvReadout<T>::sum_chunks(const Pass& p, ParameterStore<T>& store) {
  // Sum the chunks in order, each segment into its gradient.
  auto sum = [&](std::int64_t offset, std::int64_t size, T* grad) {
    parallel_blocks(
        size, 4096,
        [&](std::int64_t begin, std::int64_t stop) {
          for (std::int64_t c = 0; c < p.chunks; ++c) {
            const T* partial = chunk_grads_.data() + c * p.chunk_size + offset;
            for (std::int64_t i = begin; i < stop; ++i) grad[i] += partial[i];
          }
        },
        p.chunks * size);
  };
  sum(0, p.conv_size, store.grad(conv_.weight_id()));
  if (conv_.has_bias()) sum(p.conv_size, p.M, store.grad(conv_.bias_id()));
  sum(p.conv_size + p.M, p.readout_size, store.grad(readout_.weight_id()));
  if (readout_.has_bias())
    sum(p.conv_size + p.M + p.readout_size, p.outputs, store.grad(readout_.bias_id()));
}

template <class T>
void ConvReadout<T>::forward(ParameterStore<T>& store, const T* x, T* z, T* h, T* f, int N,
                             bool same_input) {
  reserve_scratch();
  patches_ = direct_ ? nullptr : conv_.batch_patches(x, N, same_input);
  Pass p;
  p.begin(*this, store, N);
  parallel_for(
      N,
      [&](std::int64_t n) {
        const Slot s = slot();
        // z stays in the thread's scratch unless backward needs it (σ' not a function of h).
        sample_forward(p, sample_input(x, n, s), keeps_z_ ? z + n * p.ML : s.z, h + n * p.ML,
                       f + n * p.outputs);
      },
      std::int64_t(N) * p.M * p.K * p.L);
}

template <class T>
void ConvReadout<T>::predict(ParameterStore<T>& store, const T* x, T* f, int N) {
  reserve_scratch();
  patches_ = nullptr;  // each sample's patches, when needed, are made in its slot
  Pass p;
  p.begin(*this, store, N);
  parallel_for(
      N,
      [&](std::int64_t n) {
        const Slot s = slot();
        sample_forward(p, sample_input(x, n, s), s.z, s.h, f + n * p.outputs);
      },
      std::int64_t(N) * p.M * p.K * p.L);
}

template <class T>
template <class PerSample>
void ConvReadout<T>::over_chunks(const Pass& p, ParameterStore<T>& store, PerSample per_sample) {
  if (chunk_grads_.size() < std::size_t(p.chunks * p.chunk_size))
    chunk_grads_.resize(std::size_t(p.chunks * p.chunk_size));
  parallel_for(
      p.chunks,
      [&](std::int64_t c) {
        const Slot s = slot();
        T* partial = begin_chunk(p, c);
        const std::int64_t begin = c * kSamplesPerChunk;
        const std::int64_t end = std::min<std::int64_t>(p.N, begin + kSamplesPerChunk);
        for (std::int64_t n = begin; n < end; ++n) per_sample(n, n == begin, s, partial);
      },
      std::int64_t(p.N) * p.M * p.K * p.L);
  sum_chunks(p, store);
}

template <class T>
void ConvReadout<T>::backward(ParameterStore<T>& store, const T* x, const T* z, const T* h,
                              const T* df, int N) {
  reserve_scratch();
  Pass p;
  p.begin(*this, store, N);
  over_chunks(p, store, [&](std::int64_t n, bool first, const Slot& s, T* partial) {
    sample_backward(p, sample_input(x, n, s), keeps_z_ ? z + n * p.ML : nullptr, h + n * p.ML,
                    df + n * p.outputs, first, s, s.dz, partial);
  });
}

template <class T>
void ConvReadout<T>::forward_backward(ParameterStore<T>& store, const T* x, T* f, T* df, int N,
                                      bool same_input, const OutputGradient& output_gradient) {
  reserve_scratch();
  patches_ = direct_ ? nullptr : conv_.batch_patches(x, N, same_input);
  Pass p;
  p.begin(*this, store, N);
  const bool in_place = !keeps_z_ && p.outputs == 1;
  // Each sample goes forward and straight back while its z and h sit in the thread's scratch:
  // the same chunks, the same order of sums, hence the same bits as forward() then backward().
  over_chunks(p, store, [&](std::int64_t n, bool first, const Slot& s, T* partial) {
    const T* input = sample_input(x, n, s);
    T* fn = f + n * p.outputs;
    T* dfn = df + n * p.outputs;
    if (in_place) {
      // One buffer holds z, then h (σ computed in place), then dz (the sweep reads h[i] before it
      // writes dz[i]): a third of the cache footprint.
      sample_forward(p, input, s.z, s.z, fn);
      output_gradient(n, fn, dfn);
      sample_backward(p, input, nullptr, s.z, dfn, first, s, s.z, partial);
    } else {
      sample_forward(p, input, s.z, s.h, fn);
      output_gradient(n, fn, dfn);
      sample_backward(p, input, keeps_z_ ? s.z : nullptr, s.h, dfn, first, s, s.dz, partial);
    }
  });
}

template class ConvReadout<float>;
template class ConvReadout<double>;

}  // namespace condense
