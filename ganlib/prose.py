"""Sentences that carry the run's own numbers, in the learner's language.

A notebook states a measured result in its prose by rendering a template with the values the
run produced, so the sentence can never disagree with the output above it:

    prose.say("The GAN covered {modes} of 8 modes; {hq:.0%} of its samples are high quality.",
              modes=cov.modes_covered, hq=cov.high_quality)

The template is the English sentence in Markdown, with ``{name}`` fields as in ``str.format``.
In a translated edition of the course the same template is looked up in that language's
catalog (``GANLIB_LANG`` chooses the language), so a code cell reads the same in every language.
"""

from __future__ import annotations

import os

__all__ = ["language", "translate", "say", "sentence"]


def language() -> str:
    """The language the course speaks in this kernel: ``GANLIB_LANG``, else English ("en")."""
    return os.environ.get("GANLIB_LANG", "").strip() or "en"


def translate(template: str) -> str:
    """``template`` in the learner's language: its translation in locale/<lang>/, else the English."""
    if not isinstance(template, str):
        raise TypeError(f"template: expected the English sentence as a str, got {type(template).__name__}")
    lang = language()
    if lang == "en":
        return template
    from . import translation

    return translation.gettext(template, lang)


def sentence(template: str, /, **values) -> str:
    """``template``, translated, with ``values`` filled in: for text that code prints or returns
    (the self-checks' feedback writes its messages with it, as ``_``)."""
    text = translate(template)
    try:
        return text.format(**values)
    except KeyError as exc:
        raise KeyError(f"the sentence has the field {{{exc.args[0]}}} but no value was given for it; "
                       f"pass it as {exc.args[0]}=...") from None


def say(template: str, /, **values) -> None:
    """Show ``template``, translated, with ``values`` filled in, as Markdown under the cell."""
    from IPython.display import Markdown, display

    display(Markdown(sentence(template, **values)))
