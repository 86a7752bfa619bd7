"""Measure the course: notebook run times, the trainer's overhead, time to quality.

    python3 course.py bench                  # everything but the test command (~14 min on 2 cores)
    python3 course.py bench --test-command   # also time `python3 course.py test` (~7 more minutes)
    python3 course.py bench --notebooks 01 04  # only these notebooks' rows, printed; results.md untouched

Each notebook runs twice in a fresh kernel: with 2 threads on the whole machine, then with its
kernel pinned to one CPU and the threads left to ``training.setup`` (as on Binder, which gives one
CPU); the second run also reports the kernel's peak memory. A kernel above 1.5 GB (Binder caps
memory at 2 GB) fails the bench, after results.md is written.

Writes benchmarks/results.md (the README's table comes from it). Run it on an otherwise idle
machine: two jobs sharing 2 cores slow each other far more than twice (busy-waiting threads).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import torch
import torch.nn.functional as F
from nbclient import NotebookClient
from torch import nn

from ganlib import data, metrics, models, recipes, training

ROOT = Path(__file__).resolve().parents[1]
THREADS = 2
MEMORY_LIMIT = 1.5e9  # bytes a notebook's kernel may reach: Binder stops kernels at 2 GB
# Run in the kernel after the notebook's last cell: what it ran with and its peak resident memory
# (ru_maxrss: kilobytes on Linux, bytes on macOS).
PROBE = """\
import json as _json, os as _os, resource as _resource, sys as _sys, torch as _torch
_peak = _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss * (1 if _sys.platform == "darwin" else 1024)
_cpus = sorted(_os.sched_getaffinity(0)) if hasattr(_os, "sched_getaffinity") else None
print("BENCH-PROBE", _json.dumps({"threads": _torch.get_num_threads(), "cpus": _cpus, "peak_bytes": _peak}))
"""


@dataclasses.dataclass(frozen=True)
class NotebookRun:
    seconds: float  # kernel start to the end of the last cell
    threads: int  # PyTorch's threads in the kernel at the end
    cpus: list[int] | None  # the CPUs the kernel could run on
    peak_bytes: int  # the kernel's peak resident memory


def _pin(pid: int, cpu: int) -> None:
    """Pin every thread of process ``pid`` to ``cpu``; threads it starts later inherit the pinning."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        os.sched_setaffinity(int(tid), {cpu})


def run_notebook(path: Path, threads: int | None = None, pin_cpu: int | None = None,
                 kernel_name: str | None = None) -> NotebookRun:
    """Execute ``path`` top to bottom in a fresh kernel, as a learner runs it.

    ``threads`` sets GANLIB_THREADS in the kernel; without it ``training.setup`` chooses (and
    OMP/MKL_NUM_THREADS are removed either way, as in a learner's shell). ``pin_cpu`` pins the
    kernel to that CPU (Linux) as soon as it has started, before any cell runs.
    """
    nb = nbformat.read(path, as_version=4)
    env = {k: v for k, v in os.environ.items() if k not in ("GANLIB_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    if threads is not None:
        env["GANLIB_THREADS"] = str(threads)
    options = {"kernel_name": kernel_name} if kernel_name else {}
    client = NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(path.parent)}}, **options)
    start = time.perf_counter()
    with client.setup_kernel(env=env):
        if pin_cpu is not None:
            _pin(client.km.provisioner.pid, pin_cpu)
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        seconds = time.perf_counter() - start
        probe = nbformat.v4.new_code_cell(PROBE)
        nb.cells.append(probe)
        client.execute_cell(probe, len(nb.cells) - 1)
    text = "".join(o.get("text", "") for o in probe.outputs if o.get("output_type") == "stream")
    found = json.loads(text.split("BENCH-PROBE", 1)[1])
    return NotebookRun(seconds, found["threads"], found["cpus"], found["peak_bytes"])


def notebook_times(names: list[str] | None = None) -> list[tuple[str, NotebookRun, NotebookRun]]:
    """Each notebook (or those whose number is in ``names``) at 2 threads, then pinned to one CPU."""
    cpu = min(os.sched_getaffinity(0))
    rows = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        if names and path.name[:2] not in names:
            continue
        two, one = run_notebook(path, threads=THREADS), run_notebook(path, pin_cpu=cpu)
        rows.append((path.name, two, one))
        print(f"  {path.name}: {two.seconds:.1f} s at {two.threads} threads; {one.seconds:.1f} s on CPU {cpu} "
              f"({one.threads} thread{'s' * (one.threads != 1)}); peak memory {_gb(_peak(two, one))}", flush=True)
        if _peak(two, one) > MEMORY_LIMIT:
            print(f"  !!! {path.name}: its kernel reached {_gb(_peak(two, one))}, above the "
                  f"{_gb(MEMORY_LIMIT)} a notebook may use (Binder stops kernels at 2 GB)", flush=True)
    return rows


