// qkit/kernels/attention-inl.h — per-target flash attention over the KV
// cache: one task = one KV head x one tile of queries, with every query
// head of that KV head's group (grouped-query attention), so each K/V tile
// is converted to f32 once and used by all of the task's rows.
//
// Per tile of kAttnKvTile keys: scores for the keys a row may see, the
// online softmax update (running max m, running sum l, accumulator scaled
// by e^(m_old - m_new)), then accumulator += P V. Keys a row may not see
// are never scored or summed (their weight is exactly zero), tiles that no
// row sees are skipped, and the n_q x n_kv score matrix never exists:
// scratch is O(rows x (head_dim + kAttnKvTile) + kAttnKvTile x head_dim).
#if defined(QKIT_KERNELS_ATTENTION_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_ATTENTION_INL_H_
#undef QKIT_KERNELS_ATTENTION_INL_H_
#else
#define QKIT_KERNELS_ATTENTION_INL_H_
#endif

#include <cmath>
#include <cstring>

#include "hwy/highway.h"
#include "qkit/base/aligned.hpp"
#include "qkit/kernels/activation-inl.h"
#include "qkit/kernels/attention_job.hpp"
#include "qkit/kernels/attention_pv_i16_x86.hpp"
#include "qkit/kernels/attention_vnni_x86.hpp"
#include "qkit/kernels/common-inl.h"
#include "qkit/kernels/convert-inl.h"
#include "qkit/kernels/dot-inl.h"

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {

#undef QKIT_ATTN_VNNI
#if defined(QKIT_HAVE_VNNI_X86) && (HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL)
#define QKIT_ATTN_VNNI 1
#else
#define QKIT_ATTN_VNNI 0
#endif

// Q8_0 caches: every path takes K.q against the query quantized to Q8_0,
// as the reference engine does (its K.q for a Q8_0 K is a Q8_0 x Q8_0 dot
// product; the query is quantized once per call with the activation rule,
// quant::quantize_act_block, d rounded to f16). So results are the same
// up to f32 rounding whether a target takes the integer dot products
// (AVX-512 VNNI) or f32 ones. Error budget against the unquantized query:
// each logit moves by at most scale * sum_c |k_c| * d_q(c) / 2, the same
// order as the cache's own Q8_0 rounding of K (tests/test_attention.cpp
// checks the bound).
//
// Writes qs[D] = q~ * scale (for the f32 paths) and, when qq is not null,
// the VNNI layout of attention_vnni_x86.hpp: per 64-quant chunk the quants
// qq[64], the seeds seed[16] = -128 * (sum of each lane's 4 quants) and
// dq[16] = d_q * scale per lane, an odd last block padded with zeros.
inline void QuantizeQueryQ8(const float* q, size_t D, float scale, float* qs, int8_t* qq, int32_t* seed,
                            float* dq) {
  const size_t nb = D / kv::kQ8Block;
  for (size_t b = 0; b < nb; ++b) {
    int8_t t[kv::kQ8Block];
    int sum = 0;
    const float d = f16_to_f32(f32_to_f16(quant::quantize_act_block(q + b * kv::kQ8Block, t, sum)));
    const float ds = d * scale;
    for (size_t c = 0; c < kv::kQ8Block; ++c) qs[b * kv::kQ8Block + c] = ds * static_cast<float>(t[c]);
    if (!qq) continue;
    // Block b is half (b % 2) of chunk b / 2: 32 quants, 8 lanes.
    const size_t ch = b / 2, half = b % 2;
    std::memcpy(qq + ch * 64 + half * 32, t, kv::kQ8Block);
    for (size_t l = 0; l < 8; ++l) {
      seed[ch * 16 + half * 8 + l] = -128 * (t[4 * l] + t[4 * l + 1] + t[4 * l + 2] + t[4 * l + 3]);
      dq[ch * 16 + half * 8 + l] = ds;
    }
  }
  if (qq && nb % 2 == 1) {  // padding of the last chunk: no products, no seed, no scale
    const size_t ch = nb / 2;
    std::memset(qq + ch * 64 + 32, 0, 32);
    for (size_t l = 8; l < 16; ++l) {
      seed[ch * 16 + l] = 0;
      dq[ch * 16 + l] = 0.0f;
    }
  }
}

// n_blocks Q8_0 blocks -> 32 * n_blocks floats. At most 16 lanes so a lane
// count always divides the block on the targets that matter (4, 8, 16).
inline void DequantQ8_0Blocks(const uint8_t* HWY_RESTRICT src, float* HWY_RESTRICT dst, size_t n_blocks) {
  const hn::CappedTag<float, 16> df;
  const hn::Rebind<int32_t, decltype(df)> di;
  const hn::Rebind<int8_t, decltype(df)> d8;
  const size_t N = hn::Lanes(df);
  for (size_t b = 0; b < n_blocks; ++b, src += sizeof(BlockQ8_0), dst += kv::kQ8Block) {
    uint16_t h;
    std::memcpy(&h, src, 2);
    const float d = f16_to_f32(h);
    const auto* qs = reinterpret_cast<const int8_t*>(src + 2);
    const auto vd = hn::Set(df, d);
    size_t k = 0;
    for (; k + N <= kv::kQ8Block; k += N) {
      hn::StoreU(hn::Mul(vd, hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(d8, qs + k)))), df, dst + k);
    }
    // Only for lane counts that do not divide 32 (odd SVE lengths).
    if (kv::kQ8Block % N != 0) {
      for (; k < kv::kQ8Block; ++k) dst[k] = d * static_cast<float>(qs[k]);
    }
  }
}

