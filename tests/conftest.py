"""Shared test settings: a non-interactive plotting backend and a fixed, small thread count."""

import matplotlib
import torch

matplotlib.use("Agg")
# The tests' models are tiny; one thread keeps timings steady on CI's two cores.
torch.set_num_threads(1)
