import copy
import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from ganlib import data, losses, models, training


def small_gan(seed=0, **kwargs):
    torch.manual_seed(seed)
    G = models.MLPGenerator(latent_dim=3, hidden=16, depth=2)
    D = models.MLPDiscriminator(hidden=16, depth=2)
    return training.GAN(G, D, device="cpu", **kwargs)


def params(model):
    return [p.detach().clone() for p in model.parameters()]


def test_train_step_equals_the_eight_steps_written_by_hand():
    gan = small_gan(lr_g=1e-2, lr_d=3e-2)
    G, D = copy.deepcopy(gan.generator), copy.deepcopy(gan.discriminator)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-2, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=3e-2, betas=(0.5, 0.999))
    real = data.sample_toy("ring", 32, seed=0)

    torch.manual_seed(1)
    training.train_step(gan, iter([real]))

    torch.manual_seed(1)
    fake = G(torch.randn(32, 3)).detach()
    d_loss = F.binary_cross_entropy_with_logits(D(real), torch.ones(32)) + F.binary_cross_entropy_with_logits(
        D(fake), torch.zeros(32)
    )
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = F.binary_cross_entropy_with_logits(D(G(torch.randn(32, 3))), torch.ones(32))  # non-saturating
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()

    for mine, ref in zip(params(gan.generator) + params(gan.discriminator), params(G) + params(D), strict=True):
        torch.testing.assert_close(mine, ref, rtol=1e-5, atol=1e-6)


def test_discriminator_update_leaves_generator_alone_and_vice_versa():
    gan = small_gan()
    real = data.sample_toy("ring", 32, seed=0)
    g_before = params(gan.generator)
    gan.g_optimizer.step = lambda: None  # keep G frozen: only the D step acts
    training.train_step(gan, iter([real]))
    assert all(torch.equal(a, b) for a, b in zip(g_before, params(gan.generator), strict=True))
    # The G step ran with D's weights frozen: its gradients never reached D...
    d_grads = [p.grad.clone() for p in gan.discriminator.parameters()]
    gan = small_gan()
    d_after_d_step = {}

    def record_then_step(original=gan.d_optimizer.step):
        original()
        d_after_d_step["params"] = params(gan.discriminator)

    gan.d_optimizer.step = record_then_step
    training.train_step(gan, iter([real]))
    # ...and D's weights after the whole step are those right after its own update.
    assert all(torch.equal(a, b) for a, b in zip(d_after_d_step["params"], params(gan.discriminator), strict=True))
    assert all(p.requires_grad for p in gan.discriminator.parameters())
    assert all(g is not None for g in d_grads)


def test_n_critic_updates_the_discriminator_n_times_per_generator_update():
    gan = small_gan(n_critic=3)
    batches = iter([data.sample_toy("ring", 16, seed=s) for s in range(7)])
    training.train_step(gan, batches)
    first = next(iter(gan.d_optimizer.state.values()))
    assert first["step"].item() == 3
    assert next(iter(gan.g_optimizer.state.values()))["step"].item() == 1
    assert len(list(batches)) == 4  # three batches drawn, one per discriminator step


def test_train_records_history_and_counts_steps(capsys):
    gan = small_gan()
    history = training.train(gan, data.toy_loader("ring", n=256, batch_size=64), steps=10, progress=False)
    assert gan.step == 10
    assert set(history) == set(training.HISTORY_KEYS)
    assert all(len(v) == 10 for v in history.values())
    assert all(0 <= p <= 1 for p in history["d_real"] + history["d_fake"])
    assert all(isinstance(v, float) for v in history["g_grad_norm"])
    assert capsys.readouterr().err == ""


def test_train_shows_a_progress_bar_when_asked(capsys):
    training.train(small_gan(), data.toy_loader("ring", n=256, batch_size=64), steps=3, progress=True)
    err = capsys.readouterr().err
    assert "3/3" in err and "non_saturating GAN" in err


def test_conditional_gan_trains_on_labelled_digits():
    torch.manual_seed(0)
    G = models.DCGANGenerator(latent_dim=8, width=8, n_classes=10)
    D = models.DCGANDiscriminator(width=8, n_classes=10)
    gan = training.GAN(G, D, device="cpu")
    training.train(gan, data.digits_loader(batch_size=16), steps=2, progress=False)
    assert gan.sample(4, labels=torch.tensor([0, 1, 2, 3])).shape == (4, 1, 8, 8)


