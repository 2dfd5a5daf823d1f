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
#include "qkit/kernels/common-inl.h"
#include "qkit/kernels/convert-inl.h"
#include "qkit/kernels/dot-inl.h"

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {

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

// --- Decode path: few rows per task, so each K/V row is converted in
// registers where it is used (no f32 tile buffer), keeping the loop a
// single stream of loads the out-of-order core can overlap with the math.

// Whether the fused path handles this cache type on this target: f16 needs
// hardware conversion; Q8_0 needs a lane count that divides a block.
inline bool FusedDecodeOk(KvType t) {
  if (t == KvType::F16) return QKIT_NATIVE_F16;
  if (t == KvType::Q8_0) return kv::kQ8Block % hn::Lanes(hn::CappedTag<float, 16>()) == 0 && kFullSimd;
  return false;
}

// q . row for an f16 row of D values.
inline float DotF16Row(const float* HWY_RESTRICT q, const uint8_t* HWY_RESTRICT row, size_t D) {
  const auto* k = reinterpret_cast<const uint16_t*>(row);
  float sum = 0.0f;
  size_t i = 0;
#if QKIT_NATIVE_F16
  const hn::ScalableTag<float> d;
  const hn::Rebind<hwy::float16_t, decltype(d)> dh;
  const size_t N = hn::Lanes(d);
  const auto* kh = reinterpret_cast<const hwy::float16_t*>(k);
  auto a0 = hn::Zero(d), a1 = hn::Zero(d);
  for (; i + 2 * N <= D; i += 2 * N) {
    a0 = hn::MulAdd(hn::LoadU(d, q + i), hn::PromoteTo(d, hn::LoadU(dh, kh + i)), a0);
    a1 = hn::MulAdd(hn::LoadU(d, q + i + N), hn::PromoteTo(d, hn::LoadU(dh, kh + i + N)), a1);
  }
  for (; i + N <= D; i += N) a0 = hn::MulAdd(hn::LoadU(d, q + i), hn::PromoteTo(d, hn::LoadU(dh, kh + i)), a0);
  sum = hn::GetLane(hn::SumOfLanes(d, hn::Add(a0, a1)));
#endif
  for (; i < D; ++i) sum += q[i] * f16_to_f32(k[i]);
  return sum;
}

// q . row for a Q8_0 row: per block, sum q * qs in a vector, then scale by d.
inline float DotQ8Row(const float* HWY_RESTRICT q, const uint8_t* HWY_RESTRICT row, size_t D) {
  const hn::CappedTag<float, 16> df;
  const hn::Rebind<int32_t, decltype(df)> di;
  const hn::Rebind<int8_t, decltype(df)> d8;
  const size_t N = hn::Lanes(df);
  auto acc = hn::Zero(df);
  for (size_t b = 0; b < D / kv::kQ8Block; ++b, row += sizeof(BlockQ8_0), q += kv::kQ8Block) {
    uint16_t h;
    std::memcpy(&h, row, 2);
    const auto* qs = reinterpret_cast<const int8_t*>(row + 2);
    auto blk = hn::Zero(df);
    for (size_t k = 0; k < kv::kQ8Block; k += N) {
      blk = hn::MulAdd(hn::LoadU(df, q + k), hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(d8, qs + k))), blk);
    }
    acc = hn::MulAdd(blk, hn::Set(df, f16_to_f32(h)), acc);
  }
  return hn::GetLane(hn::SumOfLanes(df, acc));
}

// acc = acc * alpha + sum_j p[j] * V_j for n f16 rows starting at v.
inline void AccumulatePVF16(float* HWY_RESTRICT acc, float alpha, const float* HWY_RESTRICT p,
                            const uint8_t* HWY_RESTRICT v, size_t row_bytes, size_t n, size_t D) {
  size_t c = 0;
#if QKIT_NATIVE_F16
  const hn::ScalableTag<float> d;
  const hn::Rebind<hwy::float16_t, decltype(d)> dh;
  const size_t N = hn::Lanes(d);
  const auto va = hn::Set(d, alpha);
  for (; c + N <= D; c += N) {
    auto a = hn::Mul(hn::LoadU(d, acc + c), va);
    for (size_t j = 0; j < n; ++j) {
      const auto* vh = reinterpret_cast<const hwy::float16_t*>(v + j * row_bytes) + c;
      a = hn::MulAdd(hn::Set(d, p[j]), hn::PromoteTo(d, hn::LoadU(dh, vh)), a);
    }
    hn::StoreU(a, d, acc + c);
  }
#endif
  for (; c < D; ++c) {
    float a = acc[c] * alpha;
    for (size_t j = 0; j < n; ++j) {
      uint16_t h;
      std::memcpy(&h, v + j * row_bytes + 2 * c, 2);
      a += p[j] * f16_to_f32(h);
    }
    acc[c] = a;
  }
}