def _peak(*runs: NotebookRun) -> int:
    return max(run.peak_bytes for run in runs)


def _gb(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.2f} GB"


def notebook_table(rows: list[tuple[str, NotebookRun, NotebookRun]]) -> list[str]:
    lines = ["| notebook | 2 threads (s) | 1 CPU (s) | threads on 1 CPU | kernel's peak memory |",
             "|---|---|---|---|---|"]
    lines += [f"| `{name}` | {two.seconds:.1f} | {one.seconds:.1f} | {one.threads} | {_gb(_peak(two, one))} |"
              for name, two, one in rows]
    total = lambda runs: sum(run.seconds for run in runs)  # noqa: E731
    lines.append(f"| **all** | **{total(r[1] for r in rows):.1f}** | **{total(r[2] for r in rows):.1f}** | | "
                 f"max **{_gb(max(_peak(two, one) for _, two, one in rows))}** |")
    return lines


def readme_table(rows: list[tuple[str, NotebookRun, NotebookRun]], plain_ms: float | None = None) -> list[str]:
    """The same numbers as the README shows them: one column per notebook, with the machine's speed
    (the trainer's plain-loop ms/step) so a reader can scale them to theirs."""
    total = lambda i: sum(r[i].seconds for r in rows)  # noqa: E731
    minutes = lambda seconds: f"{int(seconds // 60)} min {seconds % 60:.0f} s"  # noqa: E731
    speed = f" (its speed: {plain_ms:.2f} ms per step of the plain training loop below)" if plain_ms else ""
    return [f"On {machine()}{speed}, {time.strftime('%Y-%m-%d')}:", "",
            "| | " + " | ".join(name[:2] for name, _, _ in rows) + " | all |",
            "|---|" + "---|" * (len(rows) + 1),
            "| 2 threads, 2 cores | " + " | ".join(f"{two.seconds:.1f}" for _, two, _ in rows)
            + f" | {minutes(total(1))} |",
            "| 1 CPU (kernel pinned, threads left to `training.setup`) | "
            + " | ".join(f"{one.seconds:.1f}" for _, _, one in rows) + f" | {minutes(total(2))} |",
            "| kernel's peak memory (GB) | " + " | ".join(f"{_peak(two, one) / 1e9:.2f}" for _, two, one in rows)
            + f" | max {max(_peak(two, one) for _, two, one in rows) / 1e9:.2f} |"]


def over_memory(rows: list[tuple[str, NotebookRun, NotebookRun]]) -> list[str]:
    return [f"{name} ({_gb(_peak(two, one))})" for name, two, one in rows if _peak(two, one) > MEMORY_LIMIT]


def machine() -> str:
    """The machine, in words: its CPU model, CPUs, memory and system."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        memory = f", {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GiB of memory"
    except (AttributeError, ValueError, OSError):
        memory = ""
    return f"{model}, {cpus} CPUs{memory}, {platform.system()} {platform.machine()}"


def trainer_overhead(pairs: int = 50, steps: int = 100) -> tuple[float, float, float]:
    """ganlib's train() against a plain loop doing the same work: same models, batch, optimizer.

    Pairs of ``steps``-step blocks in one process, the order alternating from pair to pair
    (so drift and warm-up favour neither); returns the median ms/step of each and the median
    of the per-pair ratios.
    """
    torch.manual_seed(0)
    G1, D1 = models.MLPGenerator(latent_dim=8, hidden=64), models.MLPDiscriminator(hidden=64)
    torch.manual_seed(0)
    G2, D2 = models.MLPGenerator(latent_dim=8, hidden=64), models.MLPDiscriminator(hidden=64)
    opt_g = torch.optim.Adam(G1.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D1.parameters(), lr=2e-4, betas=(0.5, 0.999))
    gan = training.GAN(G2, D2, device="cpu")
    loader = data.toy_loader("ring", batch_size=256)
    plain_batches, lib_batches = iter(_cycle(loader)), iter(_cycle(loader))

    def plain(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            (real,) = next(plain_batches)
            fake = G1(torch.randn(256, 8)).detach()
            d_loss = F.softplus(-D1(real)).mean() + F.softplus(D1(fake)).mean()
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            g_loss = F.softplus(-D1(G1(torch.randn(256, 8)))).mean()
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
        return time.perf_counter() - start

    def library(n: int) -> float:
        start = time.perf_counter()
        training.train(gan, lib_batches, n, progress=False)
        return time.perf_counter() - start

    plain(steps), library(steps)  # warm up
    results = []
    for i in range(pairs):
        if i % 2:
            b = library(steps)
            a = plain(steps)
        else:
            a = plain(steps)
            b = library(steps)
        results.append((a, b))
    ms = lambda values: 1000 * statistics.median(values) / steps  # noqa: E731
    return ms(a for a, _ in results), ms(b for _, b in results), statistics.median(b / a for a, b in results)


def _cycle(loader):
    while True:
        yield from loader


class _SigmoidD(nn.Module):
    """The DCGAN tutorial's discriminator ends in a sigmoid and is trained with nn.BCELoss."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(models.MLPDiscriminator(hidden=64), nn.Sigmoid())

    def forward(self, x):
        return self.net(x)