// Rows [j0, j0 + n) of head h as f32: a pointer into the cache for f32,
// else converted into buf.
inline const float* KvTileF32(const KvView& kv, size_t h, size_t j0, size_t n, float* buf) {
  const uint8_t* src = kv.row(h, j0);
  switch (kv.type) {
    case KvType::F32: return reinterpret_cast<const float*>(src);
    case KvType::F16: F16ToF32Row(reinterpret_cast<const uint16_t*>(src), buf, n * kv.head_dim); return buf;
    case KvType::Q8_0: DequantQ8_0Blocks(src, buf, n * kv.head_dim / kv::kQ8Block); return buf;
  }
  return buf;
}

// Asks for the bytes of rows [j0, j0 + n) of head h ahead of use: decoding
// is a pure stream over the cache, and the hardware prefetchers alone
// leave a single thread well short of the memory bandwidth.
inline void PrefetchKvTile(const KvView& kv, size_t h, size_t j0, size_t n) {
  const uint8_t* p = kv.row(h, j0);
  const size_t bytes = n * kv.row_bytes;
  for (size_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + off);
}

// acc[0..D) = acc * alpha + sum_j p[j] * V[j], keeping each chunk of acc
// in a register across the keys.
inline void AccumulatePV(float* HWY_RESTRICT acc, float alpha, const float* HWY_RESTRICT p,
                         const float* HWY_RESTRICT vt, size_t n, size_t D) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto va = hn::Set(d, alpha);
  size_t c = 0;
  for (; c + N <= D; c += N) {
    auto a = hn::Mul(hn::LoadU(d, acc + c), va);
    for (size_t j = 0; j < n; ++j) a = hn::MulAdd(hn::Set(d, p[j]), hn::LoadU(d, vt + j * D + c), a);
    hn::StoreU(a, d, acc + c);
  }
  for (; c < D; ++c) {
    float a = acc[c] * alpha;
    for (size_t j = 0; j < n; ++j) a += p[j] * vt[j * D + c];
    acc[c] = a;
  }
}

// --- Decode path: one query per task (all kR <= 4 query heads of a KV
// head share its position), so each K/V row is converted in registers
// once, where it is used, and feeds every row's multiply-add: no f32 tile
// buffer, and the loop stays one stream of loads that the out-of-order
// core overlaps with the math. Per tile of kAttnKvTile keys:
// - scores four keys at a time (each query chunk loaded once for four
//   keys), the four dot products reduced together (SumOf4), one store;
// - the online softmax over the tile's scores, vectorized per row;
// - P V with up to kAccRegs accumulators (kR rows x chunks of the head)
//   in registers for the whole tile, not loaded and stored per key;
// - Q8_0 block scales read once per block, and folded into the weight
//   when there is one row (MHA).

// Whether this target runs the decode path for cache type t: f16 needs
// hardware conversion; Q8_0 needs a lane count that divides a block.
inline bool DecodePathOk(KvType t) {
  // Scalable (SVE) vectors cannot live in the arrays of accumulators the
  // decode path keeps; SVE takes the tiled path.
  if (!kFullSimd || HWY_HAVE_SCALABLE) return false;
  if (t == KvType::F16) return QKIT_NATIVE_F16;
  if (t == KvType::Q8_0) return kv::kQ8Block % hn::Lanes(hn::CappedTag<float, 16>()) == 0;
  return true;
}

#if HWY_TARGET != HWY_SCALAR && !HWY_HAVE_SCALABLE
// The f16 scale of a Q8_0 block as f32 (one hardware conversion if any).
HWY_INLINE float Q8Scale(const uint8_t* blk) {
#if QKIT_NATIVE_F16
  const hn::CappedTag<float, 1> d1;
  const hn::Rebind<hwy::float16_t, decltype(d1)> dh1;
  return hn::GetLane(hn::PromoteTo(d1, hn::LoadU(dh1, reinterpret_cast<const hwy::float16_t*>(blk))));
#else
  uint16_t h;
  std::memcpy(&h, blk, 2);
  return f16_to_f32(h);
#endif
}

