// Built against an installed qkit with no -m flags: prints the target the
// dispatched kernels chose and checks a dispatched kernel's result.
#include <qkit/qkit.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  std::vector<float> a(1000), b(1000);
  double ref = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = float(i % 7) - 3.0f;
    b[i] = float(i % 5) * 0.5f;
    ref += double(a[i]) * b[i];
  }
  const float got = qkit::dot_f32(a.data(), b.data(), a.size());
  std::printf("target %s dot %.1f\n", qkit::cpu::target_name(qkit::cpu::chosen_target()), got);
  return std::fabs(got - ref) < 1e-3 ? 0 : 1;
}