class _TutorialRecipe:
    """The PyTorch DCGAN tutorial's training loop: Adam(2e-4, betas=(0.5, 0.999)) for both,
    BCELoss on D's sigmoid outputs, the generator trained towards the "real" label."""

    def __init__(self, G: nn.Module, D: nn.Module, latent_dim: int):
        self.G, self.D, self.latent_dim = G, D, latent_dim
        self.opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.bce = nn.BCELoss()

    def train(self, batches, steps: int) -> None:
        for _ in range(steps):
            real = next(batches)[0]
            ones, zeros = torch.ones(len(real)), torch.zeros(len(real))
            fake = self.G(torch.randn(len(real), self.latent_dim))
            d_loss = self.bce(self.D(real), ones) + self.bce(self.D(fake.detach()), zeros)
            self.opt_d.zero_grad()
            d_loss.backward()
            self.opt_d.step()
            g_loss = self.bce(self.D(fake), ones)
            self.opt_g.zero_grad()
            g_loss.backward()
            self.opt_g.step()


def _ring_quality(samples: torch.Tensor) -> bool:
    result = metrics.mode_coverage(samples, "ring")
    return result.modes_covered >= 7 and result.high_quality >= 0.5


def ring_time_to_quality(seed: int, recipe: str, max_steps: int = 4000, every: int = 250) -> tuple[int | None, float]:
    """Steps and seconds of training until >= 7 of 8 modes and >= 50% high quality (evaluation excluded)."""
    training.setup(seed=seed, threads=THREADS)
    G = models.MLPGenerator(latent_dim=8, hidden=64)
    loader = iter(_cycle(data.toy_loader("ring", batch_size=256, seed=seed)))
    elapsed = 0.0
    if recipe == "ganlib":
        gan = training.GAN(G, models.MLPDiscriminator(hidden=64), lr_g=1e-3, lr_d=2e-3, device="cpu")
        for step in range(every, max_steps + 1, every):
            if step > 2000 and gan.step == 2000:
                gan.set_learning_rates(lr_g=1e-4, lr_d=2e-4)
            start = time.perf_counter()
            training.train(gan, loader, every, progress=False)
            elapsed += time.perf_counter() - start
            if _ring_quality(gan.sample(2500)):
                return step, elapsed
        return None, elapsed
    tutorial = _TutorialRecipe(G, _SigmoidD(), latent_dim=8)
    for step in range(every, max_steps + 1, every):
        start = time.perf_counter()
        tutorial.train(loader, every)
        elapsed += time.perf_counter() - start
        with torch.no_grad():
            if _ring_quality(G(torch.randn(2500, 8))):
                return step, elapsed
    return None, elapsed


class DigitsJudge:
    """Quality of generated 8x8 digits, measured as notebooks 04 and 09 measure it: the share of
    samples the course's digits classifier (``ganlib.classifier``, shipped weights) reads with
    probability >= 0.9, how many different digits those are, and the FID against the training
    split in the classifier's features."""

    def __init__(self, n: int = 1000):
        from ganlib.classifier import load_digits_classifier

        self.n = n
        self.model = load_digits_classifier()
        with torch.no_grad():
            self.train_features = self.model.features(data.load_digits(split="train")[0])
        self.test_accuracy = self.model.test_accuracy
        self.real = self.measure(data.load_digits(split="test")[0])

    @torch.no_grad()
    def measure(self, images: torch.Tensor) -> tuple[float, int, float]:
        digits, confidence = self.model.predict(images.clamp(-1, 1))
        confident = confidence >= 0.9
        fid = metrics.frechet_distance(self.train_features, self.model.features(images.clamp(-1, 1)))
        return float(confident.float().mean()), len(set(digits[confident].tolist())), float(fid)


