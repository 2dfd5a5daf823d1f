// The one translation unit of qkit's own programs that compiles the kernels
// for every target (QKIT_KERNELS_EXTERN mode, see qkit/kernels/tables.hpp).
#include "qkit/kernels/instantiate.hpp"
