"""benchmarks/protocol_2d.py's table: reverse KL is undefined ("—") for a run with no high-quality
sample, not log K; the rest is the mean ± standard error over the seeds where it is defined."""

import importlib.util
import math
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


def test_every_stored_run_names_a_recipe_and_the_table_shows_undefined_rows(tmp_path, monkeypatch):
    import json

    from ganlib import recipes

    stored = json.loads((Path(protocol_2d.HERE) / "protocol_2d.json").read_text())
    assert {r["recipe"] for r in stored} <= set(recipes.RECIPES)
    monkeypatch.setattr(protocol_2d, "TABLE", tmp_path / "table.md")
    text = protocol_2d.write_table([{"recipe": "GAN", "dataset": "ring", "seed": s, "modes": 0, "high_quality": 0.0,
                                     "reverse_kl": math.log(8), "seconds": 1.0, "threads": 1} for s in range(2)])
    assert "| GAN | 2 | 0.0 ± 0.0 | 0.0 ± 0.0 | — |" in text
    assert "2.079" not in text


@pytest.mark.parametrize("argv", [["--recipes", "nope"]])
def test_an_unknown_recipe_is_named(argv, capsys):
    with pytest.raises(SystemExit):
        protocol_2d.main(argv)
    assert "unknown recipe(s) ['nope']" in capsys.readouterr().err