// Values [i, i + Lanes(d)) of a cache row as f32. For Q8_0, Lanes(d)
// divides 32, so a chunk never straddles two blocks.
template <KvType kT, class D>
HWY_INLINE hn::Vec<D> RowChunk(D d, const uint8_t* row, size_t i) {
  if constexpr (kT == KvType::F32) {
    return hn::LoadU(d, reinterpret_cast<const float*>(row) + i);
  } else if constexpr (kT == KvType::F16) {
#if QKIT_NATIVE_F16
    const hn::Rebind<hwy::float16_t, D> dh;
    return hn::PromoteTo(d, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(row) + i));
#else
    (void)row;
    (void)i;
    return hn::Zero(d);  // never called: DecodePathOk is false
#endif
  } else {
    const hn::Rebind<int32_t, D> di;
    const hn::Rebind<int8_t, D> d8;
    const uint8_t* blk = row + (i / kv::kQ8Block) * sizeof(BlockQ8_0);
    const auto* qs = reinterpret_cast<const int8_t*>(blk + 2) + i % kv::kQ8Block;
    return hn::Mul(hn::ConvertTo(d, hn::PromoteTo(di, hn::LoadU(d8, qs))), hn::Set(d, Q8Scale(blk)));
  }
}

// Q8_0: values [i, i + Lanes(d)) of a row as unscaled f32 (the int8
// quants), and the f32 scale of the block holding value i. Callers that
// walk a block's chunks take its scale once.
template <class D>
HWY_INLINE hn::Vec<D> Q8Quants(D d, const uint8_t* row, size_t i) {
  const hn::Rebind<int32_t, D> di;
  const hn::Rebind<int8_t, D> d8;
  const auto* qs = reinterpret_cast<const int8_t*>(row + (i / kv::kQ8Block) * sizeof(BlockQ8_0) + 2) + i % kv::kQ8Block;
  return hn::ConvertTo(d, hn::PromoteTo(di, hn::LoadU(d8, qs)));
}
HWY_INLINE float Q8RowScale(const uint8_t* row, size_t i) {
  return Q8Scale(row + (i / kv::kQ8Block) * sizeof(BlockQ8_0));
}

// Value i of a cache row (the scalar tail of f32/f16 rows).
template <KvType kT>
HWY_INLINE float RowValue(const uint8_t* row, size_t i) {
  if constexpr (kT == KvType::F32) {
    float f;
    std::memcpy(&f, row + 4 * i, 4);
    return f;
  } else if constexpr (kT == KvType::F16) {
    uint16_t h;
    std::memcpy(&h, row + 2 * i, 2);
    return f16_to_f32(h);
  } else {
    const uint8_t* blk = row + (i / kv::kQ8Block) * sizeof(BlockQ8_0);
    return Q8Scale(blk) * static_cast<float>(static_cast<int8_t>(blk[2 + i % kv::kQ8Block]));
  }
}

// Registers a target can give to accumulators (the x86 targets before
// AVX-512 have 16 vector registers, the others 32).
inline constexpr size_t kAccRegs =
    (HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_EMU128) ? 10 : 24;

// The 128-bit sum of a vector's blocks: halves added until one block is left.
template <class D>
HWY_INLINE hn::Vec<hn::CappedTag<float, 4>> FoldBlocks(D d, hn::Vec<D> v) {
  if constexpr (hn::MaxLanes(d) > 4) {
    const hn::Half<D> dh;
    return FoldBlocks(dh, hn::Add(hn::LowerHalf(dh, v), hn::UpperHalf(dh, v)));
  } else {
    return v;
  }
}

// Horizontal sums of four vectors at once, as one 128-bit vector
// {sum a, sum b, sum c, sum d}: a transpose-add tree inside each block
// (pairs of lanes, then pairs of 64-bit halves), then the blocks folded.
// About a third of the shuffles of four separate reductions, and the four
// scores land in one store.
template <class D>
HWY_INLINE hn::Vec<hn::CappedTag<float, 4>> SumOf4(D d, hn::Vec<D> a, hn::Vec<D> b, hn::Vec<D> c, hn::Vec<D> e) {
  const hn::Repartition<uint64_t, D> d64;
  const auto ab = hn::Add(hn::InterleaveLower(d, a, b), hn::InterleaveUpper(d, a, b));  // a b a b per block
  const auto ce = hn::Add(hn::InterleaveLower(d, c, e), hn::InterleaveUpper(d, c, e));  // c e c e
  const auto ab64 = hn::BitCast(d64, ab), ce64 = hn::BitCast(d64, ce);
  const auto all = hn::Add(hn::BitCast(d, hn::InterleaveLower(d64, ab64, ce64)),
                           hn::BitCast(d, hn::InterleaveUpper(d64, ab64, ce64)));  // a b c e per block
  return FoldBlocks(d, all);
}

