"""Self-checks for notebooks 04-07: image generation, data augmentation, super-resolution, text to image."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..prose import sentence as _
from ._checking import (
    LN3,
    CheckResult,
    _call,
    _expect_close,
    _expect_match,
    _expect_vector,
    _NotYet,
    _report,
    _scalar,
    _tensor,
)


# --- 04: image generation ------------------------------------------------------------------------
def check_slerp(slerp: Callable) -> CheckResult:
    """``slerp(z0, z1, t)`` -> the point at fraction t of the great-circle arc from z0 to z1."""
    from ..latent import lerp
    from ..latent import slerp as reference

    def body() -> str:
        name = "slerp"
        e1, e2 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
        for t in (0.5, 1 / 3):
            case = _("z0=[1, 0], z1=[0, 1], t={t:.3g} (a quarter circle: the answer is [cos(90°·t), sin(90°·t)])", t=t)
            got = _tensor(_call(slerp, e1, e2, t), name, case, (2,))
            angle = math.pi / 2 * t
            _expect_vector(got, torch.tensor([math.cos(angle), math.sin(angle)]), name, case, [
                (lerp(e1, e2, t), _("that is the straight line (lerp), which cuts inside the circle: its midpoint "
                                  "has norm 0.71, not 1. Weight z0 and z1 by sin((1-t)Ω)/sin Ω and sin(tΩ)/sin Ω.")),
                (torch.tensor([math.sin(angle), math.cos(angle)]), _("t=0 should give z0 and t=1 z1: swap the "
                                                                     "weights.")),
            ])
        gen = torch.Generator().manual_seed(0)
        for trial in range(3):
            z0, z1 = torch.randn(2, 16, generator=gen)
            z1 = z1 * (1.5 + trial)  # ends of different norms: the path blends the norms too
            t = (0.3, 0.7, 0.9)[trial]
            case = _("two random 16-d vectors of norms {a:.2f} and {b:.2f}, t={t}", a=z0.norm(), b=z1.norm(), t=t)
            got = _tensor(_call(slerp, z0, z1, t), name, case, (16,))
            _expect_vector(got, reference(z0, z1, t), name, case, [
                (lerp(z0, z1, t), _("that is lerp: use the angle Ω = arccos(z0·z1 / (|z0| |z1|)).")),
                (reference(z0 / z0.norm(), z1 / z1.norm(), t), _("do not normalise z0 and z1: keep their lengths.")),
                (reference(z0, z1, 1 - t), _("t=0 should give z0 and t=1 z1: swap the weights.")),
            ])
            for end, expected in ((0.0, z0), (1.0, z1)):
                case = _("random 16-d vectors, t={t:g}", t=end)
                _expect_vector(_tensor(_call(slerp, z0, z1, end), name, case, (16,)), expected, name, case)
        z = torch.randn(16, generator=gen)
        case = _("z0 = z1 (parallel ends: sin Ω = 0)")
        got = _tensor(_call(slerp, z, z.clone(), 0.5), name, case, (16,), finite=False)
        if not torch.isfinite(got).all():
            raise _NotYet(_("on {case}, {name} returned NaN: sin Ω is 0 there. When sin Ω is tiny (< 1e-6), "
                            "fall back to the straight line, (1 - t) z0 + t z1.", case=case, name=name))
        _expect_vector(got, z, name, case)
        return _("follows the great circle: every point keeps a typical norm for a Gaussian z.")

    return _report("slerp", body)


def check_nearest_neighbour_distances(nearest_neighbour_distances: Callable) -> CheckResult:
    """``nearest_neighbour_distances(samples, training)`` -> each sample's Euclidean distance to its
    nearest training image, shape (N,)."""
    from ..metrics import nearest_neighbours

    def body() -> str:
        name = "nearest_neighbour_distances"
        samples = torch.stack([torch.zeros(1, 2, 2), torch.full((1, 2, 2), 3.0)])
        training = torch.stack([torch.full((1, 2, 2), v) for v in (0.5, 2.0, 1.5)])
        case = _("2 samples (all 0, all 3) and 3 training images (all 0.5, all 2, all 1.5), each 1x2x2")
        got = _tensor(_call(nearest_neighbour_distances, samples, training), name, case, (2,))
        _expect_vector(got, torch.tensor([1.0, 2.0]), name, case, [
            (torch.tensor([1.0, 4.0]), _("take the square root: the Euclidean distance, not its square.")),
            (torch.tensor([4.0, 5.0]), _("the nearest image is the one at the smallest distance (min, not max).")),
            (torch.tensor([3.0, 3.0]), _("that is the second-nearest image: take the smallest distance.")),
            (torch.tensor([0.0, 1.0]), _("return the distances, not the indices of the nearest images.")),
            (torch.tensor([0.5, 1.0]), _("sum the squared differences over all pixels (not their mean), then sqrt.")),
            (torch.tensor([2.0, 4.0]), _("use the Euclidean (L2) distance, not the sum of absolute differences.")),
            (torch.tensor([8 / 3, 10 / 3]), _("average nothing: each sample's distance is to its single nearest "
                                              "image.")),
        ])
        gen = torch.Generator().manual_seed(0)
        for trial in range(2):
            s, r = torch.randn(7, 1, 8, 8, generator=gen), torch.randn(30, 1, 8, 8, generator=gen)
            r[trial * 3] = s[2]  # one sample is a copy of a training image: its distance is 0
            case = _("7 random samples, 30 random training images, sample 3 copied from them (trial {trial})",
                     trial=trial + 1)
            got = _tensor(_call(nearest_neighbour_distances, s, r), name, case, (7,))
            others = torch.cdist(s.flatten(1), r.flatten(1)).sort(dim=1).values
            _expect_vector(got, nearest_neighbours(s, r)[0], name, case, [
                (others[:, 1], _("a copied sample is at distance 0 from its original: do not skip the closest image.")),
                (others.mean(1), _("take the minimum over the training images, not the mean.")),
            ], atol=2e-3)  # torch.cdist's fast float32 path is off by ~1e-3 for an exact copy
        return _("measures how close each sample comes to the training set: near 0 means a copy.")

    return _report("nearest_neighbour_distances", body)


def check_copying_statistic(copying_statistic: Callable) -> CheckResult:
    """``copying_statistic(generated, held_out)`` -> the probability that a generated sample is closer
    to the training set than a held-out one (a tie counts 1/2): Mann-Whitney's U over n * m."""
    from scipy.stats import mannwhitneyu

    def body() -> str:
        name = "copying_statistic"
        cases = [
            (torch.tensor([1.0, 3.0]), torch.tensor([2.0, 2.0, 4.0]), 4 / 6, {
                2 / 6: _("that is the chance that the held-out sample is the closer one: count generated < held-out."),
                4.0: _("divide the count by the number of pairs, n * m = 6."),
                1.0: _("compare every generated distance with every held-out one, not only the medians."),
            }, _("generated=[1, 3], held_out=[2, 2, 4] (4 of the 6 pairs have the generated sample closer)")),
            (torch.tensor([2.0, 2.0]), torch.tensor([2.0, 3.0]), 0.75, {
                0.5: _("a tie (equal distances) counts 1/2: neither sample is closer."),
                1.0: _("a tie counts 1/2, not 1: use < for 'closer' and add half the ties."),
            }, _("generated=[2, 2], held_out=[2, 3] (two of the four pairs are ties)")),
        ]
        gen = torch.Generator().manual_seed(0)
        for n, m, shift in ((40, 25, 0.0), (30, 50, -0.5)):
            generated = (torch.randn(n, generator=gen) + 3 + shift).mul(4).round().div(4)  # quarters: ties happen
            held_out = (torch.randn(m, generator=gen) + 3).mul(4).round().div(4)
            u = float(mannwhitneyu(held_out.numpy(), generated.numpy()).statistic)  # pairs held-out > generated
            cases.append((generated, held_out, u / (n * m), {
                1 - u / (n * m): _("that is the chance that the held-out sample is the closer one."),
                u: _("divide by the number of pairs, n * m = {pairs}.", pairs=n * m),
            }, _("{n} generated and {m} held-out distances drawn at random, with ties (scipy's Mann-Whitney U / nm)",
                  n=n, m=m)))
        for generated, held_out, expected, hints, case in cases:
            got = _scalar(_call(copying_statistic, generated, held_out), name, case)
            _expect_close(got, expected, name, case, hints)
        return _("measures how often a generated sample is closer to the training set than a held-out one: "
                 "about 1/2 for new data, near 1 for a generator that copies, near 0 for samples off the data.")

    return _report("copying_statistic", body)