NOTEBOOK_04_NETWORKS = {"d_hidden": 128, "refine": True}  # as notebook 04 builds its DCGAN


def digits_quality_over_time(judge: DigitsJudge, seed: int, recipe: str, checkpoints=(1000, 2000, 3000)):
    """DCGAN on the 8x8 digits (batch 64): the judge's measures of ``judge.n`` samples at each
    checkpoint, with the training seconds so far.

    "ganlib" and "DCGAN tutorial" train the same networks (width 64, BatchNorm in both) with the
    tutorial's settings; "course recipe" is notebook 04's: ``recipes.DIGITS`` (TTUR, decay over
    the second half) with R1 γ = 1, stretched to the last checkpoint, on ``recipes.build_digits``'s
    networks with notebook 04's extra layers (``NOTEBOOK_04_NETWORKS``).
    """
    training.setup(seed=seed, threads=THREADS)
    loader = data.digits_loader(batch_size=64, split="train", seed=seed)  # as notebook 04
    curve, elapsed = [], 0.0
    if recipe == "course recipe":
        stretched = dataclasses.replace(recipes.DIGITS, r1=1.0, steps=checkpoints[-1])
        gan = recipes.build_digits(stretched, **NOTEBOOK_04_NETWORKS)
        last = time.perf_counter()

        def measure(gan: training.GAN) -> None:
            nonlocal elapsed, last
            elapsed += time.perf_counter() - last
            if gan.step in checkpoints:
                curve.append((*judge.measure(gan.sample(judge.n)), elapsed))
            last = time.perf_counter()  # evaluation time excluded

        recipes.train_recipe(gan, stretched, loader, callback=measure, every=checkpoints[0])
        return curve
    G = models.DCGANGenerator(latent_dim=32, image_size=8, width=64)
    D = models.DCGANDiscriminator(image_size=8, width=64)
    batches = iter(_cycle(loader))
    gan = training.GAN(G, D, loss="non_saturating", lr_g=2e-4, lr_d=2e-4, device="cpu")
    tutorial = _TutorialRecipe(G, nn.Sequential(D, nn.Sigmoid()), latent_dim=32)
    done = 0
    for checkpoint in checkpoints:
        start = time.perf_counter()
        if recipe == "ganlib":
            training.train(gan, batches, checkpoint - done, progress=False)
        else:
            tutorial.train(batches, checkpoint - done)
        elapsed += time.perf_counter() - start
        done = checkpoint
        curve.append((*judge.measure(gan.sample(judge.n)), elapsed))  # G in evaluation mode, for both recipes
    return curve