// Scores of keys [j, j + kK) (kK = 1 or 4) for the kR rows: sc[r * T + j + k]
// = qs_r . K_j+k over the first nv dims (the caller adds the tail). Each
// query chunk is loaded once for the kK keys and each key chunk converted
// once for the kR rows.
template <KvType kT, size_t kR, size_t kK, class D>
HWY_INLINE void ScoreKeys(D d, const float* HWY_RESTRICT qs, size_t Dh, size_t nv, const uint8_t* k0, size_t kb,
                          float* HWY_RESTRICT sc, size_t T) {
  const size_t N = hn::Lanes(d);
  hn::Vec<D> acc[kR][kK];
  for (size_t r = 0; r < kR; ++r)
    for (size_t k = 0; k < kK; ++k) acc[r][k] = hn::Zero(d);
  hn::Vec<D> scale[kK], blk[kK];  // Q8_0: the current block's scale / unscaled dot per key
  for (size_t k = 0; k < kK; ++k) scale[k] = blk[k] = hn::Zero(d);
  for (size_t c = 0; c < nv; c += N) {
    hn::Vec<D> x[kK];
    if constexpr (kT == KvType::Q8_0 && kR == 1) {
      // One row: the block's unscaled dot, scaled once at the block's end.
      const auto q = hn::LoadU(d, qs + c);
      if (c % kv::kQ8Block == 0) {
        for (size_t k = 0; k < kK; ++k) blk[k] = hn::Mul(q, Q8Quants(d, k0 + k * kb, c));
      } else {
        for (size_t k = 0; k < kK; ++k) blk[k] = hn::MulAdd(q, Q8Quants(d, k0 + k * kb, c), blk[k]);
      }
      if ((c + N) % kv::kQ8Block == 0)
        for (size_t k = 0; k < kK; ++k)
          acc[0][k] = hn::MulAdd(blk[k], hn::Set(d, Q8RowScale(k0 + k * kb, c)), acc[0][k]);
      continue;
    } else if constexpr (kT == KvType::Q8_0) {
      if (c % kv::kQ8Block == 0)
        for (size_t k = 0; k < kK; ++k) scale[k] = hn::Set(d, Q8RowScale(k0 + k * kb, c));
      for (size_t k = 0; k < kK; ++k) x[k] = hn::Mul(Q8Quants(d, k0 + k * kb, c), scale[k]);
    } else {
      for (size_t k = 0; k < kK; ++k) x[k] = RowChunk<kT>(d, k0 + k * kb, c);
    }
    for (size_t r = 0; r < kR; ++r) {
      const auto q = hn::LoadU(d, qs + r * Dh + c);
      for (size_t k = 0; k < kK; ++k) acc[r][k] = hn::MulAdd(q, x[k], acc[r][k]);
    }
  }
  if constexpr (kK == 4) {
    const hn::CappedTag<float, 4> d4;
    for (size_t r = 0; r < kR; ++r) hn::StoreU(SumOf4(d, acc[r][0], acc[r][1], acc[r][2], acc[r][3]), d4, sc + r * T);
    return;
  }
  for (size_t r = 0; r < kR; ++r)
    for (size_t k = 0; k < kK; ++k) sc[r * T + k] = hn::GetLane(hn::SumOfLanes(d, acc[r][k]));
}

