"""The shipped digits classifier: loadable safely, as accurate as stated, and reproducible from its script."""

import pytest
import torch

from ganlib import classifier, data


@pytest.fixture(scope="module")
def shipped():
    return classifier.load_digits_classifier()


def test_shipped_weights_score_what_they_claim_on_the_held_out_split(shipped):
    images, labels = data.load_digits(split="test")
    measured = classifier.accuracy(shipped, images, labels)
    assert measured == pytest.approx(shipped.test_accuracy, abs=1e-6)  # same weights, same 360 images
    assert 0.97 <= measured <= 1.0


def test_weights_file_holds_only_tensors_and_plain_values():
    state = torch.load(classifier.WEIGHTS, map_location="cpu", weights_only=True)  # raises on pickled code
    assert state["format"] == "ganlib-digits-classifier"
    assert set(state["state_dict"]) == set(classifier.DigitsClassifier().state_dict())


def test_the_script_reproduces_a_classifier_of_the_same_accuracy(shipped):
    # Not bitwise (CPUs and thread counts differ), so: the same accuracy within 1.5 points (5 images of 360).
    model, accuracy = classifier.train_digits_classifier(seed=0)
    assert accuracy == pytest.approx(shipped.test_accuracy, abs=0.015)
    images, labels = data.load_digits(split="test")
    assert accuracy == pytest.approx(classifier.accuracy(model, images, labels), abs=1e-9)


def test_features_probabilities_and_predictions_have_the_documented_shapes(shipped):
    images, labels = data.load_digits(split="test")
    assert shipped.features(images[:7]).shape == (7, 64)
    p = shipped.probabilities(images[:7])
    torch.testing.assert_close(p.sum(1), torch.ones(7))
    digit, confidence = shipped.predict(images[:50])
    assert (digit == labels[:50]).float().mean() >= 0.9 and (confidence > 0.5).all()


def test_noise_is_not_read_as_confident_digits(shipped):
    torch.manual_seed(0)
    noise = torch.rand(500, 1, 8, 8) * 2 - 1
    _, noise_confidence = shipped.predict(noise)
    _, real_confidence = shipped.predict(data.load_digits(split="test")[0])
    assert (noise_confidence > 0.9).float().mean() < 0.5 < 0.9 < (real_confidence > 0.9).float().mean()


@pytest.mark.parametrize("x", [torch.zeros(3, 1, 16, 16), torch.zeros(1, 8, 8), "images"])
def test_wrong_input_names_the_shape_and_a_fix(shipped, x):
    with pytest.raises(ValueError, match=r"expected 8x8 digit images"):
        shipped.features(x)


def test_missing_or_foreign_weights_give_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m ganlib.classifier"):
        classifier.load_digits_classifier(tmp_path / "nothing.pt")
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(ValueError, match="not a ganlib digits-classifier file"):
        classifier.load_digits_classifier(foreign)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="not a readable classifier file"):
        classifier.load_digits_classifier(broken)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    import socket

    def refuse(*args, **kwargs):
        raise OSError("[Errno 101] Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty cache: nothing to fall back on


@pytest.mark.parametrize("download", [True, False])
def test_offline_inception_gives_one_clear_line_naming_the_digits_classifier(offline, download):
    with pytest.raises(classifier.FeatureExtractorUnavailableError) as info:
        classifier.load_inception(download=download)
    message = str(info.value)
    assert "load_digits_classifier()" in message and len(message.splitlines()) == 1
    assert ("downloaded" if download else "found") in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_inception_features_prepare_images_as_imagenet_expects():
    seen = []

    class Spy(torch.nn.Module):
        fc = torch.nn.Linear(1, 1)

        def forward(self, x):
            seen.append(x)
            return x.mean(dim=(2, 3))

    extractor = classifier.InceptionFeatures(Spy())
    images = torch.full((3, 1, 8, 8), 1.0)  # white, in [-1, 1]
    features = extractor(images, batch_size=2)
    assert features.shape == (3, 3) and [len(x) for x in seen] == [2, 1]
    assert seen[0].shape == (2, 3, 299, 299)
    expected = (1.0 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225])
    torch.testing.assert_close(features[0], expected)
    with pytest.raises(ValueError, match=r"got \(3, 2, 8, 8\)"):
        extractor(torch.zeros(3, 2, 8, 8))
