"""The 2D protocol (PacGAN, Lin et al. 2018) for each recipe of notebooks 08 and 10.

    python3 benchmarks/protocol_2d.py                        # every recipe, 10 seeds, ring and grid
    python3 benchmarks/protocol_2d.py --recipes GAN --seeds 3
    python3 benchmarks/protocol_2d.py --recipes PacGAN2 --first-seed 3 --seeds 5   # add seeds 3 and 4
    python3 benchmarks/protocol_2d.py --table                  # rewrite the table from the stored runs

Each run trains one recipe (``ganlib.recipes``) from one seed and measures 2,500 samples.
Runs go one at a time with 2 threads (2 cores; ``--jobs 2 --threads 1`` halves the wall time and
makes each run slower). Every run is stored in
benchmarks/protocol_2d.json (so a later call can add recipes or seeds), and the table of all
stored runs, mean ± standard error, is written to benchmarks/protocol_2d.md, beside two controls
computed afresh: uniform noise on a square around the modes (the floor: a stray sample covers a
mode) and real samples (the ceiling). The final samples of seed 0's run of each recipe are kept
(float16) in ganlib/samples/protocol_2d.pt, so notebooks can draw them without training
(``ganlib.recipes.stored_samples``).
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
SAMPLES = HERE.parent / "ganlib" / "samples" / "protocol_2d.pt"
SAMPLE_SEED = 0  # the seed whose final samples are kept
CONTROL_DRAWS = 10  # sets of 2,500 points for each control row
AT_NOISE = 3  # a row whose high-quality share is under this many times the noise floor's is marked
N_SAMPLES = 2500  # samples measured per run
FEW_PER_MODE = 5  # a reverse KL from fewer high-quality samples per mode than this (on average) is marked

# PacGAN Table 1 (Lin et al., 2018; 10 trials, 2,500 samples): modes, HQ %, reverse KL. The GAN row
# and the best PacGAN row of each dataset.
PUBLISHED = {
    "ring": [("GAN", 6.3, 98.2, 0.45), ("PacGAN2", 7.9, 95.6, 0.07)],
    "grid": [("GAN", 17.3, 94.8, 0.70), ("PacGAN4", 24.8, 93.6, 0.04)],
}


def _one(name: str, dataset: str, seed: int, threads: int) -> tuple[dict, object]:
    """One run's row, and its final samples (float16) for the sample seed (else None)."""
    import torch

    torch.set_num_threads(threads)
    from ganlib import metrics, recipes

    start = time.perf_counter()
    gan = recipes.train_2d(recipes.RECIPES[name], dataset, seed)  # as recipes.run_2d does, keeping the samples
    seconds = time.perf_counter() - start
    samples = recipes.evaluation_samples(gan, seed, N_SAMPLES)
    result = metrics.mode_coverage(samples, dataset)
    row = {"recipe": name, "dataset": dataset, "seed": seed, "modes": result.modes_covered,
           "high_quality": result.high_quality, "reverse_kl": result.reverse_kl, "seconds": seconds,
           "threads": threads}
    return row, (samples.half() if seed == SAMPLE_SEED else None)


def _store_samples(name: str, dataset: str, samples) -> None:
    import torch

    stored = torch.load(SAMPLES, weights_only=True) if SAMPLES.exists() else {}
    stored[f"{name} | {dataset}"] = {"samples": samples, "seed": SAMPLE_SEED}
    SAMPLES.parent.mkdir(exist_ok=True)
    torch.save(dict(sorted(stored.items())), SAMPLES)


def controls(dataset: str) -> dict[str, dict]:
    """The floor and the ceiling, scored like a recipe: uniform noise on the square
    ``metrics.NOISE_SQUARES`` gives, and real samples (10 sets of 2,500 each)."""
    from ganlib import data, metrics

    noise = metrics.noise_floor(dataset, n=N_SAMPLES, draws=CONTROL_DRAWS)
    real = [metrics.mode_coverage(data.sample_toy(dataset, N_SAMPLES, seed=s), dataset) for s in range(CONTROL_DRAWS)]
    side = metrics.NOISE_SQUARES[dataset]
    return {f"*uniform noise on [−{side:g}, {side:g}]² (floor)*": noise, "*real samples (ceiling)*": real}


def _mean_se(values: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else float("nan"))


def _reverse_kl_cell(rows: list[dict], modes: int | None = None) -> str:
    """Reverse KL over the seeds where it is defined: with no high-quality sample there is no mode
    histogram, so that seed's reverse KL is undefined ("—"), not log K.

    With ``modes`` (K), a value from fewer than FEW_PER_MODE high-quality samples per mode on average
    is marked †: a histogram of n samples from a perfectly even generator already scores about
    (K − 1)/(2n) by chance (the plug-in entropy's bias), so such a value says little about balance."""
    defined = [r["reverse_kl"] for r in rows if r["high_quality"] > 0]
    if not defined:
        return "—"
    mean, se = _mean_se(defined)
    cell = f"{mean:.3f} ± {se:.3f}" if len(defined) > 1 else f"{mean:.3f}"
    if modes is not None and statistics.fmean(r["high_quality"] for r in rows) * N_SAMPLES < FEW_PER_MODE * modes:
        cell += " †"
    return cell if len(defined) == len(rows) else f"{cell} ({len(rows) - len(defined)} of {len(rows)} seeds: —)"