def test_unconditional_gan_ignores_labels_in_the_data():
    torch.manual_seed(0)
    gan = training.GAN(models.DCGANGenerator(latent_dim=8, width=8), models.DCGANDiscriminator(width=8), device="cpu")
    training.train(gan, data.digits_loader(batch_size=16), steps=2, progress=False)
    assert gan.step == 2


def nan_batches():
    return [torch.full((8, 2), float("nan"))]


def test_nan_loss_stops_on_that_step_naming_step_and_loss(tmp_path):
    gan = small_gan()
    training.train(
        gan,
        data.toy_loader("ring", n=256, batch_size=64),
        steps=4,
        progress=False,
        checkpoint=tmp_path / "run.pt",
        checkpoint_every=2,
    )
    before = params(gan.generator) + params(gan.discriminator)
    with pytest.raises(training.NonFiniteLossError, match=r"stopped at step 5: the discriminator loss is nan"):
        training.train(gan, nan_batches(), steps=3, progress=False, checkpoint=tmp_path / "run.pt")
    assert all(
        torch.equal(a, b) for a, b in zip(before, params(gan.generator) + params(gan.discriminator), strict=True)
    )
    assert all(p.requires_grad for p in gan.discriminator.parameters())
    restored = training.load_checkpoint(small_gan(seed=9), tmp_path / "run.pt")
    assert restored.step == 4  # the last good checkpoint is intact


def test_a_stopped_step_puts_batchnorms_statistics_back():
    torch.manual_seed(0)
    G, D = models.DCGANGenerator(latent_dim=8, width=8), models.DCGANDiscriminator(width=8)  # both with BatchNorm
    gan = training.GAN(G, D, device="cpu")
    images = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    training.train(gan, [images[:32], images[32:]], steps=2, progress=False)
    before = {name: t.clone() for model in (G, D) for name, t in model.state_dict().items()}
    poisoned = images[:32].clone()
    poisoned[0, 0, 0, 0] = math.nan
    with pytest.raises(training.NonFiniteLossError, match="No weight was changed"):
        training.train_step(gan, iter([poisoned]))
    after = {name: t for model in (G, D) for name, t in model.state_dict().items()}
    assert any("running_mean" in name for name in after)
    for name, value in before.items():
        assert torch.equal(value, after[name]), name  # without the undo, D's running_mean is NaN here
    assert torch.isfinite(gan.sample(4)).all()  # eval mode still draws


def test_the_message_says_what_a_stopped_step_had_already_updated():
    exploding = losses.GANLoss("exploding", losses.LOSSES["minimax"].discriminator, lambda f: f.sum() * float("inf"))
    gan = small_gan(loss=exploding)
    with pytest.raises(training.NonFiniteLossError, match=r"already updated the discriminator \(1 of 1 updates\); "
                                                          r"the generator was not updated"):
        training.train_step(gan, iter([data.sample_toy("ring", 8, seed=0)]))
    gan = small_gan(n_critic=3)
    good = data.sample_toy("ring", 8, seed=0)
    with pytest.raises(training.NonFiniteLossError, match=r"step 1: the discriminator loss is nan.*\(2 of 3 updates\)"):
        training.train_step(gan, iter([good, good, torch.full((8, 2), math.nan)]))


def test_infinite_generator_loss_is_named():
    exploding = losses.GANLoss("exploding", losses.LOSSES["minimax"].discriminator, lambda f: f.sum() * float("inf"))
    gan = small_gan(loss=exploding)
    with pytest.raises(training.NonFiniteLossError, match=r"step 1: the generator loss is (inf|-inf|nan)"):
        training.train_step(gan, iter([data.sample_toy("ring", 8, seed=0)]))


