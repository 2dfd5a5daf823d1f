// qkit/kernels/all-inl.h — the single HWY_TARGET_INCLUDE of qkit.
//
// Highway's foreach_target.h has an include guard: a translation unit gets
// exactly one pass over the targets. So every per-target file of qkit is
// reached from here, and instantiate.hpp runs that one pass. A new kernel
// family adds its -inl.h here and its entry points to entry_points.hpp.
#include "qkit/kernels/common-inl.h"
#include "qkit/kernels/convert-inl.h"
#include "qkit/kernels/dequant-inl.h"
#include "qkit/kernels/dot-inl.h"
#include "qkit/kernels/math-inl.h"
#include "qkit/kernels/norm-inl.h"
#include "qkit/kernels/rope-inl.h"
#include "qkit/kernels/activation-inl.h"
#include "qkit/kernels/attention-inl.h"
#include "qkit/kernels/quantize_act-inl.h"
#include "qkit/kernels/matmul-inl.h"
