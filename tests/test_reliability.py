"""Training that survives being killed, keeps its memory flat, and an import that touches nothing."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
import torch

from ganlib import data, models, training

ROOT = Path(__file__).resolve().parents[1]

TRAIN_FOREVER = textwrap.dedent("""
    import sys
    import torch
    from ganlib import data, models, training
    torch.set_num_threads(1)
    training.setup(seed=0, threads=1)
    gan = training.GAN(models.MLPGenerator(latent_dim=3, hidden=16, depth=2),
                       models.MLPDiscriminator(hidden=16, depth=2), device="cpu")
    training.train(gan, data.toy_loader("ring", n=2048, batch_size=64), steps=10**9,
                   progress=False, checkpoint=sys.argv[1], checkpoint_every=50)
""")


def small_gan():
    torch.manual_seed(0)
    return training.GAN(models.MLPGenerator(latent_dim=3, hidden=16, depth=2),
                        models.MLPDiscriminator(hidden=16, depth=2), device="cpu")


def test_a_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    checkpoint = tmp_path / "run.pt"
    process = subprocess.Popen([sys.executable, "-c", TRAIN_FOREVER, str(checkpoint)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not checkpoint.exists():
            assert process.poll() is None, "the training process died by itself"
            assert time.monotonic() < deadline, "no checkpoint written within 60 s"
            time.sleep(0.1)
        time.sleep(1.0)  # let it write a few more, then kill it mid-run, without warning
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()

    resumed = training.load_checkpoint(small_gan(), checkpoint)
    step = resumed.step
    assert step >= 50 and step % 50 == 0
    assert all(len(values) == step for values in resumed.history.values())
    for optimizer in (resumed.d_optimizer, resumed.g_optimizer):
        assert all(state["step"].item() == step for state in optimizer.state.values())
    assert not [p for p in tmp_path.iterdir() if p.name != "run.pt"], "a temporary file was left behind"

    training.train(resumed, data.toy_loader("ring", n=2048, batch_size=64), steps=10, progress=False)
    assert resumed.step == step + 10 and len(resumed.history["d_loss"]) == step + 10


def test_memory_stays_flat_over_10000_steps():
    """The history holds floats, not tensors with autograd graphs: 10,000 steps cost only them."""
    gan = small_gan()
    loader = data.toy_loader("ring", n=4096, batch_size=64)
    process = psutil.Process()
    training.train(gan, loader, steps=1_000, progress=False)
    before = process.memory_info().rss
    training.train(gan, loader, steps=9_000, progress=False)
    growth_mb = (process.memory_info().rss - before) / 2**20
    # 6 floats x 9,000 steps in lists is about 2 MB; one retained graph per step would be hundreds.
    assert growth_mb < 20, f"resident memory grew by {growth_mb:.1f} MB over 9,000 steps"
    assert gan.step == 10_000 and all(isinstance(v, float) for v in gan.history["d_loss"][-5:])


AUDIT = textwrap.dedent("""
    import sys
    import matplotlib.pyplot, torch, torchvision, sklearn.datasets, ipywidgets, tqdm.auto  # warm third-party caches
    events = []
    def hook(event, args):
        if event == "socket.connect" or event.startswith("urllib"):
            events.append(f"{event} {args!r}")
        elif event == "open" and isinstance(args[0], (str, bytes)) and args[1] and set(str(args[1])) & set("wax+"):
            events.append(f"write {args[0]!r}")
        elif event in ("os.mkdir", "os.rename", "os.remove", "shutil.rmtree"):
            events.append(f"{event} {args[0]!r}")
    sys.addaudithook(hook)
    import ganlib
    from ganlib import data, exercises, losses, metrics, models, training, viz, widgets
    print("\\n".join(events) or "nothing")
""")


def test_importing_ganlib_makes_no_network_call_and_writes_no_file(tmp_path):
    env = dict(os.environ, HOME=str(tmp_path), MPLCONFIGDIR=str(tmp_path / "mpl"))
    result = subprocess.run([sys.executable, "-c", AUDIT], capture_output=True, text=True, env=env, cwd=tmp_path,
                            check=True)
    assert result.stdout.strip() == "nothing", result.stdout
    assert not list(tmp_path.glob("*.pt"))


@pytest.mark.parametrize("content", [b"", b"\x00" * 64, b"PK\x03\x04 not really a zip"])
def test_loading_a_damaged_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "damaged.pt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"damaged.pt' is not a ganlib checkpoint"):
        training.load_checkpoint(small_gan(), path)
