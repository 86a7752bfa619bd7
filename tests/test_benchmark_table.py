"""benchmarks/protocol_2d.py's table: reverse KL is undefined ("—") for a run with no high-quality
sample, not log K; the rest is the mean ± standard error over the seeds where it is defined."""

import importlib.util
import json
import math
import statistics
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location(
    "protocol_2d", Path(__file__).resolve().parents[1] / "benchmarks" / "protocol_2d.py")
protocol_2d = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(protocol_2d)


def runs(*pairs):
    return [{"high_quality": hq, "reverse_kl": kl} for hq, kl in pairs]


def test_no_high_quality_sample_means_undefined():
    assert protocol_2d._reverse_kl_cell(runs((0.0, math.log(8)), (0.0, math.log(8)))) == "—"


def test_defined_seeds_give_mean_and_standard_error():
    cell = protocol_2d._reverse_kl_cell(runs((0.9, 0.1), (0.8, 0.3), (0.95, 0.2)))
    # mean 0.2; sample std 0.1; standard error 0.1 / sqrt(3) = 0.0577
    assert cell == "0.200 ± 0.058"


def test_undefined_seeds_are_counted_not_averaged():
    cell = protocol_2d._reverse_kl_cell(runs((0.9, 0.1), (0.0, math.log(8)), (0.5, 0.3)))
    assert cell == "0.200 ± 0.100 (1 of 3 seeds: —)"
    assert protocol_2d._reverse_kl_cell(runs((0.9, 0.4), (0.0, 2.0))) == "0.400 (1 of 2 seeds: —)"


def test_a_reverse_kl_from_few_high_quality_samples_is_marked():
    # ring, K = 8: 5 per mode is 40 of 2,500 samples, a share of 1.6 %
    few = runs((0.004, 0.5), (0.008, 0.3))  # 10 and 20 samples: 15 on average
    assert protocol_2d._reverse_kl_cell(few, 8) == "0.400 ± 0.100 †"
    assert protocol_2d._reverse_kl_cell(runs((0.9, 0.1), (0.8, 0.3)), 8) == "0.200 ± 0.100"
    assert protocol_2d._reverse_kl_cell(runs((0.017, 0.1), (0.017, 0.3)), 8) == "0.200 ± 0.100"  # 42.5: not marked
    assert protocol_2d._reverse_kl_cell(runs((0.017, 0.1), (0.017, 0.3)), 25) == "0.200 ± 0.100 †"  # grid: under 125
    assert protocol_2d._reverse_kl_cell(few) == "0.400 ± 0.100"  # without K, no mark
    # the plug-in bias the mark warns of: an even generator's n samples over K modes, simulated
    import numpy as np

    rng = np.random.default_rng(0)
    counts = rng.multinomial(12, np.full(8, 1 / 8), size=20_000)
    q = counts / 12
    kl = np.log(8) + np.where(q > 0, q * np.log(np.where(q > 0, q, 1)), 0).sum(axis=1)
    assert 0.2 < kl.mean() < 0.45  # about (K - 1)/(2n) = 0.29 and more: far from the 0 of a perfect balance


def test_every_stored_run_names_a_recipe_and_the_table_shows_undefined_rows(tmp_path, monkeypatch):
    from ganlib import recipes

    stored = json.loads((Path(protocol_2d.HERE) / "protocol_2d.json").read_text())
    assert {r["recipe"] for r in stored} <= set(recipes.RECIPES)
    monkeypatch.setattr(protocol_2d, "TABLE", tmp_path / "table.md")
    text = protocol_2d.write_table([{"recipe": "GAN", "dataset": "ring", "seed": s, "modes": 0, "high_quality": 0.0,
                                     "reverse_kl": math.log(8), "seconds": 1.0, "threads": 1} for s in range(2)])
    assert "| GAN | 2 | 6,000 × 1e-3 = 6 | 0.0 ± 0.0 | 0.0 ± 0.0 | **0.0: at noise level** | — |" in text
    assert "2.079" not in text


@pytest.mark.parametrize("argv", [["--recipes", "nope"]])
def test_an_unknown_recipe_is_named(argv, capsys):
    with pytest.raises(SystemExit):
        protocol_2d.main(argv)
    assert "unknown recipe(s) ['nope']" in capsys.readouterr().err


def _tables(text):
    """The markdown table rows of each dataset's section, in order."""
    sections = {}
    for dataset in ("ring", "grid"):
        part = text.split(f"{dataset} ({8 if dataset == 'ring' else 25} modes)")[1]
        rows = [line for line in part.splitlines() if line.startswith("|")]
        sections[dataset] = rows[: next(i for i, r in enumerate(rows) if "published" in r and "PacGAN" in r) + 1]
    return sections


