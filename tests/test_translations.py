"""The course in Chinese, from one source: every message of every notebook translated (an English
edit fails here, naming the notebook and the message, until its translation lands with it), the
formulas, code, links, numbers and fields carried over exactly, the glossary's terms used, the
code cells the same byte for byte, and one Chinese notebook run end to end."""

import json
import re
from pathlib import Path

import nbformat
import pytest

from ganlib import translation

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
LANGS = sorted(translation.LANGUAGES)
CATALOGS = translation.all_messages()
babel = pytest.importorskip("babel.messages.pofile")


def _catalog(lang, name):
    path = translation.catalog_path(lang, name)
    assert path.exists(), f"{path.relative_to(ROOT)} is missing: run `python3 course.py translate {lang}`"
    return {m.id: m for m in translation._read(path) if m.id}


def _short(text, n=90):
    line = text.strip().splitlines()[0]
    return line if len(line) <= n else line[: n - 1] + "…"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", sorted(CATALOGS))
def test_every_message_is_translated_and_none_is_fuzzy(lang, name):
    catalog = _catalog(lang, name)
    missing = [m.text for m in CATALOGS[name] if m.text not in catalog or not catalog[m.text].string]
    fuzzy = [m.text for m in CATALOGS[name] if m.text in catalog and catalog[m.text].fuzzy]
    problems = [f"  untranslated: {_short(t)}" for t in missing] + [f"  changed in English (fuzzy): {_short(t)}"
                                                                     for t in fuzzy]
    assert not problems, (f"{name} ({lang}): {len(problems)} message(s) need a translation. Run "
                          f"`python3 course.py translate {lang}`, then translate them in "
                          f"locale/{lang}/{name}.po:\n" + "\n".join(problems[:15]))


_TOKENS = {
    # a span may cross a line break inside its paragraph (Markdown reads the break as a space)
    "formula": re.compile(r"\$\$.*?\$\$|\$[^$]+\$", re.S),
    "code": re.compile(r"```.*?```|`[^`]+`", re.S),
    "link target": re.compile(r"\]\(([^)\s]*)\)"),
    "web address": re.compile(r"(?<!\()https?://[^\s)>\]]+"),
    "field": re.compile(r"\{[A-Za-z_][\w.]*(?:![rs])?(?::[^{}]*)?\}"),
}
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])\d+(?:[.,]\d+)*")


def _placeholders(text):
    found = {}
    rest = text
    for kind, pattern in _TOKENS.items():
        found[kind] = sorted(" ".join(m.group(0).split()) for m in pattern.finditer(rest))  # breaks read as spaces
        if kind in ("formula", "code"):
            rest = pattern.sub(" ", rest)
    rest = re.sub(r"\]\([^)]*\)|https?://\S+", " ", rest)
    found["number"] = sorted(m.group(0).replace(",", "") for m in _NUMBER.finditer(rest))
    heading = re.match(r"#+ ", text)
    found["heading level"] = [heading.group(0)] if heading else []
    return found


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", sorted(CATALOGS))
def test_formulas_code_links_numbers_and_fields_are_carried_over_exactly(lang, name):
    problems = []
    for message in _catalog(lang, name).values():
        if not message.string or message.fuzzy:
            continue
        english, chinese = _placeholders(message.id), _placeholders(message.string)
        for kind in english:
            if english[kind] != chinese[kind]:
                problems.append(f"  {kind}: {english[kind]} became {chinese[kind]} in: {_short(message.id)}")
    assert not problems, f"locale/{lang}/{name}.po:\n" + "\n".join(problems[:15])