// acc_r[chunks c0 .. c0 + kC) = alpha_r * acc_r + sum_j p_r[j] V_j over the
// tile's n keys, the kR x kC accumulators in registers for the whole tile.
// Q8_0 with several rows: wt[(j * kR + r) * nb + b] = p_r[j] * d_v(j,
// block b), built once per tile (key-major: each key's weights are one
// short contiguous run), so each chunk is quants converted once and one
// multiply-add per row with a broadcast load of its weight (no per-block
// scaling of the quants). One row (MHA): the scale folds into its weight.
template <KvType kT, size_t kR, size_t kC, class D>
HWY_INLINE void AccumulateChunks(D d, float* HWY_RESTRICT acc, size_t Dh, size_t c0, const float* alpha,
                                 const float* HWY_RESTRICT p, size_t T, const uint8_t* v0, size_t vb, size_t n,
                                 const float* HWY_RESTRICT wt) {
  const size_t N = hn::Lanes(d);
  hn::Vec<D> a[kR][kC];
  for (size_t r = 0; r < kR; ++r) {
    const auto va = hn::Set(d, alpha[r]);
    for (size_t k = 0; k < kC; ++k) a[r][k] = hn::Mul(hn::LoadU(d, acc + r * Dh + c0 + k * N), va);
  }
  for (size_t j = 0; j < n; ++j) {
    const uint8_t* row = v0 + j * vb;
    if constexpr (kT == KvType::Q8_0 && kR == 1) {
      // One row: the block scale goes into the weight, once per block.
      hn::Vec<D> w = hn::Zero(d);
      for (size_t k = 0; k < kC; ++k) {
        const size_t c = c0 + k * N;
        if (k == 0 || c % kv::kQ8Block == 0) w = hn::Set(d, p[j] * Q8RowScale(row, c));
        a[0][k] = hn::MulAdd(w, Q8Quants(d, row, c), a[0][k]);
      }
    } else if constexpr (kT == KvType::Q8_0) {
      // Weights of key j: wt[(j * kR + r) * nb + b] (weight_table_q8),
      // one base pointer with compile-time offsets when c0 is a multiple
      // of 32 (kC chunks start on a block).
      const size_t nb = Dh / kv::kQ8Block;
      const float* w = wt + j * kR * nb + c0 / kv::kQ8Block;
      // Unrolled so the accumulators stay registers (GCC 12 otherwise keeps
      // this loop and moves a[][] to memory).
      HWY_UNROLL(8)
      for (size_t k = 0; k < kC; ++k) {
        const size_t c = c0 + k * N;
        const size_t b = (c0 % kv::kQ8Block + k * N) / kv::kQ8Block;
        const auto x = Q8Quants(d, row, c);
        HWY_UNROLL(4)
        for (size_t r = 0; r < kR; ++r) a[r][k] = hn::MulAdd(hn::Set(d, w[r * nb + b]), x, a[r][k]);
      }
    } else {
      hn::Vec<D> w[kR];
      for (size_t r = 0; r < kR; ++r) w[r] = hn::Set(d, p[r * T + j]);
      for (size_t k = 0; k < kC; ++k) {
        const auto x = RowChunk<kT>(d, row, c0 + k * N);
        for (size_t r = 0; r < kR; ++r) a[r][k] = hn::MulAdd(w[r], x, a[r][k]);
      }
    }
  }
  for (size_t r = 0; r < kR; ++r)
    for (size_t k = 0; k < kC; ++k) hn::StoreU(a[r][k], d, acc + r * Dh + c0 + k * N);
}

// AccumulateChunks for m <= kMax chunks (m known only at run time), so the
// accumulators of a whole row fit when the head is short.
template <KvType kT, size_t kR, size_t kMax, class D>
HWY_INLINE void AccumulateChunksN(size_t m, D d, float* HWY_RESTRICT acc, size_t Dh, size_t c0, const float* alpha,
                                  const float* HWY_RESTRICT p, size_t T, const uint8_t* v0, size_t vb, size_t n,
                                  const float* HWY_RESTRICT wt) {
  if (m == kMax) return AccumulateChunks<kT, kR, kMax>(d, acc, Dh, c0, alpha, p, T, v0, vb, n, wt);
  if constexpr (kMax > 1) AccumulateChunksN<kT, kR, kMax - 1>(m, d, acc, Dh, c0, alpha, p, T, v0, vb, n, wt);
}

