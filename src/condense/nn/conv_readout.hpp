#pragma once
// The two-layer CNN of docs/science.md §2.1 (conv → activation → flatten → linear readout, the
// readout being the model's last layer) computed one sample at a time, so that the sample's z, h
// and their gradients are produced and consumed while they sit in cache:
//
//   forward,  per sample:  Z = W P + b,  H = σ(Z),  f = A vec(H) + c
//   backward, per sample:  dH = Aᵀ df,  dZ = σ'(Z) ⊙ dH,
//                          dA += df vec(H)ᵀ,  dc += df,  dW += dZ Pᵀ,  db += Σ_q dZ[:, q]
//
// with P the sample's patch matrix (conv2d.hpp). The layers keep their parameters and names;
// only the order of the work changes. dH and dZ never leave the thread's scratch, and neither
// does Z when σ' is a function of H alone (tanh, sigmoid, identity): then the conv layer's output
// is not kept (keeps_z() is false) and the step moves a quarter fewer bytes through memory.
//
// Gradients are summed per chunk of a fixed number of samples, then over chunks in chunk order,
// so results do not depend on the thread count (core/parallel.hpp).
#include <cstdint>
#include <functional>
#include <vector>

#include "condense/nn/conv2d.hpp"
#include "condense/nn/conv_kernels.hpp"
#include "condense/nn/elementwise.hpp"
#include "condense/nn/linear.hpp"

namespace condense {

template <class T>
class ConvReadout {
 public:
  ConvReadout(Conv2d<T>& conv, ActivationLayer<T>& activation, Linear<T>& readout);

  // x: (N, C, H, W) → z: (N, M, Ho, Wo) (written only when keeps_z()), h = σ(z), f: (N, K)
  void forward(ParameterStore<T>& store, const T* x, T* z, T* h, T* f, int N, bool same_input);
  // df: (N, K) → dW: (M, C, k, k) +=, db: (M) +=, dA: (K, M·Ho·Wo) +=, dc: (K) +=
  void backward(ParameterStore<T>& store, const T* x, const T* z, const T* h, const T* df, int N);
  // f only (evaluation): z and h stay in the thread's scratch.
  void predict(ParameterStore<T>& store, const T* x, T* f, int N);
  // Whether the last forward wrote z (the activation's derivative needs it).
  bool keeps_z() const { return keeps_z_; }
  // The bytes of scratch a pass over `batch` samples allocates at the current thread count.
  std::size_t scratch_bytes(int batch) const;

  // dL/df_n: (K) of sample n from its outputs f_n: (K), for a loss that is a sum over samples.
  using OutputGradient = std::function<void(std::int64_t n, const T* f_n, T* df_n)>;
  // forward and backward in one pass over the samples: each sample's z and h never leave the
  // thread's scratch, so the step moves almost nothing through memory. Writes f: (N, K) and
  // df: (N, K) and adds the gradients, with the same bits as forward, output_gradient on every
  // sample, then backward.
  void forward_backward(ParameterStore<T>& store, const T* x, T* f, T* df, int N, bool same_input,
                        const OutputGradient& output_gradient);

 private:
  // One thread's scratch: the sample's padded input or patches, z, h, dh, dz.
  struct Slot {
    T *input, *z, *h, *dh, *dz;
  };
  // The sizes and parameter pointers of one pass over a batch.
  struct Pass {
    int M = 0, K = 0, L = 0, outputs = 0, N = 0;
    std::int64_t ML = 0, KL = 0, conv_size = 0, readout_size = 0, chunk_size = 0, chunks = 0;
    const T *weight = nullptr, *bias = nullptr, *readout = nullptr, *readout_bias = nullptr;
    void begin(ConvReadout& owner, ParameterStore<T>& store, int batch);
  };

  void reserve_scratch();
  Slot slot();
  // Sample n's padded input (direct) or patch matrix, from the kept patches or made in the slot.
  const T* sample_input(const T* x, std::int64_t n, const Slot& s) const;
  // z_n = W·P_n + b, h_n = σ(z_n), f_n = A·h_n + c.
  void sample_forward(const Pass& p, const T* input, T* zn, T* hn, T* fn) const;
  // Adds sample n's gradients into a chunk's partial sums (the first sample of a chunk writes
  // the single-output dA instead of adding).
  // dz: where dZ goes (may be hn itself for a single output and σ' a function of h).
  void sample_backward(const Pass& p, const T* input, const T* zn, const T* hn, const T* dfn,
                       bool first, const Slot& s, T* dz, T* partial) const;
  T* begin_chunk(const Pass& p, std::int64_t c);
  // per_sample(n, first of its chunk, slot, chunk partial) for every sample, chunks in parallel,
  // then the chunks summed into the gradients in order.
  template <class PerSample>
  void over_chunks(const Pass& p, ParameterStore<T>& store, PerSample per_sample);
  void sum_chunks(const Pass& p, ParameterStore<T>& store);

  Conv2d<T>& conv_;
  ActivationLayer<T>& activation_;
  Linear<T>& readout_;
  int slots_ = 0;              // threads the scratch is sized for
  std::size_t slot_size_ = 0;  // elements per thread, a multiple of 64 bytes
  // Per thread: patches or padded input (K·L), z, h, dH, dZ (M·L each), each at a 64-byte
  // boundary, so that a chunk's arithmetic does not depend on which thread's slot it uses.
  std::vector<T, Eigen::aligned_allocator<T>> thread_scratch_;
  std::vector<T> chunk_grads_;  // (chunks, M·K + M + K·M·L + K)
  const T* patches_ = nullptr;  // the conv layer's kept patches of the last forward, or null
  bool keeps_z_ = true;
  bool direct_ = false;       // stride 1: no patch matrix (conv_kernels::multiply_direct)
  std::vector<int> offsets_;  // (K): where patch row d starts in the padded sample
  conv_kernels::DirectPositions positions_;
};

}  // namespace condense