# --- 05: data augmentation -------------------------------------------------------------------------
def check_shift_image(shift_image: Callable) -> CheckResult:
    """``shift_image(images, dx, dy)`` -> the images moved dx pixels right and dy down (whole
    pixels, either sign), with background (-1) where nothing moved in."""
    from ..augment import affine

    def reference(images: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
        return affine(images, torch.zeros(len(images)), torch.tensor([[float(dx), float(dy)]] * len(images)))

    def body() -> str:
        name = "shift_image"
        image = torch.tensor([[[[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]]]])
        for dx, dy in ((1, 0), (0, -1), (-2, 1)):
            case = _("the 3x3 image [[.1, .2, .3], [.4, .5, .6], [.7, .8, .9]] with dx={dx}, dy={dy}", dx=dx, dy=dy)
            got = _tensor(_call(shift_image, image, dx, dy), name, case, (1, 1, 3, 3))
            _expect_vector(got, reference(image, dx, dy), name, case, [
                (torch.roll(image, (dy, dx), dims=(2, 3)), _("torch.roll wraps pixels around to the other side; "
                                                           "fill the uncovered pixels with background (-1) instead.")),
                (torch.where(reference(image, dx, dy) == -1, torch.zeros(()), reference(image, dx, dy)),
                 _("the background is -1 (the digits' pixels are in [-1, 1]), not 0.")),
                (reference(image, -dx, -dy), _("positive dx moves the picture right and positive dy down: flip "
                                               "signs.")),
                (reference(image, dy, dx), _("dx moves columns (the last dimension), dy moves rows.")),
            ])
        gen = torch.Generator().manual_seed(0)
        for trial, (dx, dy) in enumerate(((2, -3), (-1, -1), (0, 0))):
            images = torch.rand(5, 1, 8, 8, generator=gen) * 2 - 1
            case = _("5 random 8x8 images, dx={dx}, dy={dy} (trial {trial})", dx=dx, dy=dy, trial=trial + 1)
            got = _tensor(_call(shift_image, images, dx, dy), name, case, (5, 1, 8, 8))
            _expect_vector(got, reference(images, dx, dy), name, case)
        images = torch.rand(2, 1, 8, 8, generator=gen)
        case = _("2 random 8x8 images moved 9 pixels right (off the image)")
        got = _tensor(_call(shift_image, images, 9, 0), name, case, (2, 1, 8, 8))
        _expect_vector(got, torch.full((2, 1, 8, 8), -1.0), name, case)
        return _("moves whole pixels and fills with background: the classic augmentation by hand.")

    return _report("shift_image", body)


def check_paired_gain(paired_gain: Callable) -> CheckResult:
    """``paired_gain(method, baseline)`` -> (mean, standard error) of the per-seed differences
    method - baseline: std with N - 1, divided by sqrt(N)."""

    def reference(method, baseline) -> torch.Tensor:
        d = torch.as_tensor(method, dtype=torch.float64) - torch.as_tensor(baseline, dtype=torch.float64)
        return torch.stack([d.mean(), d.std() / len(d) ** 0.5]).float()

    def body() -> str:
        name = "paired_gain"
        method, baseline = [0.9, 0.8, 0.7], [0.85, 0.8, 0.6]
        case = _("method=[0.9, 0.8, 0.7], baseline=[0.85, 0.8, 0.6] (differences 0.05, 0, 0.1)")
        got = _tensor(_call(paired_gain, method, baseline), name, case, (2,))
        m, b = torch.tensor(method), torch.tensor(baseline)
        d = m - b
        _expect_vector(got, reference(method, baseline), name, case, [
            (torch.stack([-d.mean(), d.std() / 3**0.5]), _("the gain is method minus baseline.")),
            (torch.stack([d.mean(), d.std()]), _("the standard error of a mean divides the std by √N.")),
            (torch.stack([d.mean(), d.std(correction=0) / 3**0.5]), _("use the unbiased std (divide by N - 1).")),
            (torch.stack([d.mean(), (m.var() / 3 + b.var() / 3).sqrt()]),
             _("pair the seeds: take each seed's difference first, then its spread.")),
            (torch.stack([d.mean(), d.std() / 3]), _("divide the std by √N, not N.")),
        ])
        gen = torch.Generator().manual_seed(0)
        for trial in range(3):
            n = (5, 8, 2)[trial]
            base = 0.85 + 0.05 * torch.rand(n, generator=gen)
            meth = base + 0.02 + 0.01 * torch.randn(n, generator=gen)
            case = _("{n} random seeds (trial {trial})", n=n, trial=trial + 1)
            values = (meth.tolist(), base.tolist())
            got = _tensor(_call(paired_gain, *values), name, case, (2,))
            _expect_vector(got, reference(*values), name, case)
        return _("is the paired comparison: each seed's luck cancels in its own difference.")

    return _report("paired_gain", body)


def check_projection_logit(projection_logit: Callable) -> CheckResult:
    """``projection_logit(features, labels, embedding, head)`` -> the projection discriminator's
    logits head(φ)[:, 0] + <embedding(label), φ> (Miyato & Koyama, 2018), shape (N,)."""
    from torch import nn

    from ..models import DCGANDiscriminator

    def reference(features, labels, embedding, head):
        return head(features)[:, 0] + (embedding(labels) * features).sum(dim=1)

    def body() -> str:
        name = "projection_logit"
        features = torch.tensor([[1.0, 2.0], [3.0, -1.0]])
        labels = torch.tensor([0, 2])
        embedding = nn.Embedding(3, 2)
        head = nn.Linear(2, 1)
        with torch.no_grad():
            embedding.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 2.0]]))
            head.weight.copy_(torch.tensor([[0.5, 0.5]]))
            head.bias.fill_(0.1)
        case = _("features φ = [[1, 2], [3, -1]], labels [0, 2], embedding rows [1, 0], [0, 1], [0.5, 2], "
                 "head ψ(φ) = 0.5 φ₁ + 0.5 φ₂ + 0.1 (expected [1.6 + 1, 1.1 - 0.5])")
        with torch.no_grad():
            got = _call(projection_logit, features, labels, embedding, head)
        if isinstance(got, torch.Tensor) and tuple(got.shape) == (2, 1):
            raise _NotYet(_("on {case}, {name} returned shape (2, 1); return one logit per image, shape (2,): "
                            "head(features) has shape (N, 1), so take head(features)[:, 0].", case=case, name=name))
        got = _tensor(got, name, case, (2,))
        psi, e = torch.tensor([1.6, 1.1]), embedding.weight.detach()[labels]
        right = torch.tensor([2.6, 0.6])
        _expect_vector(got, right, name, case, [
            (psi, _("add the projection <embedding(label), φ(x)>: without it the discriminator ignores the label, "
                  "and the GAN is not conditional.")),
            (right - psi, _("add the unconditional term ψ(φ(x)) = head(features)[:, 0]: it judges realism whatever "
                          "the label.")),
            (psi + (e * features).mean(dim=1), _("sum the products over the features (a dot product), not their "
                                                 "mean.")),
            (torch.sigmoid(right), _("return the logit itself, not sigmoid(logit): the losses take logits.")),
            (psi * (e * features).sum(dim=1), _("add the two terms, do not multiply them.")),
            (psi + (embedding.weight.detach()[[0, 1]] * features).sum(dim=1),
             _("look up each image's own label, embedding(labels), not the rows in order.")),
            (psi + e.sum(dim=1), _("multiply the embedding by the features before summing: <e, φ> = Σ e_k φ_k.")),
        ])
        gen = torch.Generator().manual_seed(0)
        for trial, n in enumerate((6, 9)):
            torch.manual_seed(trial)
            D = DCGANDiscriminator(image_size=8, width=4, batch_norm=False, n_classes=10).eval()
            images = torch.rand(n, 1, 8, 8, generator=gen) * 2 - 1
            labels = torch.randint(10, (n,), generator=gen)
            with torch.no_grad():
                phi, expected = D.features(images), D(images, labels)
                case = _("the features of {n} random images from a conditional DCGANDiscriminator, with its own "
                         "embed and head (trial {trial}): the answer is that discriminator's output",
                         n=n, trial=trial + 1)
                got = _tensor(_call(projection_logit, phi, labels, D.embed, D.head), name, case, (n,))
            _expect_vector(got, expected, name, case, [
                (D.head(phi)[:, 0], _("add the projection <embedding(label), φ(x)>.")),
                (reference(phi, labels, D.embed, D.head).sigmoid(), _("return the logit, not sigmoid(logit).")),
            ])
        return _("is the projection discriminator's logit: ψ(φ(x)) asks 'is this a real digit?', "
                 "<embed(y), φ(x)> asks 'is it a real digit *of this label*?'.")

    return _report("projection_logit", body)


