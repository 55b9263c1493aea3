#pragma once
// Optimizers on the flat parameter vector, with PyTorch's semantics (torch.optim, 1.13):
//  gd    θ ← θ − η (g + λθ)
//  sgd   b ← μ b + (1 − dampening) g'  (b = g' at the first step),  g' = g + λθ;
//        θ ← θ − η (g' + μ b) with Nesterov, θ ← θ − η b without
//  adam  m ← β1 m + (1 − β1) g',  v ← β2 v + (1 − β2) g'²,
//        θ ← θ − (η / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
// λ is the (L2) weight decay; η follows the learning-rate schedule.
#include <string>

#include "condense/core/types.hpp"

namespace condense {

enum class OptimizerKind { gd, sgd, adam };
enum class ScheduleKind { constant, step, cosine };

const char* optimizer_name(OptimizerKind kind);
OptimizerKind parse_optimizer(const std::string& name);  // "gd", "sgd", "adam"
const char* schedule_name(ScheduleKind kind);
ScheduleKind parse_schedule(const std::string& name);    // "constant", "step", "cosine"

struct ScheduleSpec {
  ScheduleKind kind = ScheduleKind::constant;
  long step_size = 1000;    // step: multiply by `factor` every step_size steps (PyTorch StepLR)
  double factor = 0.1;
  long total_steps = 1;     // cosine: T_max (PyTorch CosineAnnealingLR)
  double min_lr = 0.0;      // cosine: eta_min
};

struct OptimizerSpec {
  OptimizerKind kind = OptimizerKind::gd;
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  bool nesterov = false;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0.0;
  ScheduleSpec schedule;

  void validate() const;  // throws InputError naming the key
};

// The learning rate used by optimizer step `step` (0 for the first step).
double learning_rate(const OptimizerSpec& spec, long step);

template <class T>
class Optimizer {
 public:
  Optimizer(OptimizerSpec spec, std::size_t parameter_count);

  // One update of `values` from `grads` (which it does not change).
  void step(Vector<T>& values, const Vector<T>& grads);

  const OptimizerSpec& spec() const { return spec_; }
  long steps_taken() const { return steps_; }
  double current_lr() const { return learning_rate(spec_, steps_); }
  // State for checkpoints: the momentum buffer or Adam's (m, v), and the step count.
  Vector<T>& first_moment() { return first_; }
  Vector<T>& second_moment() { return second_; }
  void set_steps_taken(long steps) { steps_ = steps; }

 private:
  OptimizerSpec spec_;
  Vector<T> first_, second_;
  long steps_ = 0;
};

}  // namespace condense