def test_the_readme_carries_the_stored_table_as_it_is():
    root = Path(protocol_2d.HERE).parent
    table, readme = (root / "benchmarks" / "protocol_2d.md").read_text(), (root / "README.md").read_text()
    assert _tables(readme) == _tables(table), "README's 2D benchmark differs from benchmarks/protocol_2d.md: " \
        "run `python3 benchmarks/protocol_2d.py --table` and copy its two tables into the README"


def test_the_committed_table_is_what_the_stored_runs_give(tmp_path, monkeypatch):
    stored = json.loads((Path(protocol_2d.HERE) / "protocol_2d.json").read_text())
    committed = (Path(protocol_2d.HERE) / "protocol_2d.md").read_text()
    monkeypatch.setattr(protocol_2d, "TABLE", tmp_path / "table.md")
    assert _tables(protocol_2d.write_table(stored)) == _tables(committed), \
        "benchmarks/protocol_2d.md is stale: run `python3 benchmarks/protocol_2d.py --table`"


def test_controls_are_the_noise_floor_and_the_data_itself():
    from ganlib import metrics

    for dataset, k in (("ring", 8), ("grid", 25)):
        floor, real = protocol_2d.controls(dataset).values()
        # Closed form for uniform points on the square: each lands in a given 3-sigma disc with
        # p = pi (3 sigma)^2 / side^2, so K p of them are high quality and K (1 - (1 - p)^2500) modes covered.
        sigma = {"ring": 0.01, "grid": 0.05}[dataset]
        p = math.pi * (3 * sigma) ** 2 / (2 * metrics.NOISE_SQUARES[dataset]) ** 2
        hq = statistics.fmean(c.high_quality for c in floor)
        modes = statistics.fmean(c.modes_covered for c in floor)
        assert abs(hq - k * p) < 0.35 * k * p  # 10 draws of 2,500: ~10 % (ring) and ~5 % (grid) relative error
        assert abs(modes - k * (1 - (1 - p) ** 2500)) < 0.15 * k
        assert all(abs(c.high_quality - (1 - math.exp(-4.5))) < 0.01 and c.modes_covered == k for c in real)


def test_a_row_at_the_noise_floor_is_marked():
    assert protocol_2d._times_noise(0.009, 0.004) == "**2.2: at noise level**"
    assert protocol_2d._times_noise(0.5, 0.004) == "125"
    assert protocol_2d._lr(5e-5) == "5e-5" and protocol_2d._lr(1e-3) == "1e-3"
    assert protocol_2d._pm(0.447, float("nan"), scale=100) == "44.7"  # one seed: no standard error to show
    assert protocol_2d._pm(*protocol_2d._mean_se([7.0, 8.0, 9.0])) == "8.0 ± 0.6"


def test_stored_samples_round_trip(tmp_path, monkeypatch):
    import torch

    from ganlib import recipes

    monkeypatch.setattr(protocol_2d, "SAMPLES", tmp_path / "samples.pt")
    monkeypatch.setattr(recipes, "SAMPLES_FILE", tmp_path / "samples.pt")
    samples = torch.randn(2500, 2).half()
    protocol_2d._store_samples("GAN", "ring", samples)
    protocol_2d._store_samples("GAN", "grid", 2 * samples)
    stored = recipes.stored_samples("GAN", "ring")
    assert torch.equal(stored.samples, samples.float()) and stored.seed == 0
    assert stored.command == "python3 benchmarks/protocol_2d.py --recipes 'GAN' --datasets ring --seeds 1"
    with pytest.raises(KeyError, match="stored recipes: \\['GAN'\\]"):
        recipes.stored_samples("WGAN-GP", "ring")


def test_the_shipped_samples_are_the_benchmark_rows_seed_0():
    import torch

    from ganlib import metrics, recipes

    assert recipes.SAMPLES_FILE.stat().st_size < 500_000  # small enough to ship with ganlib
    stored = torch.load(recipes.SAMPLES_FILE, weights_only=True)
    rows = {(r["recipe"], r["dataset"]): r for r in json.loads((Path(protocol_2d.HERE) / "protocol_2d.json")
                                                                .read_text()) if r["seed"] == 0}
    assert stored, "no stored samples"
    for key, run in stored.items():
        name, dataset = key.rsplit(" | ", 1)
        assert run["samples"].dtype == torch.float16 and run["samples"].shape == (2500, 2)
        score, row = metrics.mode_coverage(run["samples"].float(), dataset), rows[name, dataset]
        # float16 moves a point by at most 2^-11 of its size, so a few samples at a disc's edge may flip
        assert abs(score.high_quality - row["high_quality"]) <= 0.002, key
        assert abs(score.modes_covered - row["modes"]) <= 1, key
