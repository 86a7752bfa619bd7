"""A small digits classifier: the course's offline stand-in for Inception (notebooks 04-09).

FID, KID, precision/recall and density/coverage compare *features*; the Inception Score
needs *class probabilities*. On ImageNet both come from Inception-v3, whose weights cannot
be downloaded offline. For the 8x8 digits this small CNN plays its part: ``features(x)``
is its 64-dimensional penultimate layer, ``probabilities(x)`` its softmax over the 10 digits.

The shipped weights (``ganlib/weights/digits_classifier.pt``) come from this module's own
training script, on the training split of ``ganlib.data.load_digits``:

    python -m ganlib.classifier            # retrains (~10 s) and writes the weights file

``load_digits_classifier()`` loads them with ``weights_only=True`` (no code is unpickled).

Online, ``load_inception()`` gives torchvision's ImageNet Inception-v3 as a feature extractor
(2,048 pooled features), for FID on the usual network; offline it raises
``FeatureExtractorUnavailableError`` with one line naming the offline classifier.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ._paths import as_path
from .data import load_digits, tensor_loader

__all__ = [
    "WEIGHTS",
    "DigitsClassifier",
    "FeatureExtractorUnavailableError",
    "InceptionFeatures",
    "accuracy",
    "load_digits_classifier",
    "load_inception",
    "train_digits_classifier",
]

WEIGHTS = Path(__file__).with_name("weights") / "digits_classifier.pt"
FORMAT = "ganlib-digits-classifier"


class DigitsClassifier(nn.Module):
    """8x8 digits in [-1, 1] (N x 1 x 8 x 8) -> logits over the 10 digits (N x 10)."""

    n_features = 64

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 4x4
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 2x2
            nn.Flatten(), nn.Linear(64 * 2 * 2, self.n_features), nn.ReLU(),
        )
        self.head = nn.Linear(self.n_features, 10)

    def _check(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or tuple(x.shape[1:]) != (1, 8, 8):
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(
                f"x: expected 8x8 digit images of shape (N, 1, 8, 8) in [-1, 1], got {shape}. "
                "Images of side 16 can be brought down with torch.nn.functional.avg_pool2d(x, 2)."
            )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The 64 penultimate activations (N x 64): what FID, KID and precision/recall compare."""
        self._check(x)
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    @torch.no_grad()
    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """p(digit | x), N x 10 (what the Inception Score needs)."""
        return F.softmax(self(x), dim=1)

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(predicted digit, its probability), each of length N."""
        confidence, digit = self.probabilities(x).max(dim=1)
        return digit, confidence


@torch.no_grad()
def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of ``images`` that ``model`` labels correctly (in evaluation mode)."""
    was_training = model.training
    model.eval()
    try:
        return (model(images).argmax(dim=1) == labels).float().mean().item()
    finally:
        model.train(was_training)


def train_digits_classifier(seed: int = 0, epochs: int = 30, progress: bool = False) -> tuple[DigitsClassifier, float]:
    """Train the classifier on the digits' training split; returns it with its held-out accuracy.

    Adam (lr 1e-3), batch 64, each batch shifted by up to one pixel (so that a generated
    digit slightly off-centre is still read), ``epochs`` passes over the 1,437 training images.
    """
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    model = DigitsClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    images, labels = load_digits(split="train")
    loader = tensor_loader(images, labels, batch_size=64, seed=seed)
    shifts = torch.Generator().manual_seed(seed)
    for _ in tqdm(range(epochs), disable=not progress, desc="digits classifier", unit="epoch"):
        for x, y in loader:
            dy, dx = torch.randint(-1, 2, (2,), generator=shifts).tolist()
            x = torch.roll(F.pad(x, (1, 1, 1, 1), value=-1.0), (dy, dx), dims=(2, 3))[:, :, 1:-1, 1:-1]
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    model.eval()
    test_images, test_labels = load_digits(split="test")
    return model, accuracy(model, test_images, test_labels)


def load_digits_classifier(path: str | Path = WEIGHTS) -> DigitsClassifier:
    """The shipped classifier, in evaluation mode (``weights_only=True``: tensors and numbers only)."""
    path = as_path("path", path, "a weights file", "digits_classifier.pt")
    if not path.is_file():
        raise FileNotFoundError(
            f"No classifier weights at {path}. Recreate them with `python -m ganlib.classifier --out {path}`."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(
            f"{path} is not a readable classifier file ({type(error).__name__}); "
            "recreate it with `python -m ganlib.classifier`."
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(
            f"{path} is not a ganlib digits-classifier file; recreate it with `python -m ganlib.classifier`."
        )
    model = DigitsClassifier()
    model.load_state_dict(state["state_dict"])
    model.test_accuracy = state["test_accuracy"]
    return model.eval()


class FeatureExtractorUnavailableError(RuntimeError):
    """Inception-v3's weights could not be downloaded; the message names the offline extractor."""


class InceptionFeatures(nn.Module):
    """Images in [-1, 1] (N x 1 or 3 x H x W) -> Inception-v3's 2,048 pooled features (N x 2048).

    Grey images are repeated to 3 channels, resized to 299 x 299 and normalised as ImageNet's.
    These are torchvision's ImageNet weights, not the TensorFlow weights of the original FID
    code, so values are comparable with each other, not with published FIDs.
    """

    def __init__(self, network: nn.Module):
        super().__init__()
        network.fc = nn.Identity()
        self.network = network.eval()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    @torch.no_grad()
    def forward(self, images: torch.Tensor, batch_size: int = 50) -> torch.Tensor:
        if images.dim() != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"images: expected N x 1 x H x W or N x 3 x H x W in [-1, 1], got {tuple(images.shape)}.")
        out = []
        for batch in images.split(batch_size):
            x = (batch.expand(-1, 3, -1, -1) + 1) / 2
            x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
            out.append(self.network((x - self.mean) / self.std))
        return torch.cat(out)


def load_inception(download: bool = True) -> InceptionFeatures:
    """torchvision's Inception-v3 (ImageNet) as a feature extractor; downloads ~100 MB once (cached)."""
    import urllib.error

    from torchvision.models import Inception_V3_Weights, inception_v3

    try:
        if not download:
            cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(Inception_V3_Weights.IMAGENET1K_V1.url).name
            if not cached.is_file():
                raise FileNotFoundError(f"not in the cache {cached.parent}")
        network = inception_v3(weights=Inception_V3_Weights.IMAGENET1K_V1)
    except (urllib.error.URLError, OSError, RuntimeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FeatureExtractorUnavailableError(
            f"Inception-v3's weights could not be {'downloaded' if download else 'found'} ({reason}). "
            "Offline, use the digits classifier's features: ganlib.classifier.load_digits_classifier().features."
        ) from None
    return InceptionFeatures(network)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ganlib.classifier", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS, help=f"where to write the weights (default {WEIGHTS})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("GANLIB_THREADS", "2")))
    model, test_accuracy = train_digits_classifier(args.seed, args.epochs, progress=True)
    state = {"format": FORMAT, "version": 1, "state_dict": model.state_dict(), "test_accuracy": test_accuracy,
             "seed": args.seed, "epochs": args.epochs, "torch": str(torch.__version__)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=args.out.parent, suffix=".tmp", delete=False) as tmp:
        torch.save(state, tmp)
    os.chmod(tmp.name, 0o644)  # readable like any installed file (temporary files start private)
    os.replace(tmp.name, args.out)
    print(f"held-out accuracy {test_accuracy:.4f} ({len(load_digits(split='test')[1])} images); wrote {args.out}")


if __name__ == "__main__":
    main()