# --- 06: super-resolution --------------------------------------------------------------------------


def check_psnr(psnr: Callable) -> CheckResult:
    """``psnr(estimate, target, data_range)`` -> 10 log10(data_range^2 / MSE), in decibels."""
    from skimage.metrics import peak_signal_noise_ratio

    def reference(estimate, target, data_range):
        return peak_signal_noise_ratio(target.double().numpy(), estimate.double().numpy(), data_range=data_range)

    def body() -> str:
        name = "psnr"
        target = torch.tensor([[0.0, 0.5, 1.0], [1.5, 1.0, 0.5]], dtype=torch.float64)
        case = _("target [[0, 0.5, 1], [1.5, 1, 0.5]], estimate = target + 0.1 everywhere (MSE 0.01), data_range 2")
        got = _scalar(_call(psnr, target + 0.1, target, 2.0), name, case)
        log10 = math.log10
        _expect_close(got, 10 * log10(4 / 0.01), name, case, {
            10 * math.log(4 / 0.01): _("use the base-10 logarithm (torch.log10): decibels are 10 log10 of a ratio."),
            log10(4 / 0.01): _("multiply by 10: decibels are 10 log10 of a ratio of powers."),
            20 * log10(4 / 0.01): _("with the MSE (a squared error) the factor is 10; 20 goes with the RMSE."),
            10 * log10(2 / 0.01): _("square the data range: PSNR compares the peak *power*, data_range², with the "
                                    "MSE."),
            10 * log10(1 / 0.01): _("use data_range (here 2), not 1, as the peak value."),
            10 * log10(4 / 0.06): _("average the squared errors over the pixels (.mean()), do not sum them."),
            10 * log10(4 / 0.1): _("square the errors: the MSE, not the mean absolute error."),
            -10 * log10(4 / 0.01): _("mind the sign: the ratio is data_range² / MSE, so a good estimate scores high."),
        })
        gen = torch.Generator().manual_seed(0)
        for trial, (data_range, noise) in enumerate(((1.0, 0.05), (255.0, 10.0), (1.0, 0.2))):
            target = torch.rand(2, 1, 12, 10, generator=gen) * data_range
            estimate = target + noise * torch.randn(target.shape, generator=gen)
            _expect_match(psnr, reference, (estimate, target, data_range), name,
                          _("random 2x1x12x10 images, data_range {data_range:g}, noise {noise:g} (trial {trial})",
                            data_range=data_range, noise=noise, trial=trial + 1))
        ones = torch.ones(1, 1, 4, 4)
        _expect_match(psnr, reference, (torch.zeros_like(ones), ones, 1.0), name,
                      _("the worst case: target all 1, estimate all 0, data_range 1 (MSE 1: 0 dB)"))
        return _("is 10 log10(data_range² / MSE): every 10 dB more is a tenfold smaller squared error.")

    return _report("psnr", body)