// The same for Q8_0 rows; pd: scratch of n * D / 32 floats for p[j] * d[j][block].
inline void AccumulatePVQ8(float* HWY_RESTRICT acc, float alpha, const float* HWY_RESTRICT p,
                           const uint8_t* HWY_RESTRICT v, size_t row_bytes, size_t n, size_t D,
                           float* HWY_RESTRICT pd) {
  const hn::CappedTag<float, 16> df;
  const hn::Rebind<int32_t, decltype(df)> di;
  const hn::Rebind<int8_t, decltype(df)> d8;
  const size_t N = hn::Lanes(df);
  const size_t nb = D / kv::kQ8Block;
  for (size_t j = 0; j < n; ++j)
    for (size_t b = 0; b < nb; ++b) {
      uint16_t h;
      std::memcpy(&h, v + j * row_bytes + b * sizeof(BlockQ8_0), 2);
      pd[b * n + j] = p[j] * f16_to_f32(h);
    }
  const auto va = hn::Set(df, alpha);
  for (size_t b = 0; b < nb; ++b)
    for (size_t k = 0; k < kv::kQ8Block; k += N) {
      const size_t c = b * kv::kQ8Block + k;
      auto a = hn::Mul(hn::LoadU(df, acc + c), va);
      const uint8_t* qs = v + b * sizeof(BlockQ8_0) + 2 + k;
      for (size_t j = 0; j < n; ++j) {
        const auto x = hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(d8, reinterpret_cast<const int8_t*>(qs + j * row_bytes))));
        a = hn::MulAdd(hn::Set(df, pd[b * n + j]), x, a);
      }
      hn::StoreU(a, df, acc + c);
    }
}

struct AttnScratch {
  AlignedBuffer<float> buf;
};

inline void AttentionTask(const AttentionJob& job, size_t task) {
  const size_t D = job.head_dim;
  const size_t g = job.n_head / job.k.n_head_kv;
  const size_t hk = task / job.n_q_tiles;
  const size_t q0 = (task % job.n_q_tiles) * job.q_tile;
  const size_t q1 = q0 + job.q_tile < job.n_q ? q0 + job.q_tile : job.n_q;
  const size_t R = (q1 - q0) * g;  // row r: query q0 + r / g, head hk * g + r % g
  constexpr size_t T = kAttnKvTile;
  const size_t len = job.k.length;

  // One thread-local scratch per thread, grown on demand: no allocation in
  // the steady state of decoding.
  static thread_local AttnScratch scratch;
  // Few rows (decode): convert K/V rows in registers where they are used.
  // Many rows (prompt): convert each tile once into f32 and reuse it.
  const bool fused = R <= 4 && FusedDecodeOk(job.k.type);
  const size_t words = R * (2 * D + T + 4) + 2 * T * D;
  scratch.buf.ensure(words);
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
    for (size_t c = 0; c < D; ++c) qs[r * D + c] = qr[c] * job.scale;
    std::memset(acc + r * D, 0, D * sizeof(float));
    m[r] = -HUGE_VALF;
    l[r] = 0.0f;
    const int64_t pos = job.q_pos[i];
    int64_t hi = job.causal ? pos + 1 : static_cast<int64_t>(len);
    if (hi > static_cast<int64_t>(len)) hi = static_cast<int64_t>(len);
    int64_t lo = job.window ? pos - static_cast<int64_t>(job.window) + 1 : 0;
    if (lo < 0) lo = 0;
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
    const float* kt = fused ? nullptr : KvTileF32(job.k, hk, j0, n, kbuf);
    const float* vt = nullptr;
    for (size_t r = 0; r < R; ++r) {
      // The part [a, b) of this tile row r sees.
      const size_t lo = static_cast<size_t>(lo_hi[2 * r]), hi = static_cast<size_t>(lo_hi[2 * r + 1]);
      const size_t a = lo > j0 ? lo - j0 : 0;
      const size_t b = hi < j0 + n ? (hi > j0 ? hi - j0 : 0) : n;
      if (a >= b) continue;
      float* s = sc + r * T;
      const float* qr = qs + r * D;
      if (!fused) {
        for (size_t j = a; j < b; ++j) s[j] = DotF32(qr, kt + j * D, D);
      } else if (job.k.type == KvType::F16) {
        for (size_t j = a; j < b; ++j) s[j] = DotF16Row(qr, job.k.row(hk, j0 + j), D);
      } else {
        for (size_t j = a; j < b; ++j) s[j] = DotQ8Row(qr, job.k.row(hk, j0 + j), D);
      }
      const float tile_max = MaxRow(s + a, b - a);
      const float m_new = tile_max > m[r] ? tile_max : m[r];
      // m[r] = -inf before the first visible key: alpha = 0, acc and l are 0.
      const float alpha = m[r] == -HUGE_VALF ? 0.0f : std::exp(m[r] - m_new);
      const float sum = ExpShiftedRow(s + a, 1.0f, m_new, s + a, b - a);
      l[r] = l[r] * alpha + sum;
      m[r] = m_new;
      if (fused) {
        const uint8_t* v0 = job.v.row(hk, j0 + a);
        if (job.v.type == KvType::F16) {
          AccumulatePVF16(acc + r * D, alpha, s + a, v0, job.v.row_bytes, b - a, D);
        } else {
          AccumulatePVQ8(acc + r * D, alpha, s + a, v0, job.v.row_bytes, b - a, D, kbuf);
        }
        continue;
      }
      if (!vt) vt = KvTileF32(job.v, hk, j0, n, vbuf);
      AccumulatePV(acc + r * D, alpha, s + a, vt + a * D, b - a, D);
    }
  }

  for (size_t r = 0; r < R; ++r) {
    const size_t i = q0 + r / g, h = hk * g + r % g;
    float* o = job.out + i * job.out_stride + h * D;
    // l[r] >= 1 for a row that saw a key (its max contributes e^0); a row
    // that sees nothing (a negative position) outputs zeros, not NaN.
    const float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
    for (size_t c = 0; c < D; ++c) o[c] = acc[r * D + c] * inv;
  }
}

}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
