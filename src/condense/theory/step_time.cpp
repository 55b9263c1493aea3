#include "condense/theory/step_time.hpp"

#include <fmt/format.h>

namespace condense {

StepTime step_time(const TrainConfig& train) {
  const OptimizerSpec& o = train.optimizer;
  StepTime result;
  std::string rule;
  switch (o.kind) {
    case OptimizerKind::gd:
      result.step_lr = o.lr;
      result.plain_steps = true;
      rule = "gd: t = η·step";
      break;
    case OptimizerKind::sgd:
      if (o.momentum > 0.0) {
        // The momentum buffer sums past gradients with weights μ^j: once it has filled (after
        // ~1/(1−μ) steps) a slowly changing gradient moves θ by η/(1−μ) per step.
        result.step_lr = o.lr / (1.0 - o.momentum);
        rule = fmt::format(
            "sgd with momentum μ = {}: t ≈ η/(1−μ)·step once the momentum buffer has "
            "filled",
            o.momentum);
      } else {
        result.step_lr = o.lr;
        result.plain_steps = true;
        rule = "sgd: t = η·step";
      }
      if (train.batch_size > 0)
        rule += fmt::format(
            "; mini-batches of {}: the expected step follows the full-batch "
            "gradient",
            train.batch_size);
      break;
    case OptimizerKind::adam:
      result.step_lr.reset();
      rule =
          "adam normalizes each step by the gradient's running RMS, so its steps are not "
          "gradient-flow time; only times are predicted";
      break;
  }
  if (result.step_lr && o.schedule.kind != ScheduleKind::constant)
    rule += fmt::format("; the {} schedule changes η later, the initial η is used",
                        schedule_name(o.schedule.kind));
  result.rule = rule;
  return result;
}

}  // namespace condense