def check_downsample(downsample: Callable) -> CheckResult:
    """``downsample(images, factor)`` -> the mean of each factor x factor block, shape N x C x H/f x W/f."""

    def body() -> str:
        name = "downsample"
        images = torch.arange(1.0, 9.0).reshape(1, 1, 2, 4)
        case = _("images [[1, 2, 3, 4], [5, 6, 7, 8]] (shape 1x1x2x4), factor 2")
        got = _tensor(_call(downsample, images, 2), name, case, (1, 1, 1, 2))
        _expect_vector(got, torch.tensor([[[[3.5, 5.5]]]]), name, case, [
            (torch.tensor([[[[14.0, 22.0]]]]), _("average the block: divide its sum by factor² (or use .mean()).")),
            (torch.tensor([[[[1.0, 3.0]]]]), _("average the whole block instead of keeping one pixel of it.")),
            (torch.tensor([[[[6.0, 8.0]]]]), _("take the mean of the block, not its maximum.")),
            (torch.tensor([[[[2.5, 6.5]]]]), _("these blocks are rows, not squares: split each side into (blocks, "
                                             "pixels), reshape(n, c, h // factor, factor, w // factor, factor), "
                                             "then average dimensions 3 and 5.")),
        ])
        gen = torch.Generator().manual_seed(0)
        for trial, (shape, factor) in enumerate((((3, 2, 8, 12), 4), ((2, 1, 6, 9), 3), ((1, 3, 4, 10), 2))):
            x = torch.rand(shape, generator=gen)
            n, c, h, w = shape
            case = _("random images of shape {n}x{c}x{h}x{w}, factor {factor} (trial {trial})",
                     n=n, c=c, h=h, w=w, factor=factor, trial=trial + 1)
            got = _tensor(_call(downsample, x, factor), name, case, (n, c, h // factor, w // factor))
            _expect_vector(got, F.avg_pool2d(x, factor), name, case, [
                (x[..., ::factor, ::factor], _("average the whole block instead of keeping one pixel of it.")),
                (F.avg_pool2d(x, factor) * factor**2, _("average the block: divide its sum by factor².")),
            ])
        x = torch.rand(2, 1, 5, 5, generator=gen)
        case = _("random 2x1x5x5 images, factor 1 (each block is one pixel: nothing changes)")
        _expect_vector(_tensor(_call(downsample, x, 1), name, case, (2, 1, 5, 5)), x, name, case)
        case = _("random 2x1x5x5 images, factor 5 (one block: each image's mean)")
        _expect_vector(_tensor(_call(downsample, x, 5), name, case, (2, 1, 1, 1)), x.mean(dim=(2, 3), keepdim=True),
                       name, case)
        return _("averages each factor x factor block: what a sensor with larger pixels would record.")

    return _report("downsample", body)


def check_sr_generator_loss(sr_generator_loss: Callable) -> CheckResult:
    """``sr_generator_loss(sr, hr, fake_logits, adversarial_weight)`` -> E|sr - hr| + λ E softplus(-logits)."""
    from ..superres import l1_plus_adversarial_loss

    def body() -> str:
        name = "sr_generator_loss"
        hr = torch.zeros(1, 1, 2, 2)
        sr = torch.tensor([[[[0.1, -0.1], [0.3, -0.1]]]])
        logits = torch.tensor([0.0, LN3])
        case = _("hr = 0, sr = [[0.1, -0.1], [0.3, -0.1]] (mean |error| 0.15), fake_logits [0, ln 3] "
                 "(D = 1/2, 3/4), adversarial_weight 0.2")
        got = _scalar(_call(sr_generator_loss, sr, hr, logits, 0.2), name, case)
        l1, sp = 0.15, F.softplus
        ns = sp(-logits).mean().item()
        _expect_close(got, l1 + 0.2 * ns, name, case, {
            0.03 + 0.2 * ns: _("use the mean absolute error (L1), not the squared error."),
            0.03**0.5 + 0.2 * ns: _("use the mean absolute error (L1), not the root of the squared error."),
            0.05 + 0.2 * ns: _("take the absolute value of each difference before averaging: errors of opposite signs "
                             "must not cancel."),
            0.6 + 0.2 * ns: _("average the absolute errors over the pixels (.mean()), do not sum them."),
            l1 + ns: _("multiply the adversarial term by adversarial_weight (λ)."),
            0.2 * l1 + ns: _("λ weights the adversarial term, not the pixel loss."),
            l1: _("add λ times the adversarial loss: without it this is the L1 generator."),
            0.2 * ns: _("keep the pixel loss E|sr - hr|: it ties the output to the truth."),
            l1 + 0.2 * (-sp(logits).mean().item()): _("that is the minimax loss, E log(1 - D(G(x))), which saturates "
                                                    "when D wins; use the non-saturating -log D(G(x)) = "
                                                    "softplus(-logit)."),
            l1 + 0.2 * sp(logits).mean().item(): _("mind the sign: the generator wants D to call its images real, "
                                                 "so its loss is softplus(-logit), -log D."),
            l1 + 0.2 * sp(-logits).sum().item(): _("average the adversarial loss over the logits (.mean())."),
        })
        gen = torch.Generator().manual_seed(0)
        for trial, (n, side, weight) in enumerate(((4, 8, 0.1), (3, 16, 0.01), (2, 8, 1.0))):
            hr = torch.rand(n, 1, side, side, generator=gen)
            sr = hr + 0.2 * torch.randn(hr.shape, generator=gen)
            logits = 2 * torch.randn(n, side // 8, side // 8, generator=gen)
            _expect_match(sr_generator_loss, l1_plus_adversarial_loss, (sr, hr, logits, weight), name,
                          _("random {n}x1x{side}x{side} images, a patch discriminator's {n}x{patches}x{patches} "
                            "logits, adversarial_weight {weight:g} (trial {trial})",
                            n=n, side=side, patches=side // 8, weight=weight, trial=trial + 1))
        hr, big = torch.zeros(1, 1, 1, 2), torch.tensor([-200.0, 200.0])
        _expect_match(sr_generator_loss, l1_plus_adversarial_loss, (hr + 0.1, hr, big, 0.1), name,
                      _("logits of ±200 (D sure of both verdicts)"))
        return _("is SRGAN's generator loss with an L1 pixel term: stay near the truth, and look real to the "
                 "discriminator, in the proportion λ.")

    return _report("sr_generator_loss", body)


# --- 07: text to image -----------------------------------------------------------------------------


def _stroke_images() -> torch.Tensor:
    """Four hand-made 8x8 strokes (ink 1 on a background of -1): /, a 2-pixel-wide |, \\, and a steep /."""
    images = -torch.ones(4, 1, 8, 8)
    for r in range(8):
        images[0, 0, r, 7 - r] = 1.0  # "/": one column right per row up, slant +1
        images[2, 0, r, r] = 1.0  # "\": slant -1
        images[3, 0, r, 5 - r // 2] = 1.0  # leans right, less than 45°
    images[1, 0, 1:7, 3:5] = 1.0  # upright: slant 0
    return images


def _slant_variant(images: torch.Tensor, ink=True, y_up=True, central=True, divide="mu02") -> torch.Tensor:
    """The reference shear mu11 / mu02 (all defaults), or the usual mistakes in computing it."""
    w = (images.double() + 1) / 2 if ink else images.double()
    rows = torch.arange(8, dtype=torch.float64).view(1, 1, 8, 1)
    y = 7 - rows if y_up else rows
    x = torch.arange(8, dtype=torch.float64).view(1, 1, 1, 8)
    mass = w.sum(dim=(1, 2, 3), keepdim=True)
    if central:
        x, y = x - (w * x).sum(dim=(1, 2, 3), keepdim=True) / mass, y - (w * y).sum(dim=(1, 2, 3), keepdim=True) / mass
    mu11, mu02, mu20 = ((w * a * b).sum(dim=(1, 2, 3)) for a, b in ((x, y), (y, y), (x, x)))
    return {"mu02": mu11 / mu02, "mu20": mu11 / mu20, "none": mu11, "angle": torch.atan(mu11 / mu02)}[divide].float()


def check_slant(slant: Callable) -> CheckResult:
    """``slant(images)`` -> mu11 / mu02 of each image's ink (x right, y up), N values."""

    def body() -> str:
        name = "slant"
        images = _stroke_images()
        case = _("four hand-made strokes: /, a wide |, \\ and a steep / (expected +1, 0, -1, 0.48)")
        got = _tensor(_call(slant, images), name, case, (4,))
        _expect_vector(got, _slant_variant(images), name, case, [
            (_slant_variant(images, y_up=False), _("count y upwards (row 0 is the top, so y = 7 - row): a stroke "
                                                 "leaning right (/) has slant +1.")),
            (_slant_variant(images, divide="mu20"), _("divide by mu02, the spread of the rows (y), not mu20.")),
            (_slant_variant(images, divide="none"), _("divide mu11 by mu02: the slant is a ratio, dx per dy.")),
            (_slant_variant(images, divide="angle"), _("return the ratio mu11 / mu02, not its angle.")),
            (_slant_variant(images, ink=False), _("weight each pixel by its ink, (x + 1) / 2: the background is -1, "
                                                "which means no ink, not negative ink.")),
            (_slant_variant(images, central=False), _("use central moments: subtract the ink's centroid from x and y "
                                                    "first.")),
        ])
        gen = torch.Generator().manual_seed(0)
        for trial in range(3):
            x = torch.rand(5, 1, 8, 8, generator=gen) * 2 - 1
            case = _("5 random 8x8 images in [-1, 1] (trial {trial})", trial=trial + 1)
            expected = _slant_variant(x)
            _expect_vector(_tensor(_call(slant, x), name, case, (5,)), expected, name, case, [
                (_slant_variant(x, central=False), _("use central moments: subtract the centroid first.")),
                (_slant_variant(x, ink=False), _("weight each pixel by its ink, (x + 1) / 2.")),
            ])
        faint = -1 + 0.1 * (_stroke_images() + 1)  # the same strokes with a twentieth of the ink
        case = _("the hand-made strokes drawn faintly (ink 0.1 instead of 1)")
        _expect_vector(_tensor(_call(slant, faint), name, case, (4,)), _slant_variant(images), name, case, [
            (torch.zeros(4), _("weight by the ink (x + 1) / 2 itself; don't threshold the pixels.")),
        ])
        return _("is the shear mu11 / mu02 of the ink: +1 for /, 0 upright, -1 for \\, whatever the ink's strength.")

    return _report("slant", body)


def _matching_aware(real_right: torch.Tensor, real_wrong: torch.Tensor, fake_right: torch.Tensor) -> torch.Tensor:
    return F.softplus(-real_right).mean() + 0.5 * (F.softplus(real_wrong).mean() + F.softplus(fake_right).mean())


def check_matching_aware_discriminator_loss(matching_aware_discriminator_loss: Callable) -> CheckResult:
    """``(real_right, real_wrong, fake_right)`` logits -> E sp(-s_r) + (E sp(s_w) + E sp(s_f)) / 2 (GAN-INT-CLS)."""

    def body() -> str:
        name = "matching_aware_discriminator_loss"
        rr, rw, fr = torch.tensor([0.0, LN3]), torch.tensor([LN3, LN3]), torch.tensor([0.0, -LN3])
        case = _("real_right=[0, ln 3], real_wrong=[ln 3, ln 3], fake_right=[0, -ln 3] "
                 "(D = 1/2, 3/4; 3/4, 3/4; 1/2, 1/4)")
        got = _scalar(_call(matching_aware_discriminator_loss, rr, rw, fr), name, case)
        sp = F.softplus
        a, b, c = sp(-rr).mean().item(), sp(rw).mean().item(), sp(fr).mean().item()
        _expect_close(got, a + (b + c) / 2, name, case, {
            a + b + c: _("weight the two fake terms by 1/2 each: Reed et al. average them, so real and fake "
                       "pairs weigh the same."),
            (a + b + c) / 3: _("the real pair keeps weight 1; only the two fake terms are averaged (1/2 each)."),
            a + c: _("add the mismatched term: a real image with the wrong text must count as fake."),
            a + c / 2: _("add the mismatched term, softplus(real_wrong) / 2: a real image with the wrong text is "
                         "fake."),
            a + b: _("add the generated images' term, softplus(fake_right) / 2."),
            a + b / 2: _("add the generated images' term, softplus(fake_right) / 2."),
            a + (sp(-rw).mean().item() + c) / 2: _("a real image with the *wrong* text counts as fake: "
                                                 "softplus(real_wrong), not softplus(-real_wrong)."),
            sp(-rw).mean().item() + (sp(rr).mean().item() + c) / 2: _("real_right and real_wrong are swapped: the "
                                                                     "image with its own text is the real pair."),
            -(a + (b + c) / 2): _("mind the sign: the loss is the negated log-likelihood, softplus(-s_r) for real."),
        })
        gen = torch.Generator().manual_seed(0)
        for trial, n in enumerate((16, 9, 12)):
            args = tuple(2 * torch.randn(n, generator=gen) for _ in range(3))
            _expect_match(matching_aware_discriminator_loss, _matching_aware, args, name,
                          _("random logits, {n} of each (trial {trial})", n=n, trial=trial + 1))
        big = torch.tensor([80.0, -80.0])
        _expect_match(matching_aware_discriminator_loss, _matching_aware, (big, -big, big), name, _("logits of ±80"))
        return _("calls a real image real only with its own text: a wrong caption or a generated image is fake.")

    return _report("matching_aware_discriminator_loss", body)
