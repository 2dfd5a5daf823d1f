// qkit/quant/k_quants.hpp — the K-quant formats Q2_K, Q3_K, Q4_K, Q5_K,
// Q6_K and their activation format Q8_K: block structs (k_blocks.hpp) and
// one Codec specialization per format, each in its own header.
//
// All quantizers are scalar references bit-identical to ggml's, with and
// without an importance matrix (imatrix: n per-column weights of the row).
// Rows must hold a multiple of 256 values (qkit::Error otherwise).
//
// Non-finite input (codec.hpp's rule): the weight quantizers (Q2_K..Q6_K)
// throw qkit::Error naming the element; Q8_K's quantizer, which serves
// activations, never throws: a block holding NaN/Inf gets d = NaN and zero
// quants and sums, so a dot product with it is NaN. validate_blocks rejects
// NaN/Inf scales, naming the block.
#pragma once

#include "qkit/quant/k_blocks.hpp"
#include "qkit/quant/q2_k.hpp"
#include "qkit/quant/q3_k.hpp"
#include "qkit/quant/q4_k.hpp"
#include "qkit/quant/q5_k.hpp"
#include "qkit/quant/q6_k.hpp"
#include "qkit/quant/q8_k.hpp"
