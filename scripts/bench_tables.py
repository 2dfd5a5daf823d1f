#!/usr/bin/env python3
"""Markdown tables for docs/benchmarks.md from Google Benchmark JSON output.

Reads the medians of repeated runs (--benchmark_repetitions=N
--benchmark_format=json) of bench_matmul or bench_attention and prints one
table per benchmark family, each figure next to the machine limit the
benchmark measured in the same run and its percentage of it.

    build/bench/bench_matmul --benchmark_repetitions=3 \\
        --benchmark_format=json > matmul.json
    scripts/bench_tables.py matmul.json
"""
import json
import sys


def medians(path):
    with open(path) as f:
        data = json.load(f)
    rows = [b for b in data["benchmarks"] if b.get("aggregate_name", "median") == "median"
            and b.get("run_type") in ("aggregate", "iteration")]
    # Without repetitions there are no aggregates: every iteration row is its own median.
    if any(b.get("run_type") == "aggregate" for b in rows):
        rows = [b for b in rows if b.get("run_type") == "aggregate"]
    return data["context"], rows


def matmul_label(label):
    """bench_matmul's label ("q4_0 AVX3_DL+vnni repacked K=3072 M=9216 t=2")
    as format, variant, layout and its key=value fields."""
    words = label.split()
    fields = dict(w.split("=", 1) for w in words if "=" in w)
    return words[0], words[1], "r16" if "repacked" in words else "rows", fields


def gemv_table(rows):
    out = ["| format | variant | layout | K x M | threads | GB/s | read bw GB/s | % of read bw |",
           "|---|---|---|---|---:|---:|---:|---:|"]
    for b in rows:
        fmt, variant, layout, f = matmul_label(b["label"])
        gbps, bw = b["GB/s"], b["read_bw"]
        out.append(f"| {fmt} | {variant} | {layout} | {f['K']}x{f['M']} | {f['t']} | {gbps:.1f} | {bw:.1f} | "
                   f"{100 * gbps / bw:.0f}% |")
    return out


def gemm_table(rows):
    out = ["| format | variant | layout | N | threads | G MAC/s | int8 peak G MAC/s | % of peak |",
           "|---|---|---|---:|---:|---:|---:|---:|"]
    for b in rows:
        fmt, variant, layout, f = matmul_label(b["label"])
        g, peak = b["GMAC/s"], b["int8_peak_G"]
        out.append(f"| {fmt} | {variant} | {layout} | {f['N']} | {f['t']} | {g:.0f} | {peak:.0f} | {100 * g / peak:.0f}% |")
    return out


def decode_table(rows):
    out = ["| case | KV GB/s | read bw GB/s | % of read bw |", "|---|---:|---:|---:|"]
    for b in rows:
        out.append(f"| {b['label']} | {b['KV_GB/s']:.1f} | {b['read_GB/s']:.1f} | {b['pct_read_bw']:.0f}% |")
    return out


def generic_table(rows):
    keys = sorted({k for b in rows for k in b if isinstance(b[k], float) and k not in
                   ("real_time", "cpu_time", "iterations", "repetitions")})
    out = ["| benchmark | label | time | " + " | ".join(keys) + " |", "|---|---|---:|" + "---:|" * len(keys)]
    for b in rows:
        vals = " | ".join(f"{b[k]:.3g}" if k in b else "" for k in keys)
        out.append(f"| {b['run_name'].split('/min_time')[0]} | {b.get('label', '')} | "
                   f"{b['real_time']:.3g} {b['time_unit']} | {vals} |")
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for path in sys.argv[1:]:
        ctx, rows = medians(path)
        print(f"<!-- {path}: {ctx['date']}, load average {ctx.get('load_avg')} -->")
        families = {}
        for b in rows:
            families.setdefault(b["run_name"].split("/")[0], []).append(b)
        for fam, fam_rows in families.items():
            table = {"BM_gemv": gemv_table, "BM_gemm": gemm_table,
                     "BM_DecodeAttention": decode_table}.get(fam, generic_table)(fam_rows)
            print(f"\n{fam}:\n")
            print("\n".join(table))
        print()


if __name__ == "__main__":
    main()