def test_checkpoint_round_trip_resumes_exactly(tmp_path):
    batch = [data.sample_toy("ring", 32, seed=0)]
    gan = small_gan()
    training.train(gan, batch, steps=4, progress=False)
    training.save_checkpoint(gan, tmp_path / "ckpt" / "a.pt")
    training.train(gan, batch, steps=3, progress=False)

    resumed = training.load_checkpoint(small_gan(seed=5), tmp_path / "ckpt" / "a.pt")
    assert resumed.step == 4 and len(resumed.history["d_loss"]) == 4
    training.train(resumed, batch, steps=3, progress=False)
    assert resumed.step == gan.step == 7
    mine = params(gan.generator) + params(gan.discriminator)
    for a, b in zip(mine, params(resumed.generator) + params(resumed.discriminator), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert resumed.history == gan.history
    assert not list((tmp_path / "ckpt").glob(".*tmp"))  # the temporary file was renamed away


def test_loading_something_else_is_a_clear_error(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match=r"junk.pt' is not a ganlib checkpoint"):
        training.load_checkpoint(small_gan(), junk)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(ValueError, match=r"other.pt' is not a ganlib checkpoint"):
        training.load_checkpoint(small_gan(), other)
    with pytest.raises(FileNotFoundError, match=r"missing.pt'"):
        training.load_checkpoint(small_gan(), tmp_path / "missing.pt")


def test_setup_seeds_sets_threads_and_picks_a_device(monkeypatch):
    monkeypatch.delenv("GANLIB_THREADS", raising=False)
    monkeypatch.setattr(training, "available_cpus", lambda: 4)
    before = torch.get_num_threads()
    try:
        device = training.setup(seed=3, threads=1)
        a = torch.randn(3)
        training.setup(seed=3)
        assert torch.get_num_threads() == 2
        assert torch.equal(a, torch.randn(3))
        assert isinstance(device, torch.device)
        monkeypatch.setenv("GANLIB_THREADS", "1")
        training.setup()
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


# --- The default thread count: min(2, the CPUs this process may use) ----------------------------
@pytest.fixture
def machine(monkeypatch, tmp_path):
    """A pretend machine: ``cpus`` in this process's affinity, cgroup files written on demand."""
    monkeypatch.delenv("GANLIB_THREADS", raising=False)
    v2, quota, period = tmp_path / "cpu.max", tmp_path / "cpu.cfs_quota_us", tmp_path / "cpu.cfs_period_us"
    monkeypatch.setattr(training, "CGROUP_CPU_MAX", str(v2))
    monkeypatch.setattr(training, "CGROUP_V1_CPU", (str(quota), str(period)))

    def set_machine(cpus: int, cpu_max: str | None = None, v1: tuple[str, str] | None = None) -> None:
        monkeypatch.setattr(training.os, "sched_getaffinity", lambda pid: set(range(cpus)), raising=False)
        for path in (v2, quota, period):
            path.unlink(missing_ok=True)
        if cpu_max is not None:
            v2.write_text(cpu_max + "\n")
        if v1 is not None:
            quota.write_text(v1[0] + "\n"), period.write_text(v1[1] + "\n")

    before = torch.get_num_threads()
    yield set_machine
    torch.set_num_threads(before)


@pytest.mark.parametrize("cpus, cpu_max, v1, expected", [
    (16, None, None, 16),  # no cgroup files: the affinity
    (1, None, None, 1),  # pinned to one CPU (taskset -c 0)
    (16, "max 100000", None, 16),  # cgroup v2 without a quota
    (16, "100000 100000", None, 1),  # Binder: one CPU's worth on a big machine
    (16, "150000 100000", None, 2),  # 1.5 CPUs, rounded up
    (16, "50000 100000", None, 1),  # half a CPU: still one thread
    (1, "400000 100000", None, 1),  # a quota above the affinity: the affinity
    (16, None, ("-1", "100000"), 16),  # cgroup v1 without a quota
    (16, None, ("200000", "100000"), 2),  # cgroup v1 with two CPUs' worth
    (16, "garbage", None, 16),  # an unreadable file is no quota
])
def test_available_cpus_reads_the_affinity_and_the_cgroup_quota(machine, cpus, cpu_max, v1, expected):
    machine(cpus, cpu_max, v1)
    assert training.available_cpus() == expected


@pytest.mark.parametrize("cpus, cpu_max, expected", [(16, None, 2), (1, None, 1), (16, "100000 100000", 1),
                                                     (2, None, 2), (16, "300000 100000", 2)])
def test_setup_defaults_to_two_threads_or_fewer_where_fewer_cpus_are_allowed(machine, cpus, cpu_max, expected):
    machine(cpus, cpu_max)
    training.setup()
    assert torch.get_num_threads() == expected


def test_ganlib_threads_and_the_argument_override_the_cpus(machine, monkeypatch):
    machine(1, "100000 100000")
    monkeypatch.setenv("GANLIB_THREADS", "3")
    training.setup()
    assert torch.get_num_threads() == 3
    training.setup(threads=2)  # the argument wins over the environment
    assert torch.get_num_threads() == 2
    for bad in ("two", "0", "-1"):
        monkeypatch.setenv("GANLIB_THREADS", bad)
        with pytest.raises(ValueError, match=rf"^GANLIB_THREADS='{bad}': expected a positive whole number"):
            training.setup()
    monkeypatch.setenv("GANLIB_THREADS", "")  # set but empty: the default
    training.setup()
    assert torch.get_num_threads() == 1


def test_without_an_affinity_call_the_cpu_count_is_used(machine, monkeypatch):
    machine(1)
    monkeypatch.delattr(training.os, "sched_getaffinity")  # as on macOS and Windows
    monkeypatch.setattr(training.os, "cpu_count", lambda: 6)
    assert training.available_cpus() == 6
    monkeypatch.setattr(training.os, "cpu_count", lambda: None)
    assert training.available_cpus() == 1


def test_pick_device_prefers_what_is_present():
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert training.pick_device().type == expected
    assert training.pick_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: training.setup(threads=0), r"^threads=0"),
        (lambda: training.setup(seed="zero"), r"^seed='zero'"),
        (lambda: training.pick_device("gpu"), r"^device='gpu'"),
        (lambda: small_gan(lr_g=0), r"^lr_g=0: a learning rate"),
        (lambda: small_gan(lr_d=-1e-3), r"^lr_d=-0.001"),
        (lambda: small_gan(n_critic=0), r"^n_critic=0"),
    (lambda: small_gan().set_learning_rates(lr_g=1e-4, lr_d=float("nan")), r"^lr_d=nan"),
        (lambda: small_gan(loss="wgan"), r"^loss='wgan' is not a known GAN loss"),
        (lambda: training.GAN(torch.nn.Linear(2, 2), models.MLPDiscriminator()), r"^latent_dim: the generator has no"),
        (lambda: training.train(small_gan(), [], steps=0), r"^steps=0"),
        (lambda: training.train(small_gan(), [], steps=2), r"no batches"),
        (lambda: training.train(small_gan(), [torch.zeros(4, 2)], steps=1, checkpoint_every=0), r"^checkpoint_every=0"),
    ],
)
def test_bad_arguments_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(
    "data_arg, match",
    [
        (torch.zeros(10, 2), r"data is a tensor; wrap it in a loader"),
        (5, r"data must be a DataLoader"),
        ([{"x": 1}], r"got a batch of type dict"),
    ],
)
def test_wrong_kinds_of_data_are_explained(data_arg, match):
    with pytest.raises(TypeError, match=match):
        training.train(small_gan(), data_arg, steps=1, progress=False)


