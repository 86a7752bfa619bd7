import pytest
import torch

from ganlib import models


def test_mlp_shapes_and_logits():
    G, D = models.MLPGenerator(latent_dim=4, out_dim=2), models.MLPDiscriminator(in_dim=2)
    x = G(torch.randn(10, 4))
    assert x.shape == (10, 2)
    assert D(x).shape == (10,)
    # Logits, not probabilities: a discriminator without a sigmoid can leave [0, 1].
    D.net[-1].bias.data.fill_(5.0)
    assert (D(x) > 1).all()


def test_mlp_depth_counts_hidden_layers():
    G = models.MLPGenerator(latent_dim=2, hidden=16, depth=4)
    assert sum(isinstance(m, torch.nn.Linear) for m in G.modules()) == 5


@pytest.mark.parametrize("size", [8, 16, 28, 32])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_shapes_for_every_supported_side(size, channels):
    G = models.DCGANGenerator(latent_dim=16, image_size=size, channels=channels, width=8)
    D = models.DCGANDiscriminator(image_size=size, channels=channels, width=8)
    images = G(torch.randn(5, 16))
    assert images.shape == (5, channels, size, size)
    assert images.min() >= -1 and images.max() <= 1  # tanh output, the data's range
    assert D(images).shape == (5,)


@pytest.mark.parametrize("size", [8, 28])
def test_conditional_models_use_the_label(size):
    torch.manual_seed(0)
    G = models.DCGANGenerator(latent_dim=16, image_size=size, width=8, n_classes=10)
    D = models.DCGANDiscriminator(image_size=size, width=8, n_classes=10)
    G.eval(), D.eval()
    z = torch.randn(1, 16).repeat(2, 1)
    labels = torch.tensor([3, 7])
    images = G(z, labels)
    assert not torch.allclose(images[0], images[1])  # same noise, different digits
    same = images[:1].repeat(2, 1, 1, 1)
    logits = D(same, labels)
    assert logits.shape == (2,) and logits[0] != logits[1]


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    G = models.DCGANGenerator(latent_dim=64, image_size=32, width=64)
    conv = [m for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)][0]
    bn = [m for m in G.modules() if isinstance(m, torch.nn.BatchNorm2d)][0]
    w = conv.weight.detach()
    # ~ N(0, 0.02): with >100k weights the sample std is within 2% of 0.02.
    assert w.numel() > 100_000
    assert abs(w.std().item() - 0.02) < 0.0004 and abs(w.mean().item()) < 0.0004
    assert abs(bn.weight.detach().mean().item() - 1) < 0.01 and bn.bias.abs().max() == 0


def test_discriminator_without_batch_norm_has_none():
    D = models.DCGANDiscriminator(image_size=16, batch_norm=False)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())


@pytest.mark.parametrize("size", [7, 20, 64, "8"])
def test_unsupported_image_size_lists_the_supported_ones(size):
    for build in (models.DCGANGenerator, models.DCGANDiscriminator):
        with pytest.raises(ValueError, match=rf"image_size={size!r} is not supported; use one of 8, 16, 28, 32"):
            build(image_size=size)


@pytest.mark.parametrize("name", ["latent_dim", "width", "channels", "n_classes"])
def test_bad_sizes_are_named(name):
    with pytest.raises(ValueError, match=rf"^{name}=0: expected a positive integer"):
        models.DCGANGenerator(**{name: 0})


def test_label_mistakes_get_clear_errors():
    G = models.DCGANGenerator(latent_dim=8, width=8, n_classes=10)
    with pytest.raises(ValueError, match=r"conditional \(n_classes=10\); pass labels"):
        G(torch.randn(2, 8))
    with pytest.raises(ValueError, match=r"labels: expected 2 integer class indices"):
        G(torch.randn(2, 8), torch.tensor([1.0, 2.0]))
    plain = models.DCGANDiscriminator(width=8)
    with pytest.raises(ValueError, match=r"built without n_classes"):
        plain(torch.zeros(2, 1, 8, 8), torch.tensor([1, 2]))


def test_discriminator_names_a_wrong_image_shape():
    D = models.DCGANDiscriminator(image_size=16, width=8)
    with pytest.raises(ValueError, match=r"x: expected images of shape \(N, 1, 16, 16\), got \(4, 1, 8, 8\)"):
        D(torch.zeros(4, 1, 8, 8))


