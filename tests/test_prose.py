"""prose.say: the run's numbers rendered into a sentence, in the learner's language."""

import pytest

from ganlib import prose


def test_say_fills_the_fields_and_shows_markdown(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    prose.say("covered **{modes}** of 8 modes, {hq:.1%} high quality", modes=7, hq=0.8567)
    assert len(shown) == 1 and type(shown[0]).__name__ == "Markdown"
    assert shown[0].data == "covered **7** of 8 modes, 85.7% high quality"


def test_a_missing_value_names_the_field():
    with pytest.raises(KeyError, match=r"\{modes\}.*modes=\.\.\."):
        prose.say("covered {modes} of 8", hq=1)


def test_language_defaults_to_english(monkeypatch):
    monkeypatch.delenv("GANLIB_LANG", raising=False)
    assert prose.language() == "en"
    monkeypatch.setenv("GANLIB_LANG", "zh")
    assert prose.language() == "zh"


def test_translate_rejects_a_non_string():
    with pytest.raises(TypeError, match="template"):
        prose.translate(3)


def test_sentence_returns_the_text_for_code_to_print():
    assert prose.sentence("expected {n:.2f}, got {m}", n=1 / 3, m="x") == "expected 0.33, got x"
