// qkit/qkit.hpp — the umbrella header: everything qkit offers.
#pragma once

#include "qkit/base/aligned.hpp"
#include "qkit/base/checked.hpp"
#include "qkit/base/config.hpp"
#include "qkit/base/error.hpp"
#include "qkit/base/fp16.hpp"
#include "qkit/cpu/features.hpp"
#include "qkit/cpu/targets.hpp"
#include "qkit/kernels/convert.hpp"
#include "qkit/kernels/dequant.hpp"
#include "qkit/kernels/dot.hpp"
#include "qkit/kernels/registry.hpp"
#include "qkit/quant/format.hpp"
#include "qkit/quant/registry.hpp"