def test_packed_discriminator_concatenates_consecutive_samples():
    torch.manual_seed(0)
    D = models.PackedDiscriminator(pack=3, in_dim=2, hidden=16)
    x = torch.randn(12, 2)
    logits = D(x)
    assert logits.shape == (4,)
    # pack i is samples 3i, 3i+1, 3i+2 side by side: the same as the inner net on the reshaped batch
    by_hand = D.net(torch.cat([x[0::3], x[1::3], x[2::3]], dim=1))
    torch.testing.assert_close(logits, by_hand)
    assert D.net.net[0].in_features == 6
    with pytest.raises(ValueError, match=r"multiple of pack=3.*shape \(10, 2\)"):
        D(torch.randn(10, 2))
    with pytest.raises(ValueError, match="pack=0"):
        models.PackedDiscriminator(pack=0)


# --- Absurd sizes: refused with the arguments named, before any allocation ----------------------
def _counted(monkeypatch):
    """Record the parameter count each constructor checks before allocating."""
    counts = []
    check = models._check_size
    monkeypatch.setattr(models, "_check_size", lambda model, n, args: counts.append(n) or check(model, n, args))
    return counts


@pytest.mark.parametrize("size", [8, 16, 28, 32])
@pytest.mark.parametrize("n_classes", [None, 1, 10])
def test_the_size_check_counts_every_parameter_the_model_then_holds(monkeypatch, size, n_classes):
    counts = _counted(monkeypatch)
    built = [models.DCGANGenerator(latent_dim=5, image_size=size, channels=3, width=6, n_classes=n_classes),
             models.DCGANDiscriminator(image_size=size, channels=3, width=6, n_classes=n_classes),
             models.DCGANDiscriminator(image_size=size, width=7, n_classes=n_classes, batch_norm=False),
             models.MLPGenerator(latent_dim=3, out_dim=size, hidden=9, depth=2),
             models.MLPDiscriminator(in_dim=size, hidden=11, depth=4)]
    assert counts == [sum(p.numel() for p in m.parameters()) for m in built]


def test_a_model_too_big_for_memory_is_refused_and_one_that_fits_is_built(monkeypatch):
    # MLPGenerator(2 -> 100 -> 2): 2*100 + 100 + 100*2 + 2 = 502 parameters, 2,008 bytes in float32.
    # Refused when the weights and their gradients (4,016 bytes) exceed the memory, built otherwise.
    monkeypatch.setattr(models, "_memory_bytes", lambda: 4_015)
    with pytest.raises(ValueError, match=r"^MLPGenerator with latent_dim=2, out_dim=2, hidden=100, depth=1 would hold "
                                         r"502 parameters .*choose smaller sizes"):
        models.MLPGenerator(hidden=100, depth=1)
    monkeypatch.setattr(models, "_memory_bytes", lambda: 4_016)
    models.MLPGenerator(hidden=100, depth=1)
    monkeypatch.setattr(models, "_memory_bytes", lambda: None)  # unknown memory: no refusal
    models.MLPGenerator(hidden=100, depth=1)


@pytest.mark.parametrize("build, named", [
    (lambda: models.MLPGenerator(hidden=10**7), "hidden=10000000"),
    (lambda: models.MLPDiscriminator(hidden=10**7, depth=2), "hidden=10000000, depth=2"),
    (lambda: models.PackedDiscriminator(pack=4, hidden=10**7), "hidden=10000000"),
    (lambda: models.DCGANGenerator(width=10**8), "width=100000000"),
    (lambda: models.DCGANDiscriminator(image_size=32, width=10**6), "width=1000000"),
    (lambda: models.DCGANGenerator(latent_dim=10**6, width=10**5), "latent_dim=1000000"),
])
def test_absurd_sizes_fail_with_a_message_not_in_the_allocator(build, named):
    # 10^14 parameters and more: far beyond any machine's memory (checked against this machine's).
    with pytest.raises(ValueError, match=rf"{named}.* parameters \(.* GB\), and with their gradients more than the "
                                         r".* GB of memory this process may use"):
        build()


def test_memory_is_the_smaller_of_the_machine_and_a_cgroup_limit(monkeypatch, tmp_path):
    limit = tmp_path / "memory.max"
    monkeypatch.setattr(models, "CGROUP_MEMORY_FILES", (str(tmp_path / "absent"), str(limit)))
    monkeypatch.setattr(models.os, "sysconf", lambda name: {"SC_PHYS_PAGES": 1_000_000, "SC_PAGE_SIZE": 4096}[name])
    limit.write_text("max\n")  # cgroup v2 without a limit: the machine's memory
    assert models._memory_bytes() == 4_096_000_000
    limit.write_text("2147483648\n")  # Binder's 2 GB
    assert models._memory_bytes() == 2_147_483_648
    limit.write_text("9223372036854771712\n")  # cgroup v1's "no limit"
    assert models._memory_bytes() == 4_096_000_000