def _pm(mean: float, se: float, scale: float = 1) -> str:
    """mean ± standard error with one decimal; a single seed has no standard error, so its value alone."""
    return f"{scale * mean:.1f}" if math.isnan(se) else f"{scale * mean:.1f} ± {scale * se:.1f}"


def _lr(value: float) -> str:
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _times_noise(high_quality: float, floor: float) -> str:
    """How many times the noise floor's high-quality share, marked where it is within AT_NOISE of it."""
    ratio = high_quality / floor
    return f"{ratio:.0f}" if ratio >= AT_NOISE else f"**{ratio:.1f}: at noise level**"


def write_table(runs: list[dict]) -> str:
    from ganlib import recipes

    lines = [
        "# The 2D protocol: ganlib's recipes beside PacGAN Table 1",
        "",
        f"`python3 benchmarks/protocol_2d.py` on {platform.machine()}, {os.cpu_count()} cores; mean ± standard error "
        "over the seeds. 2,500 samples per run; a sample is high quality within 3σ of a mode; real samples "
        "themselves score 1 − e^(−9/2) = 98.9 % by this rule (the ceiling row), and uniform noise on a square around "
        "the modes covers most modes by chance, since one stray sample covers a mode (the floor row); \"× noise's\" is "
        "a row's high-quality share over the floor's, marked where it is under 3. \"G steps × lr G\" is about how far "
        "Adam, which moves each weight by about lr per step, can carry the generator (decayed steps count at their "
        "mean rate); the WGANs take 5 critic steps per generator step, which makes a run about twice as long. "
        "Reverse KL is the KL divergence from the high-quality samples' mode histogram to the uniform one; a run "
        "with no high-quality sample has no histogram, so its reverse KL is undefined (—), and † marks a reverse KL "
        f"from fewer than {FEW_PER_MODE} high-quality samples per mode on average, where even a perfectly balanced "
        "generator's n samples score about (K − 1)/(2n) by chance: it says little about balance. Seconds per run "
        "are with the torch threads shown, one run at a time. "
        "Published rows: Lin et al. (2018), *PacGAN*, Table 1 (their architecture "
        "and a 400,000-step budget, not ours; their PacGAN's discriminator sees m samples per decision and as many "
        "decisions per step as the unpacked one, ours concatenates consecutive samples, so PacGAN2 makes half as "
        "many decisions per batch of 512).",
        "",
    ]
    for dataset in ("ring", "grid"):
        k = 8 if dataset == "ring" else 25
        control = controls(dataset)
        floor = statistics.fmean(c.high_quality for c in next(iter(control.values())))
        lines += [f"## {dataset} ({k} modes)", "",
                  f"| recipe | seeds | G steps × lr G | modes (of {k}) | high quality % | × noise's | reverse KL "
                  "| seconds per run | threads |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for name in recipes.RECIPES:
            rows = [r for r in runs if r["recipe"] == name and r["dataset"] == dataset]
            if not rows:
                continue
            recipe = recipes.RECIPES[name]
            m, hq, sec = (_mean_se([r[key] for r in rows]) for key in ("modes", "high_quality", "seconds"))
            threads = "/".join(str(t) for t in sorted({r.get("threads", 1) for r in rows}))
            lines.append(f"| {name} | {len(rows)} | {recipe.steps:,} × {_lr(recipe.lr_g)}"
                         f"{' (decayed)' if recipe.decay else ''} = {recipe.step_length:.2g} "
                         f"| {_pm(*m)} | {_pm(*hq, scale=100)} "
                         f"| {_times_noise(hq[0], floor)} | {_reverse_kl_cell(rows, k)} "
                         f"| {sec[0]:.0f} (max {max(r['seconds'] for r in rows):.0f}) | {threads} |")
        for i, (name, scores) in enumerate(control.items()):
            m, hq = _mean_se([c.modes_covered for c in scores]), _mean_se([c.high_quality for c in scores])
            kl = _reverse_kl_cell([{"high_quality": c.high_quality, "reverse_kl": c.reverse_kl} for c in scores], k)
            lines.append(f"| {name} | {len(scores)} draws | | {m[0]:.1f} ± {m[1]:.1f} | {100 * hq[0]:.1f} ± "
                         f"{100 * hq[1]:.1f} | {'1' if i == 0 else _times_noise(hq[0], floor)} | {kl} | | |")
        for name, modes, hq, kl in PUBLISHED[dataset]:
            lines.append(f"| *published: {name}* | 10 | 400,000 × their lr | {modes} | {hq} "
                         f"| {_times_noise(hq / 100, floor)} | {kl} | | |")
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
            r, samples = future.result()
            keep.append(r)
            if samples is not None:
                _store_samples(r["recipe"], r["dataset"], samples)
            print(f"[{i}/{len(todo)}] {r['recipe']} {r['dataset']} seed {r['seed']}: {r['modes']} modes, "
                  f"{100 * r['high_quality']:.1f}% HQ, rKL {r['reverse_kl']:.3f}, {r['seconds']:.0f} s", flush=True)
            STORE.write_text(json.dumps(sorted(keep, key=lambda r: (r["recipe"], r["dataset"], r["seed"])), indent=1))
    print(write_table(keep))
    print(f"{len(todo)} runs in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