def test_command_time() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "course.py"), "test", "-q"], check=True, cwd=ROOT)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test-command", action="store_true", help="also time the README's test command")
    parser.add_argument("--seeds", type=int, default=3, help="seeds for time to quality (default 3)")
    parser.add_argument("--notebooks", nargs="+", metavar="NN",
                        help="measure only these notebooks (by number) and print their rows; results.md is untouched")
    args = parser.parse_args(argv)
    torch.set_num_threads(THREADS)
    if args.notebooks:
        rows = notebook_times(args.notebooks)
        print("\n".join([f"On {machine()}:", *notebook_table(rows)]))
        if over_memory(rows):
            sys.exit(f"FAILED: above {_gb(MEMORY_LIMIT)} of memory: {', '.join(over_memory(rows))}")
        return
    lines = [
        "# Measured performance",
        "",
        f"Measured by `python3 course.py bench{' --test-command' if args.test_command else ''}` on "
        f"{machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
        f"{time.strftime('%Y-%m-%d')}. Times vary by machine and by load; the ratios matter more.",
        "",
    ]
    print("notebooks ...", flush=True)
    rows = notebook_times()
    lines += ["## Notebooks, top to bottom in a fresh kernel", "",
              f"Seconds from the kernel's start to the end of the last cell. *2 threads*: `GANLIB_THREADS={THREADS}`, "
              "the kernel free to use every CPU. *1 CPU*: the kernel pinned to one CPU as soon as it starts "
              "(as Binder gives one CPU), its threads left to `training.setup`, which finds the one CPU; the "
              "next column shows what it chose. *Peak memory*: the kernel's peak resident memory (ru_maxrss), "
              f"the larger of the two runs; the bench fails above {_gb(MEMORY_LIMIT)} (Binder stops kernels at "
              "2 GB).", "", *notebook_table(rows), ""]
    if args.test_command:
        print("test command ...", flush=True)
        lines += [f"The whole test command, `python3 course.py test` (environment installed): "
                  f"**{test_command_time():.0f} s**.", ""]
    print("trainer overhead ...", flush=True)
    plain_ms, lib_ms, ratio = trainer_overhead()
    lines += ["## The trainer's overhead", "",
              "`ganlib.training.train` (history, gradient norms, NaN checks) against a plain loop with the same "
              "models (MLP, 64 units), batch (256) and optimizer (Adam), in one process: medians of 50 "
              "pairs of 100-step blocks, alternating which runs first.", "",
              "| plain loop | ganlib | ratio (target ≤ 1.05) |", "|---|---|---|",
              f"| {plain_ms:.2f} ms/step | {lib_ms:.2f} ms/step | **{ratio:.3f}** |", ""]
    print("time to quality on the ring ...", flush=True)
    lines += ["## Time to quality on the ring", "",
              "Training until ≥ 7 of 8 modes are covered with ≥ 50 % high-quality samples (PacGAN protocol, "
              "2,500 samples, checked every 250 steps, at most 4,000 steps; evaluation time excluded). "
              "Same MLPs, batch 256, same seeds. *ganlib*: non-saturating loss on logits, lr 1e-3 (G) / "
              "2e-3 (D), cool-down to a tenth after 2,000 steps. *DCGAN tutorial*: Adam 2e-4, β1 0.5, "
              "BCE on sigmoid outputs (the PyTorch DCGAN tutorial's recipe).", "",
              "| recipe | seed | steps to quality | seconds |", "|---|---|---|---|"]
    for recipe in ("ganlib", "DCGAN tutorial"):
        for seed in range(args.seeds):
            steps, seconds = ring_time_to_quality(seed, recipe)
            reached = f"{steps:,}" if steps else "not within 4,000"
            lines.append(f"| {recipe} | {seed} | {reached} | {seconds:.1f} |")
            print(f"  {recipe} seed {seed}: {reached} ({seconds:.1f} s)", flush=True)
    lines.append("")
    print("quality over time on the digits ...", flush=True)
    judge = DigitsJudge()
    real_share, real_classes, real_fid = judge.real
    lines += ["## Quality over time on the digits", "",
              "DCGAN on the training split of scikit-learn's 8×8 digits (1,437 images), batch 64. *ganlib* and "
              "*DCGAN tutorial*: the same G and D (width 64, latent 32, BatchNorm), Adam 2e-4, β1 0.5; ganlib "
              "computes the non-saturating loss on "
              "logits, the tutorial puts a sigmoid on D and uses BCELoss. *course recipe*: as notebook 04 "
              "trains it, `recipes.DIGITS` with R1 γ 1 (TTUR 1e-3/2e-3, no BatchNorm in D, width 32) on "
              "`recipes.build_digits(..., d_hidden=128, refine=True)`, its decay over the second half of "
              "3,000 steps. Quality, as notebooks 04 and 09 measure it: the "
              f"share of {judge.n:,} samples the course's digits classifier (held-out accuracy "
              f"{100 * judge.test_accuracy:.1f} %) reads with probability ≥ 0.9, how many of the 10 digits "
              "are among them, and the FID against the training split in the classifier's features. "
              f"Held-out real digits: {100 * real_share:.0f} %, {real_classes} digits, FID {real_fid:.1f}. "
              "Seconds exclude evaluation.", "",
              "| recipe | seed | 1,000 steps | 2,000 steps | 3,000 steps | seconds (3,000 steps) |",
              "|---|---|---|---|---|---|"]
    for recipe in ("course recipe", "ganlib", "DCGAN tutorial"):
        for seed in range(args.seeds):
            curve = digits_quality_over_time(judge, seed, recipe)
            cells = " | ".join(f"{100 * share:.0f} % ({classes} digits), FID {fid:.0f}"
                               for share, classes, fid, _ in curve)
            lines.append(f"| {recipe} | {seed} | {cells} | {curve[-1][-1]:.1f} |")
            print(f"  {recipe} seed {seed}: {cells}", flush=True)
    lines.append("")
    (ROOT / "benchmarks" / "results.md").write_text("\n".join(lines))
    print("wrote benchmarks/results.md; the README's notebook table:\n" + "\n".join(readme_table(rows, plain_ms)))
    if over_memory(rows):
        sys.exit(f"FAILED: a notebook's kernel used more than {_gb(MEMORY_LIMIT)} of memory, which Binder's 2 GB "
                 f"cannot hold once JupyterLab's own share is counted: {', '.join(over_memory(rows))}")


if __name__ == "__main__":
    main()
