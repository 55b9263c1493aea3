#include <gtest/gtest.h>

#include "condense/nn/model.hpp"
#include "condense/nn/init.hpp"

TEST(Smoke, Builds) {
  condense::ModelSpec spec;
  spec.input = {3, 8, 8};
  spec.conv = {{4, 3, 1, 1}};
  spec.activations = {condense::parse_activation("tanh")};
  condense::Model<double> model(spec);
  condense::InitConfig init;
  init.all.std = 0.1;
  condense::initialize(model.parameters(), init, 1);
  std::vector<double> x(2 * 3 * 8 * 8, 0.5);
  const double* f = model.forward(x.data(), 2);
  EXPECT_TRUE(std::isfinite(f[0]));
}