// Rows r < kR are the query heads hk * g + r of query i. scratch holds
// 2 * kR * D + kR * kAttnKvTile floats, and for Q8_0 caches the query's
// VNNI layouts and the tile's weight table: kR * D + 48 * kR * n_chunks +
// 176 * kR more (< 2 * kAttnKvTile * D, the tiled path's K/V buffers it
// reuses).
template <KvType kT, size_t kR>
inline void DecodeTask(const AttentionJob& job, size_t hk, size_t i, size_t split, float* scratch) {
  const hn::CappedTag<float, 16> d;
  const size_t N = hn::Lanes(d), D = job.head_dim, nv = D / N * N, nc = D / N;
  constexpr size_t T = kAttnKvTile;
  // Value chunks whose accumulators stay in registers through a tile.
  constexpr size_t kC = kAccRegs / kR >= 8 ? 8 : kAccRegs / kR >= 4 ? 4 : kAccRegs / kR >= 2 ? 2 : 1;
  float* qs = scratch;          // [kR][D] scaled queries
  float* acc = qs + kR * D;     // [kR][D]
  float* sc = acc + kR * D;     // [kR][T] scores, then weights
  // Q8_0 only: weights x block scales of V (key-major), the query's
  // VNNI layout (attention_vnni_x86.hpp), each n_chunks x 16 words per row.
  const size_t nb = D / kv::kQ8Block, n_chunks = (nb + 1) / 2;
  float* wt = sc + kR * T;      // [T][kR][nb]
  float* dq = wt + kR * D;      // [kR][n_chunks][16]
  auto* seed = reinterpret_cast<int32_t*>(dq + kR * n_chunks * 16);        // [kR][n_chunks][16]
  auto* qq = reinterpret_cast<int8_t*>(seed + kR * n_chunks * 16);         // [kR][n_chunks][64]
#if QKIT_ATTN_VNNI
  // score_keys_q8_small's layouts of the query (heads of <= 4 blocks).
  float* dq4 = reinterpret_cast<float*>(qq + kR * n_chunks * 64);           // [kR][16]
  auto* qx = reinterpret_cast<int8_t*>(dq4 + kR * 16);                       // [kR][2][4][64]
  auto* seedx = reinterpret_cast<int32_t*>(qx + kR * 2 * 4 * 64);           // [kR][2][16]
#endif
  bool int_dot = false;  // K.q as vpdpbusd integer dot products
#if QKIT_ATTN_VNNI
  // With one row (MHA) the f32 path's per-block scaling is as cheap and
  // measured a little faster; from two rows on, each loaded key chunk
  // feeds several integer dot products.
  if constexpr (kT == KvType::Q8_0 && kR >= 2) int_dot = cpu::has_fast_path(cpu::kFastVnni);
#endif
  float m[kR], l[kR], alpha[kR];
  for (size_t r = 0; r < kR; ++r) {
    const float* qr = job.q + i * job.q_stride + (hk * kR + r) * D;
    if constexpr (kT == KvType::Q8_0) {
      const size_t o = r * n_chunks;
      QuantizeQueryQ8(qr, D, job.scale, qs + r * D, int_dot ? qq + o * 64 : nullptr, seed + o * 16, dq + o * 16);
#if QKIT_ATTN_VNNI
      if (int_dot && nb <= 4)
        attn_vnni::expand_query(qq + o * 64, seed + o * 16, dq + o * 16, nb, qx + r * 2 * 4 * 64, seedx + r * 2 * 16,
                                dq4 + r * 16);
#endif
    } else {
      for (size_t c = 0; c < D; ++c) qs[r * D + c] = qr[c] * job.scale;
    }
    std::memset(acc + r * D, 0, D * sizeof(float));
    m[r] = -HUGE_VALF;
    l[r] = 0.0f;
  }
  const int64_t len = static_cast<int64_t>(job.k.length), pos = job.q_pos[i];
  int64_t hi = job.causal ? (pos + 1 < len ? pos + 1 : len) : len;
  int64_t lo = job.window ? pos - static_cast<int64_t>(job.window) + 1 : 0;
  if (lo < 0) lo = 0;
  if (job.n_splits > 1) {  // this task's key range only
    const int64_t s0 = static_cast<int64_t>(job.split_lo + split * job.split_keys), s1 = s0 + static_cast<int64_t>(job.split_keys);
    lo = lo > s0 ? lo : s0;
    hi = hi < s1 ? hi : s1;
  }
  const size_t kb = job.k.row_bytes, vb = job.v.row_bytes;
  for (int64_t j0 = lo; j0 < hi; j0 += static_cast<int64_t>(T)) {
    const size_t n = static_cast<size_t>(hi - j0 < static_cast<int64_t>(T) ? hi - j0 : static_cast<int64_t>(T));
    // No software prefetch: K and V of a head are two sequential streams
    // that the hardware prefetchers follow; explicit prefetches of the next
    // tile measured 1.5-2x slower (they stall issue when the miss buffers
    // fill). Scores four keys at a time, then the last few one by one.
    const uint8_t* k0 = job.k.row(hk, static_cast<size_t>(j0));
    const uint8_t* v0 = job.v.row(hk, static_cast<size_t>(j0));
    size_t j = 0;
#if QKIT_ATTN_VNNI
    if (int_dot) {
      switch (nb) {
        case 1: attn_vnni::score_keys_q8_small<kR, 1>(qx, seedx, dq4, k0, kb, n, sc, T); break;
        case 2: attn_vnni::score_keys_q8_small<kR, 2>(qx, seedx, dq4, k0, kb, n, sc, T); break;
        case 3: attn_vnni::score_keys_q8_small<kR, 3>(qx, seedx, dq4, k0, kb, n, sc, T); break;
        case 4: attn_vnni::score_keys_q8_small<kR, 4>(qx, seedx, dq4, k0, kb, n, sc, T); break;
        default: attn_vnni::score_keys_q8<kR>(qq, seed, dq, n_chunks, nb % 2 == 1, k0, kb, n, sc, T);
      }
      j = n;
    }
#endif
    if (j == 0) {
      for (; j + 4 <= n; j += 4) ScoreKeys<kT, kR, 4>(d, qs, D, nv, k0 + j * kb, kb, sc + j, T);
      for (; j < n; ++j) ScoreKeys<kT, kR, 1>(d, qs, D, nv, k0 + j * kb, kb, sc + j, T);
    }
    for (size_t c = nv; c < D; ++c)
      for (j = 0; j < n; ++j) {
        const float x = RowValue<kT>(k0 + j * kb, c);
        for (size_t r = 0; r < kR; ++r) sc[r * T + j] += qs[r * D + c] * x;
      }
    // Online softmax, row by row.
    for (size_t r = 0; r < kR; ++r) {
      float* s = sc + r * T;
      const float tile_max = MaxRow(s, n);
      const float m_new = tile_max > m[r] ? tile_max : m[r];
      // Once the running max settles, most tiles leave it unchanged:
      // alpha = e^0 = 1 exactly, without the call.
      alpha[r] = m[r] == -HUGE_VALF ? 0.0f : m_new == m[r] ? 1.0f : std::exp(m[r] - m_new);
      l[r] = l[r] * alpha[r] + ExpShiftedRow(s, 1.0f, m_new, s, n);
      m[r] = m_new;
    }
    if constexpr (kT == KvType::Q8_0 && kR >= 2) {
#if QKIT_ATTN_VNNI
      // Heads of up to four blocks: P V as int16 dot products of key pairs
      // (attention_pv_i16_x86.hpp), the whole tile at once.
      if (int_dot && nb <= 4) {
        switch (nb) {
          case 1: attn_vnni::pv_tile_q8<kR, 1>(v0, vb, sc, T, n, alpha, acc, D); break;
          case 2: attn_vnni::pv_tile_q8<kR, 2>(v0, vb, sc, T, n, alpha, acc, D); break;
          case 3: attn_vnni::pv_tile_q8<kR, 3>(v0, vb, sc, T, n, alpha, acc, D); break;
          default: attn_vnni::pv_tile_q8<kR, 4>(v0, vb, sc, T, n, alpha, acc, D); break;
        }
        continue;
      }
      if (int_dot) {
        attn_vnni::weight_table_q8<kR>(v0, vb, nb, sc, T, n, wt);
      } else  // the portable build below
#endif
      {
        // The weights p_r[j] * d_v(j, b), key-major (see AccumulateChunks).
        for (j = 0; j < n; ++j)
          for (size_t b = 0; b < nb; ++b) {
            const float dvb = Q8Scale(v0 + j * vb + b * sizeof(BlockQ8_0));
            for (size_t r = 0; r < kR; ++r) wt[(j * kR + r) * nb + b] = sc[r * T + j] * dvb;
          }
      }
    }
    // acc = acc * alpha + P V, kC chunks of every row in registers at a time.
    for (size_t c = 0; c < nc;) {
      const size_t m = nc - c < kC ? nc - c : kC;
      AccumulateChunksN<kT, kR, kC>(m, d, acc, D, c * N, alpha, sc, T, v0, vb, n, wt);
      c += m;
    }
    for (size_t c = nv; c < D; ++c)
      for (size_t r = 0; r < kR; ++r) {
        float a = acc[r * D + c] * alpha[r];
        for (j = 0; j < n; ++j) a += sc[r * T + j] * RowValue<kT>(v0 + j * vb, c);
        acc[r * D + c] = a;
      }
  }
  for (size_t r = 0; r < kR; ++r) FinishRow(job, i, hk * kR + r, split, acc + r * D, m[r], l[r]);
}

