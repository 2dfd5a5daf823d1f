// qkit/quant/k_quants.hpp — the K-quant formats Q2_K, Q3_K, Q4_K, Q5_K,
// Q6_K and their activation format Q8_K: block structs (k_blocks.hpp) and
// one Codec specialization per format, each in its own header.
//
// All quantizers are scalar references bit-identical to ggml's, with and
// without an importance matrix (imatrix: n per-column weights of the row).
// Rows must hold a multiple of 256 values (qkit::Error otherwise).
//
// Non-finite input (NaN, Inf): the quantizers run the reference's arithmetic
// unchanged; the result is deterministic (the same bytes on every run and
// platform, no undefined behaviour) but meaningless, and only the 256-value
// super-block holding the value is affected. A block whose scale came out
// non-finite is rejected by validate_blocks.
#pragma once

#include "qkit/quant/k_blocks.hpp"
#include "qkit/quant/q2_k.hpp"
#include "qkit/quant/q3_k.hpp"
#include "qkit/quant/q4_k.hpp"
#include "qkit/quant/q5_k.hpp"
#include "qkit/quant/q6_k.hpp"
#include "qkit/quant/q8_k.hpp"
