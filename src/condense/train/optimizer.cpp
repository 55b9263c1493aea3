#include "condense/train/optimizer.hpp"

#include <cmath>
#include <numbers>

#include "condense/core/error.hpp"
#include "condense/core/parallel.hpp"

namespace condense {

namespace {
constexpr std::int64_t kUpdateBlock = 16384;
}

const char* optimizer_name(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::gd: return "gd";
    case OptimizerKind::sgd: return "sgd";
    case OptimizerKind::adam: return "adam";
  }
  return "";
}

OptimizerKind parse_optimizer(const std::string& name) {
  if (name == "gd") return OptimizerKind::gd;
  if (name == "sgd") return OptimizerKind::sgd;
  if (name == "adam") return OptimizerKind::adam;
  fail_input("optimizer \"{}\" is not known; expected one of gd, sgd, adam", name);
}

const char* schedule_name(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::constant: return "constant";
    case ScheduleKind::step: return "step";
    case ScheduleKind::cosine: return "cosine";
  }
  return "";
}

ScheduleKind parse_schedule(const std::string& name) {
  if (name == "constant") return ScheduleKind::constant;
  if (name == "step") return ScheduleKind::step;
  if (name == "cosine") return ScheduleKind::cosine;
  fail_input("schedule \"{}\" is not known; expected one of constant, step, cosine", name);
}

void OptimizerSpec::validate() const {
  if (!(lr > 0) || !std::isfinite(lr)) fail_input("train.lr must be a positive number, got {}", lr);
  if (!(momentum >= 0 && momentum < 1))
    fail_input("train.momentum must be in [0, 1), got {}", momentum);
  if (nesterov && (momentum <= 0 || dampening != 0))
    fail_input("train.nesterov needs train.momentum > 0 and no dampening");
  if (!(beta1 >= 0 && beta1 < 1)) fail_input("train.betas[0] must be in [0, 1), got {}", beta1);
  if (!(beta2 >= 0 && beta2 < 1)) fail_input("train.betas[1] must be in [0, 1), got {}", beta2);
  if (!(eps > 0)) fail_input("train.eps must be positive, got {}", eps);
  if (!(weight_decay >= 0) || !std::isfinite(weight_decay)) fail_input("train.weight_decay must be 0 or more, got {}", weight_decay);
  if (schedule.kind == ScheduleKind::step && schedule.step_size <= 0)
    fail_input("train.step_size must be at least 1, got {}", schedule.step_size);
  if (schedule.kind == ScheduleKind::cosine && schedule.total_steps <= 0)
    fail_input("the cosine schedule needs at least one step, got {}", schedule.total_steps);
}

double learning_rate(const OptimizerSpec& spec, long step) {
  const ScheduleSpec& s = spec.schedule;
  switch (s.kind) {
    case ScheduleKind::constant: return spec.lr;
    case ScheduleKind::step: return spec.lr * std::pow(s.factor, double(step / s.step_size));
    case ScheduleKind::cosine: {
      const double t = double(std::min(step, s.total_steps)) / double(s.total_steps);
      return s.min_lr + (spec.lr - s.min_lr) * (1.0 + std::cos(std::numbers::pi * t)) / 2.0;
    }
  }
  return spec.lr;
}

template <class T>
Optimizer<T>::Optimizer(OptimizerSpec spec, std::size_t parameter_count) : spec_(spec) {
  spec_.validate();
  const auto n = Eigen::Index(parameter_count);
  if (spec_.kind == OptimizerKind::sgd && spec_.momentum > 0) first_ = Vector<T>::Zero(n);
  if (spec_.kind == OptimizerKind::adam) {
    first_ = Vector<T>::Zero(n);
    second_ = Vector<T>::Zero(n);
  }
}

template <class T>
void Optimizer<T>::step(Vector<T>& values, const Vector<T>& grads) {
  const T lr = T(learning_rate(spec_, steps_));
  const T wd = T(spec_.weight_decay);
  const long t = ++steps_;
  T* theta = values.data();
  const T* g = grads.data();
  switch (spec_.kind) {
    case OptimizerKind::gd:
      parallel_blocks(values.size(), kUpdateBlock, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) theta[i] -= lr * (g[i] + wd * theta[i]);
      }, values.size());
      break;
    case OptimizerKind::sgd: {
      const T mu = T(spec_.momentum), keep = T(1) - T(spec_.dampening);
      const bool first_step = t == 1, nesterov = spec_.nesterov, has_momentum = mu > T(0);
      T* buffer = first_.data();
      parallel_blocks(values.size(), kUpdateBlock, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) {
          T d = g[i] + wd * theta[i];
          if (has_momentum) {
            buffer[i] = first_step ? d : mu * buffer[i] + keep * d;
            d = nesterov ? d + mu * buffer[i] : buffer[i];
          }
          theta[i] -= lr * d;
        }
      }, 2 * values.size());
      break;
    }
    case OptimizerKind::adam: {
      const T b1 = T(spec_.beta1), b2 = T(spec_.beta2), eps = T(spec_.eps);
      const T correction1 = T(1) - T(std::pow(spec_.beta1, double(t)));
      const T correction2_sqrt = T(std::sqrt(1.0 - std::pow(spec_.beta2, double(t))));
      const T step_size = lr / correction1;
      T* m = first_.data();
      T* v = second_.data();
      parallel_blocks(values.size(), kUpdateBlock, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) {
          const T d = g[i] + wd * theta[i];
          m[i] = m[i] * b1 + d * (T(1) - b1);
          v[i] = v[i] * b2 + d * d * (T(1) - b2);
          theta[i] -= step_size * (m[i] / (std::sqrt(v[i]) / correction2_sqrt + eps));
        }
      }, 8 * values.size());
      break;
    }
  }
}

template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace condense