def test_a_conditional_gan_needs_labels():
    G = models.DCGANGenerator(latent_dim=8, width=8, n_classes=10)
    gan = training.GAN(G, models.DCGANDiscriminator(width=8, n_classes=10), device="cpu")
    with pytest.raises(ValueError, match=r"conditional, but the data yields no labels"):
        training.train_step(gan, itertools.repeat(torch.zeros(4, 1, 8, 8)))


def test_set_learning_rates_changes_both_optimizers():
    gan = small_gan(lr_g=1e-3, lr_d=2e-3)
    gan.set_learning_rates(lr_g=1e-4, lr_d=2e-4)
    assert [g["lr"] for g in gan.g_optimizer.param_groups] == [1e-4]
    assert [g["lr"] for g in gan.d_optimizer.param_groups] == [2e-4]


def test_generate_from_fixed_noise_is_what_sample_draws():
    G, D = models.DCGANGenerator(latent_dim=4, image_size=8, width=8), models.DCGANDiscriminator(width=8)
    gan = training.GAN(G, D, device="cpu")
    torch.manual_seed(5)
    z = gan.noise(6)
    torch.manual_seed(5)
    drawn = gan.sample(6)
    assert torch.equal(gan.generate(z), drawn) and torch.equal(gan.generate(z), gan.generate(z))
    assert G.training  # evaluation mode only while generating
