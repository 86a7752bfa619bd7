"""The 2D protocol (PacGAN, Lin et al. 2018) for each recipe of notebooks 08 and 10.

    python3 benchmarks/protocol_2d.py                        # every recipe, 10 seeds, ring and grid
    python3 benchmarks/protocol_2d.py --recipes GAN --seeds 3
    python3 benchmarks/protocol_2d.py --recipes PacGAN2 --first-seed 3 --seeds 5   # add seeds 3 and 4
    python3 benchmarks/protocol_2d.py --table                  # rewrite the table from the stored runs

Each run trains one recipe (``ganlib.recipes``) from one seed and measures 2,500 samples.
Runs go one at a time with 2 threads (2 cores; ``--jobs 2 --threads 1`` halves the wall time and
makes each run slower). Every run is stored in
benchmarks/protocol_2d.json (so a later call can add recipes or seeds), and the table of all
stored runs, mean ± standard error, is written to benchmarks/protocol_2d.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

HERE = Path(__file__).resolve().parent
STORE, TABLE = HERE / "protocol_2d.json", HERE / "protocol_2d.md"

# PacGAN Table 1 (Lin et al., 2018; 10 trials, 2,500 samples): modes, HQ %, reverse KL. The GAN row
# and the best PacGAN row of each dataset.
PUBLISHED = {
    "ring": [("GAN", 6.3, 98.2, 0.45), ("PacGAN2", 7.9, 95.6, 0.07)],
    "grid": [("GAN", 17.3, 94.8, 0.70), ("PacGAN4", 24.8, 93.6, 0.04)],
}


def _one(name: str, dataset: str, seed: int, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    from ganlib import recipes

    result, seconds = recipes.run_2d(recipes.RECIPES[name], dataset, seed)
    return {"recipe": name, "dataset": dataset, "seed": seed, "modes": result.modes_covered,
            "high_quality": result.high_quality, "reverse_kl": result.reverse_kl, "seconds": seconds,
            "threads": threads}


def _mean_se(values: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else float("nan"))


def _reverse_kl_cell(rows: list[dict]) -> str:
    """Reverse KL over the seeds where it is defined: with no high-quality sample there is no mode
    histogram, so that seed's reverse KL is undefined ("—"), not log K."""
    defined = [r["reverse_kl"] for r in rows if r["high_quality"] > 0]
    if not defined:
        return "—"
    mean, se = _mean_se(defined)
    cell = f"{mean:.3f} ± {se:.3f}" if len(defined) > 1 else f"{mean:.3f}"
    return cell if len(defined) == len(rows) else f"{cell} ({len(rows) - len(defined)} of {len(rows)} seeds: —)"


def write_table(runs: list[dict]) -> str:
    from ganlib import recipes

    lines = [
        "# The 2D protocol: ganlib's recipes beside PacGAN Table 1",
        "",
        f"`python3 benchmarks/protocol_2d.py` on {platform.machine()}, {os.cpu_count()} cores; mean ± standard error "
        "over the seeds. 2,500 samples per run; a sample is high quality within 3σ of a mode; real samples "
        "themselves score 1 − e^(−9/2) = 98.9 % by this rule. Reverse KL is the KL divergence from the high-quality "
        "samples' mode histogram to the uniform one; a run with no high-quality sample has no histogram, so its "
        "reverse KL is undefined (—). Seconds per run are with the torch threads shown, one run at a time. "
        "Published rows: Lin et al. (2018), *PacGAN*, Table 1 (their architecture "
        "and a 400,000-step budget, not ours; their PacGAN's discriminator sees m samples per decision and as many "
        "decisions per step as the unpacked one, ours concatenates consecutive samples, so PacGAN2 makes half as "
        "many decisions per batch of 512).",
        "",
    ]
    for dataset in ("ring", "grid"):
        k = 8 if dataset == "ring" else 25
        lines += [f"## {dataset} ({k} modes)", "",
                  f"| recipe | seeds | modes (of {k}) | high quality % | reverse KL | seconds per run | threads |",
                  "|---|---|---|---|---|---|---|"]
        for name in recipes.RECIPES:
            rows = [r for r in runs if r["recipe"] == name and r["dataset"] == dataset]
            if not rows:
                continue
            m, hq, sec = (_mean_se([r[key] for r in rows]) for key in ("modes", "high_quality", "seconds"))
            threads = "/".join(str(t) for t in sorted({r.get("threads", 1) for r in rows}))
            lines.append(f"| {name} | {len(rows)} | {m[0]:.1f} ± {m[1]:.1f} | {100 * hq[0]:.1f} ± {100 * hq[1]:.1f} "
                         f"| {_reverse_kl_cell(rows)} | {sec[0]:.0f} (max {max(r['seconds'] for r in rows):.0f}) "
                         f"| {threads} |")
        for name, modes, hq, kl in PUBLISHED[dataset]:
            lines.append(f"| *published: {name}* | 10 | {modes} | {hq} | {kl} | | |")
        lines.append("")
    text = "\n".join(lines)
    TABLE.write_text(text)
    return text


def main(argv: list[str] | None = None) -> None:
    sys.path.insert(0, str(HERE.parent))
    from ganlib import recipes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=list(recipes.RECIPES), metavar="NAME",
                        help=f"recipe names (default: all): {', '.join(recipes.RECIPES)}")
    parser.add_argument("--datasets", nargs="+", default=["ring", "grid"], choices=["ring", "grid"])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default 10, the protocol's)")
    parser.add_argument("--first-seed", type=int, default=0, help="start at this seed (to add seeds to a row)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time (default 1)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per run (default 2)")
    parser.add_argument("--table", action="store_true", help="only rewrite the table from the stored runs")
    args = parser.parse_args(argv)
    unknown = [n for n in args.recipes if n not in recipes.RECIPES]
    if unknown:
        parser.error(f"unknown recipe(s) {unknown}; choose from {list(recipes.RECIPES)}")
    runs = json.loads(STORE.read_text()) if STORE.exists() else []
    if args.table:
        print(write_table(runs))
        return
    todo = [(n, d, s) for n in args.recipes for d in args.datasets for s in range(args.first_seed, args.seeds)]
    keep = [r for r in runs if (r["recipe"], r["dataset"], r["seed"]) not in set(todo)]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(_one, *job, args.threads) for job in todo]
        for i, future in enumerate(as_completed(futures), 1):
            r = future.result()
            keep.append(r)
            print(f"[{i}/{len(todo)}] {r['recipe']} {r['dataset']} seed {r['seed']}: {r['modes']} modes, "
                  f"{100 * r['high_quality']:.1f}% HQ, rKL {r['reverse_kl']:.3f}, {r['seconds']:.0f} s", flush=True)
            STORE.write_text(json.dumps(sorted(keep, key=lambda r: (r["recipe"], r["dataset"], r["seed"])), indent=1))
    print(write_table(keep))
    print(f"{len(todo)} runs in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
