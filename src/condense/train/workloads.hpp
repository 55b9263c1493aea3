#pragma once
// The benchmark workloads: fixed models, random data and optimizers that the benchmark
// (cli/bench_command.cpp, bench/compare_pytorch.py) and the tests share. All train full-batch.
//
//  W1  two-layer CNN (docs/science.md §2.1): 500 inputs (3, 32, 32), 32 kernels 3×3, stride 1,
//      padding 1, no bias, tanh, linear readout to 1 output; MSE, GD; float32.
//  W2  CNN: conv 3→32 (stride 1), 32→32 (stride 2), 32→32 (stride 2), all 3×3 padding 1 with
//      bias, tanh; FC 2048→256 tanh → 10; cross-entropy, Adam; 500 inputs (3, 32, 32); float32.
//  W3  FC 784→1024 tanh → 1, n = 1000, MSE, GD; float32.
//  W4  W1 in float64.
#include <cstdint>
#include <string>
#include <vector>

#include "condense/core/types.hpp"
#include "condense/nn/init.hpp"
#include "condense/nn/model_spec.hpp"
#include "condense/train/loss.hpp"
#include "condense/train/optimizer.hpp"

namespace condense {

struct Workload {
  std::string name;         // "W1"
  std::string description;  // one line
  ModelSpec model;
  LossKind loss = LossKind::mse;
  OptimizerSpec optimizer;
  InitConfig init;
  int samples = 0;  // N, the whole batch
  Dtype dtype = Dtype::float32;
  std::uint64_t seed = 1;
};

// "W1" … "W4"; throws InputError naming the value and listing the known names.
Workload workload_by_name(const std::string& name);
std::vector<std::string> workload_names();

// The random data of a workload: inputs x ~ N(0, 1): (N, C, H, W); for MSE, targets y ~ N(0, 1):
// (N, outputs); for cross-entropy, labels uniform in [0, outputs): (N). Drawn in double from the
// workload's seed, then rounded, so float32 and float64 runs see the same numbers.
template <class T>
struct WorkloadData {
  std::vector<T> inputs;
  std::vector<T> targets;
  std::vector<int> labels;
};

template <class T>
WorkloadData<T> make_workload_data(const Workload& workload);

// FLOPs of one training step's matrix products, by formula (2 per multiply-add): for every conv
// and linear layer, the forward product plus the weight-gradient product, plus the input-gradient
// product for every layer but the first (whose input needs no gradient). Activations, losses and
// the optimizer update are not counted.
double training_step_flops(const ModelSpec& model, int samples);

}  // namespace condense
