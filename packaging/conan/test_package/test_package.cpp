// The smallest check that an installed qkit works: detect the CPU, run a
// dispatched kernel, compare with a plain loop.
#include <qkit/qkit.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  std::vector<float> a(257), b(257);
  double ref = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = std::sin(float(i));
    b[i] = std::cos(float(i));
    ref += double(a[i]) * b[i];
  }
  const float got = qkit::dot_f32(a.data(), b.data(), a.size());
  std::printf("qkit %s on %s: dot %.5f (expected %.5f)\n", QKIT_VERSION_STRING,
              qkit::cpu::target_name(qkit::cpu::chosen_target()), got, ref);
  return std::fabs(got - ref) < 1e-3 ? 0 : 1;
}
