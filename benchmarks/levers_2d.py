"""Levers on the recommended recipe, measured with the PacGAN protocol (the 2D benchmark's moonshot).

    python3 benchmarks/levers_2d.py                 # every lever, seeds 0-2, ring and grid
    python3 benchmarks/levers_2d.py --levers ema --seeds 5

Each lever changes one thing in ``recipes.RECIPES["R1 + TTUR + decay (recommended)"]``:

- ``ema``: the same runs, also scored with an exponential moving average of G's weights
  (decay 0.999, warmed up as min(0.999, (1 + t) / (10 + t)) at step t, so early weights fade out;
  Yazıcı et al. 2019). Raw and averaged G come from one run, so the comparison is paired.
- ``wide_g``: a generator twice as wide (256 units), the discriminator unchanged.
- ``decay_0.75``: the learning rates decayed over the last three quarters instead of the last half.

Results are stored in benchmarks/levers_2d.json and summarised in benchmarks/levers_2d.md.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from protocol_2d import _mean_se  # noqa: E402  (the same mean ± standard error as the benchmark's table)

STORE, TABLE = HERE / "levers_2d.json", HERE / "levers_2d.md"
LEVERS = ("ema", "wide_g", "decay_0.75")


def _one(lever: str, dataset: str, seed: int) -> list[dict]:
    import torch

    from ganlib import data, metrics, models, recipes, training

    base = recipes.RECIPES["R1 + TTUR + decay (recommended)"]
    recipe = replace(base, decay=0.75) if lever == "decay_0.75" else base
    training.seed_everything(seed)
    gan = recipes.build_2d(recipe)
    if lever == "wide_g":
        gan.generator = models.MLPGenerator(latent_dim=recipe.latent_dim, hidden=2 * recipe.hidden)
        gan.generator_parameters = list(gan.generator.parameters())
        gan.g_optimizer = torch.optim.Adam(gan.generator_parameters, lr=recipe.lr_g, betas=recipe.betas)
    average = copy.deepcopy(gan.generator)

    def update_average(g) -> None:
        beta = min(0.999, (1 + g.step) / (10 + g.step))
        with torch.no_grad():
            for a, p in zip(average.parameters(), g.generator.parameters(), strict=True):
                a.lerp_(p, 1 - beta)

    start = time.perf_counter()
    callback = update_average if lever == "ema" else None
    recipes.train_recipe(gan, recipe, data.toy_loader(dataset, batch_size=recipe.batch_size, seed=seed),
                         callback=callback, every=1)
    seconds = time.perf_counter() - start
    scored = [("raw G" if lever == "ema" else lever, gan.generator)]
    if lever == "ema":
        scored.append(("EMA of G", average))
    out = []
    for label, G in scored:
        torch.manual_seed(10_000 + seed)  # the benchmark's evaluation noise
        with torch.no_grad():
            m = metrics.mode_coverage(G(torch.randn(2500, recipe.latent_dim)), dataset)
        out.append({"lever": lever, "variant": label, "dataset": dataset, "seed": seed, "modes": m.modes_covered,
                    "high_quality": m.high_quality, "reverse_kl": m.reverse_kl if m.high_quality > 0 else None,
                    "seconds": seconds})
    return out


def write_table(runs: list[dict]) -> str:
    lines = ["# Levers on the recommended recipe (2D protocol)", "",
             "`python3 benchmarks/levers_2d.py`; mean ± standard error over the seeds; one run at a time, 1 thread. "
             "The recommended recipe's own rows are in protocol_2d.md.", ""]
    for dataset in ("ring", "grid"):
        lines += [f"## {dataset}", "", "| variant | seeds | modes | high quality % | reverse KL |",
                  "|---|---|---|---|---|"]
        for variant in dict.fromkeys(r["variant"] for r in runs):
            rows = [r for r in runs if r["variant"] == variant and r["dataset"] == dataset]
            if not rows:
                continue
            hq = [100 * r["high_quality"] for r in rows]
            mean, se = _mean_se(hq)
            kls = [r["reverse_kl"] for r in rows if r["reverse_kl"] is not None]
            kl = f"{statistics.fmean(kls):.3f}" if kls else "—"
            lines.append(f"| {variant} | {len(rows)} | {statistics.fmean(r['modes'] for r in rows):.1f} "
                         f"| {mean:.1f} ± {se:.1f} | {kl} |")
        lines.append("")
    text = "\n".join(lines)
    TABLE.write_text(text)
    return text


def main(argv: list[str] | None = None) -> None:
    sys.path.insert(0, str(HERE.parent))
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levers", nargs="+", default=list(LEVERS), choices=LEVERS)
    parser.add_argument("--datasets", nargs="+", default=["ring", "grid"], choices=["ring", "grid"])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    runs = json.loads(STORE.read_text()) if STORE.exists() else []
    for lever in args.levers:
        for dataset in args.datasets:
            for seed in range(args.seeds):
                runs = [r for r in runs if (r["lever"], r["dataset"], r["seed"]) != (lever, dataset, seed)]
                for r in _one(lever, dataset, seed):
                    runs.append(r)
                    print(f"{r['variant']} {dataset} seed {seed}: {r['modes']} modes, "
                          f"{100 * r['high_quality']:.1f}% HQ, {r['seconds']:.0f} s", flush=True)
                STORE.write_text(json.dumps(runs, indent=1))
    print(write_table(runs))


if __name__ == "__main__":
    main()