template <KvType kT>
inline void DecodeTaskRows(const AttentionJob& job, size_t hk, size_t i, size_t split, size_t g, float* scratch) {
  switch (g) {
    case 1: return DecodeTask<kT, 1>(job, hk, i, split, scratch);
    case 2: return DecodeTask<kT, 2>(job, hk, i, split, scratch);
    case 3: return DecodeTask<kT, 3>(job, hk, i, split, scratch);
    default: return DecodeTask<kT, 4>(job, hk, i, split, scratch);
  }
}
#endif  // HWY_TARGET != HWY_SCALAR && !HWY_HAVE_SCALABLE

struct AttnScratch {
  AlignedBuffer<float> buf;
};

inline void AttentionTask(const AttentionJob& job, size_t task) {
  const size_t D = job.head_dim;
  const size_t g = job.n_head / job.k.n_head_kv;
  const size_t split = task / (job.k.n_head_kv * job.n_q_tiles);  // split-major: see AttentionJob
  task %= job.k.n_head_kv * job.n_q_tiles;
  const size_t hk = task / job.n_q_tiles;
  const size_t q0 = (task % job.n_q_tiles) * job.q_tile;
  const size_t q1 = q0 + job.q_tile < job.n_q ? q0 + job.q_tile : job.n_q;
  const size_t R = (q1 - q0) * g;  // row r: query q0 + r / g, head hk * g + r % g
  constexpr size_t T = kAttnKvTile;
  const size_t len = job.k.length;

  // One thread-local scratch per thread, grown on demand: no allocation in
  // the steady state of decoding.
  static thread_local AttnScratch scratch;
  const size_t words = R * (2 * D + T + 4) + 2 * T * D;
  scratch.buf.ensure(words);
#if HWY_TARGET != HWY_SCALAR && !HWY_HAVE_SCALABLE
  // One query (decode): rows converted in registers, see DecodeTask.
  // Several (prompt): each tile converted once into f32 and reused below.
  if (q1 - q0 == 1 && g <= 4 && DecodePathOk(job.k.type)) {
    switch (job.k.type) {
      case KvType::F32: return DecodeTaskRows<KvType::F32>(job, hk, q0, split, g, scratch.buf.data());
      case KvType::F16: return DecodeTaskRows<KvType::F16>(job, hk, q0, split, g, scratch.buf.data());
      case KvType::Q8_0: return DecodeTaskRows<KvType::Q8_0>(job, hk, q0, split, g, scratch.buf.data());
    }
  }
#endif
  float* qs = scratch.buf.data();  // [R][D] scaled queries
  float* acc = qs + R * D;         // [R][D]
  float* sc = acc + R * D;         // [R][T] scores, then weights
  float* m = sc + R * T;           // [R] running max
  float* l = m + R;                // [R] running sum
  float* lo_hi = l + R;            // [R][2] visible key range, as floats
  float* kbuf = lo_hi + 2 * R;     // [T][D]
  float* vbuf = kbuf + T * D;      // [T][D]

  size_t lo_all = len, hi_all = 0;
  for (size_t r = 0; r < R; ++r) {
    const size_t i = q0 + r / g, h = hk * g + r % g;
    const float* qr = job.q + i * job.q_stride + h * D;
    if (job.k.type == KvType::Q8_0) {
      QuantizeQueryQ8(qr, D, job.scale, qs + r * D, nullptr, nullptr, nullptr);
    } else {
      for (size_t c = 0; c < D; ++c) qs[r * D + c] = qr[c] * job.scale;
    }
    std::memset(acc + r * D, 0, D * sizeof(float));
    m[r] = -HUGE_VALF;
    l[r] = 0.0f;
    const int64_t pos = job.q_pos[i];
    int64_t hi = job.causal ? pos + 1 : static_cast<int64_t>(len);
    if (hi > static_cast<int64_t>(len)) hi = static_cast<int64_t>(len);
    int64_t lo = job.window ? pos - static_cast<int64_t>(job.window) + 1 : 0;
    if (lo < 0) lo = 0;
    if (job.n_splits > 1) {  // this task's key range only
      const int64_t s0 = static_cast<int64_t>(job.split_lo + split * job.split_keys), s1 = s0 + static_cast<int64_t>(job.split_keys);
      lo = lo > s0 ? lo : s0;
      hi = hi < s1 ? hi : s1;
    }
    if (hi < lo) hi = lo;
    lo_hi[2 * r] = static_cast<float>(lo);  // exact: positions < 2^24
    lo_hi[2 * r + 1] = static_cast<float>(hi);
    if (lo < hi) {
      lo_all = static_cast<size_t>(lo) < lo_all ? static_cast<size_t>(lo) : lo_all;
      hi_all = static_cast<size_t>(hi) > hi_all ? static_cast<size_t>(hi) : hi_all;
    }
  }

  for (size_t j0 = lo_all; j0 < hi_all; j0 += T) {
    const size_t n = hi_all - j0 < T ? hi_all - j0 : T;
    if (j0 + T < hi_all) {
      const size_t next = hi_all - (j0 + T) < T ? hi_all - (j0 + T) : T;
      PrefetchKvTile(job.k, hk, j0 + T, next);
      PrefetchKvTile(job.v, hk, j0 + T, next);
    }
    const float* kt = KvTileF32(job.k, hk, j0, n, kbuf);
    const float* vt = nullptr;
    for (size_t r = 0; r < R; ++r) {
      // The part [a, b) of this tile row r sees.
      const size_t lo = static_cast<size_t>(lo_hi[2 * r]), hi = static_cast<size_t>(lo_hi[2 * r + 1]);
      const size_t a = lo > j0 ? lo - j0 : 0;
      const size_t b = hi < j0 + n ? (hi > j0 ? hi - j0 : 0) : n;
      if (a >= b) continue;
      float* s = sc + r * T;
      const float* qr = qs + r * D;
      for (size_t j = a; j < b; ++j) s[j] = DotF32(qr, kt + j * D, D);
      const float tile_max = MaxRow(s + a, b - a);
      const float m_new = tile_max > m[r] ? tile_max : m[r];
      // m[r] = -inf before the first visible key: alpha = 0, acc and l are 0.
      const float alpha = m[r] == -HUGE_VALF ? 0.0f : std::exp(m[r] - m_new);
      const float sum = ExpShiftedRow(s + a, 1.0f, m_new, s + a, b - a);
      l[r] = l[r] * alpha + sum;
      m[r] = m_new;
      if (!vt) vt = KvTileF32(job.v, hk, j0, n, vbuf);
      AccumulatePV(acc + r * D, alpha, s + a, vt + a * D, b - a, D);
    }
  }

  for (size_t r = 0; r < R; ++r) FinishRow(job, q0 + r / g, hk * g + r % g, split, acc + r * D, m[r], l[r]);
}

}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