def _glossary(lang):
    terms = []
    for line in (ROOT / "locale" / lang / "glossary.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            english, target, _ = line.split("\t")
            terms.append((english.split("|"), target))
    return terms


def _prose_only(text):
    for pattern in (_TOKENS["formula"], _TOKENS["code"], _TOKENS["field"], re.compile(r"\]\([^)]*\)"),
                    re.compile(r"https?://\S+")):
        text = pattern.sub(" ", text)
    return text


@pytest.mark.parametrize("lang", LANGS)
def test_the_glossarys_terms_are_used(lang):
    terms = _glossary(lang)
    assert len(terms) >= 25
    problems = []
    for name in sorted(CATALOGS):
        for message in _catalog(lang, name).values():
            if not message.string or message.fuzzy:
                continue
            english = _prose_only(message.id)
            for spellings, target in terms:
                if any(re.search(rf"\b{re.escape(s)}(s|es)?\b", english, re.I) for s in spellings):
                    if target not in message.string:
                        problems.append(f"  {name}: '{spellings[0]}' should be 「{target}」 in: {_short(message.id)}")
    assert not problems, f"locale/{lang}/glossary.tsv's terms missing:\n" + "\n".join(problems[:20])


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_translated_notebooks_code_and_metadata_are_the_sources(lang, path):
    source = json.loads(path.read_text(encoding="utf-8"))
    translated = translation.translated_notebook(path, lang)
    assert len(translated["cells"]) == len(source["cells"])
    for mine, theirs in zip(translated["cells"], source["cells"], strict=True):
        assert mine["cell_type"] == theirs["cell_type"] and mine.get("id") == theirs.get("id")
        assert mine["metadata"] == theirs["metadata"]  # nbgrader's marks intact
        if theirs["cell_type"] == "code":
            assert mine["source"] == theirs["source"]  # byte for byte: one code path
    assert translated["metadata"]["kernelspec"]["name"] == translation.LANGUAGES[lang]["kernel"]
    badge = "".join(translated["cells"][0]["source"])
    assert f"?urlpath=lab/tree/learn-{lang}/{path.name})" in badge


@pytest.mark.parametrize("lang", LANGS)
def test_no_catalog_holds_a_garbled_previous_english(lang):
    for path in sorted((ROOT / "locale" / lang).glob("*.po")):
        text = path.read_text(encoding="utf-8")
        assert "\n#|" not in text and "\n# |" not in text, f"{path.name}: run `python3 course.py translate`"


@pytest.mark.parametrize("lang", LANGS)
def test_the_catalogs_are_in_step_with_the_english(lang, tmp_path, monkeypatch):
    """Extraction from today's notebooks changes no catalog: none lacks a message or holds a stale place."""
    import shutil

    shutil.copytree(ROOT / "locale", tmp_path / "locale")
    monkeypatch.setattr(translation, "LOCALE", tmp_path / "locale")
    before = {p.name: p.read_bytes() for p in (tmp_path / "locale" / lang).glob("*.po")}
    for name, found in CATALOGS.items():
        translation.update_catalog(name, found, lang)
    after = {p.name: p.read_bytes() for p in (tmp_path / "locale" / lang).glob("*.po")}
    stale = sorted(n for n in after if before.get(n) != after[n])
    assert not stale, f"locale/{lang}: {stale} are not in step with the notebooks: run `python3 course.py translate`"


def test_a_changed_english_paragraph_is_marked_fuzzy_with_its_old_translation(tmp_path, monkeypatch):
    monkeypatch.setattr(translation, "LOCALE", tmp_path)
    first = [translation.Message("The generator maps noise to samples.", "c1", "markdown")]
    translation.update_catalog("demo", first, "zh")
    path = translation.catalog_path("zh", "demo")
    path.write_text(_with_translation(path, "生成器把噪声映射为样本。"), encoding="utf-8")
    status = translation.update_catalog("demo", [translation.Message("The generator maps noise to images.", "c1",
                                                                      "markdown")], "zh")
    assert status == {"messages": 1, "translated": 0, "fuzzy": 1, "untranslated": 0}
    (message,) = [m for m in translation._read(path) if m.id]
    assert message.fuzzy and message.string == "生成器把噪声映射为样本。"
    # and no comment Babel would garble: it writes a previous msgid (#|) through its comment wrapper and reads
    # it back as a translator's comment, which each later update would wrap again ("# |")
    assert "#|" not in path.read_text(encoding="utf-8") and "# |" not in path.read_text(encoding="utf-8")
    translation.update_catalog("demo", [translation.Message("The generator maps noise to images.", "c1",
                                                            "markdown")], "zh")
    assert "# |" not in path.read_text(encoding="utf-8")


def _with_translation(path, text):
    po = path.read_text(encoding="utf-8")
    return po[: po.rindex('msgstr ""')] + f'msgstr "{text}"\n'


def test_blocks_split_paragraphs_and_join_back_exactly():
    for text in ["a\n\nb", "\n\na\nb\n\n\nc\n", "```\nx\n\ny\n```\n\nz", "$$\na\n\nb\n$$\ntext\n\nmore", "", "x"]:
        assert "".join(b + s for b, s in translation.blocks(text)) == text
    assert [b for b, _ in translation.blocks("One.\n\n```\nkeep\n\nwhole\n```\n\nTwo.")] == [
        "One.", "```\nkeep\n\nwhole\n```", "Two."]
    assert not translation.needs_translation("$$\\min_G \\max_D V$$")
    assert not translation.needs_translation("[![Open in Binder](https://x/badge.svg)](https://y)")
    assert translation.needs_translation("The **generator** maps $z$ to $x$.")


def test_prose_say_templates_are_messages_and_must_be_literals():
    nb = {"cells": [{"cell_type": "code", "source": 'prose.say("Covered {n} of 8 modes.", n=3)', "metadata": {}}]}
    (message,) = translation.messages(nb)
    assert message.text == "Covered {n} of 8 modes." and message.kind == "prose.say"
    nb["cells"][0]["source"] = 'prose.say(f"Covered {n} of 8 modes.")'
    with pytest.raises(ValueError, match="literal str"):
        translation.messages(nb)


def test_a_phrase_a_cell_computes_for_a_sentence_is_a_message_too():
    source = 'way = prose.sentence("clockwise") if turn < 0 else prose.sentence("anticlockwise")\n' \
             'prose.say("It turns {way}.", way=way)'
    nb = {"cells": [{"cell_type": "code", "source": source, "metadata": {}}]}
    assert sorted(m.text for m in translation.messages(nb)) == ["It turns {way}.", "anticlockwise", "clockwise"]


def test_an_unknown_language_is_named_with_the_available_ones():
    with pytest.raises(ValueError, match=r"language 'fr': the course is available in en \(English\), zh \(中文\)"):
        translation.check_language("fr")


@pytest.mark.parametrize("lang", LANGS)
def test_notebook_00_runs_end_to_end_in_its_translation(lang, tmp_path):
    """The translated notebook, run as its learners run it (a kernel with GANLIB_LANG set): every cell
    runs, and what the code says in prose comes out in that language."""
    import os

    from nbclient import NotebookClient

    nb = nbformat.reads(json.dumps(translation.translated_notebook(NOTEBOOKS[0], lang)), as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS[0].parent)}})
    client.execute(env={**os.environ, "GANLIB_LANG": lang})
    said = [o["data"]["text/markdown"] for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if o.get("output_type") == "display_data" and "text/markdown" in o.get("data", {})]
    assert all(re.search(r"[\u4e00-\u9fff]", s) for s in said), said
