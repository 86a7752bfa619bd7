"""The course in other languages, from one source: its English text in gettext catalogs.

The notebooks in ``notebooks/`` are the only ones anyone edits. Their prose is cut into
messages: each markdown cell paragraph by paragraph (a table, a list or a display formula stays
one message), and each sentence a code cell renders with ``prose.say``. A language's messages live
in ``locale/<lang>/<notebook>.po``, one standard gettext catalog per notebook (read and written
with Babel), so any .po editor (Poedit, Weblate, Lokalize) can translate them; ``locale/<lang>/
ganlib.po`` holds the self-checks' feedback. From the sources and a language's catalogs,
``translated_notebook`` writes the notebook in that language: its markdown translated, its code
cells the same byte for byte (the code, its figures and printed output, has one path), its
nbgrader metadata intact, and its kernel one that sets ``GANLIB_LANG``, so sentences rendered by
code and the self-checks speak that language too.

    python3 course.py translate [zh [CATALOG ...]]  # English text into the catalogs: new messages added,
                                        # changed ones marked fuzzy with their old translation
    python3 course.py lab --lang zh     # the Chinese notebooks, as a learner gets them

A message missing from a catalog, or marked fuzzy, stays in English in the translated notebook,
and the tests fail naming the notebook and the message, so an English edit and its translation
land together.
"""

from __future__ import annotations

import ast
import copy
import functools
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "locale"
NOTEBOOKS = ROOT / "notebooks"
# Each language the course is translated into: its name in that language, the kernel its
# notebooks use (which sets GANLIB_LANG) and Babel's locale for the catalogs' headers.
LANGUAGES = {"zh": {"name": "中文", "kernel": "gan-course-zh", "display": "Python (GAN course, 中文)",
                    "locale": "zh_CN"}}
LIBRARY_CATALOG = "ganlib"  # locale/<lang>/ganlib.po: ganlib's own messages (the self-checks' feedback)

__all__ = ["LANGUAGES", "Message", "blocks", "messages", "update_catalog", "translations", "translated_notebook",
           "gettext", "check_language", "catalog_status"]


def check_language(lang: object) -> str:
    """``lang`` if the course is translated into it, else a ValueError listing the languages it has."""
    if isinstance(lang, str) and (lang == "en" or lang in LANGUAGES):
        return lang
    available = ", ".join(["en (English)"] + [f"{code} ({info['name']})" for code, info in LANGUAGES.items()])
    raise ValueError(f"language {lang!r}: the course is available in {available}.")


# --- Cutting markdown into messages --------------------------------------------------------------

_FENCE = re.compile(r"^\s*(```|~~~)")


def blocks(markdown: str) -> list[tuple[str, str]]:
    """``markdown`` as (block, separator) pairs: paragraphs split at blank lines, a fenced code
    block or a $$ display formula kept whole. Joining every block with its separator gives the
    text back exactly; leading blank lines come as a first block that is empty."""
    out: list[tuple[str, str]] = []
    current: list[str] = []
    gap: list[str] = []
    fence = math = False

    def flush() -> None:
        text = "".join(current)
        body = text[:-1] if text.endswith("\n") else text
        out.append((body, text[len(body):] + "".join(gap)))

    for line in markdown.splitlines(keepends=True):
        if not line.strip() and not fence and not math:
            gap.append(line)
            continue
        if gap:
            flush()
            current.clear()
            gap.clear()
        if _FENCE.match(line) and not math:
            fence = not fence
        elif not fence and line.count("$$") % 2 == 1:
            math = not math
        current.append(line)
    if current or gap:
        flush()
    return out


_NOT_WORDS = [
    re.compile(r"\$\$.*?\$\$", re.S),        # display formulas
    re.compile(r"\$[^$\n]+\$"),              # inline formulas
    re.compile(r"```.*?```", re.S),          # fenced code
    re.compile(r"`[^`\n]*`"),                # inline code
    re.compile(r"!\[[^\]]*\]\([^)]*\)"),     # images (the Binder badge)
    re.compile(r"\]\([^)]*\)"),              # link targets
    re.compile(r"https?://\S+"),
    re.compile(r"<[^>]+>"),                  # HTML tags
]


def needs_translation(block: str) -> bool:
    """Whether ``block`` holds words to translate (not only formulas, code, images or links)."""
    text = block
    for pattern in _NOT_WORDS:
        text = pattern.sub(" ", text)
    return bool(re.search(r"[A-Za-z]{2,}", text))


@dataclass(frozen=True)
class Message:
    """One message of a notebook: its English text, where it is, and what kind it is."""

    text: str
    cell: str  # the cell's id (or index)
    kind: str  # "markdown", or "prose.say" for a sentence a code cell renders


def _cell_key(cell: dict, index: int) -> str:
    return str(cell.get("id") or index)


def _said_templates(source: str) -> list[str]:
    """The English templates a code cell passes to ``prose.say`` or ``prose.sentence`` (its first argument,
    a literal): ``sentence`` translates a word or phrase a cell computes and puts into a ``say`` sentence."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and (
            (isinstance(node.func, ast.Attribute) and node.func.attr in ("say", "sentence"))
            or (isinstance(node.func, ast.Name) and node.func.id in ("say", "sentence"))
        ):
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append(first.value)
            else:
                raise ValueError(f"prose.say's first argument must be the English sentence as a literal str "
                                 f"(values go in as keywords), not {ast.unparse(first)!r}: a translation "
                                 "is looked up by that literal.")
    return found


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def messages(nb: dict) -> list[Message]:
    """Every message of notebook ``nb``, in order (a text seen twice is one message)."""
    seen, out = set(), []
    for index, cell in enumerate(nb["cells"]):
        source = _source(cell)
        if cell["cell_type"] == "markdown":
            found = [(block, "markdown") for block, _ in blocks(source) if needs_translation(block)]
        elif cell["cell_type"] == "code":
            found = [(t, "prose.say") for t in _said_templates(source)]
        else:
            found = []
        for text, kind in found:
            if text not in seen:
                seen.add(text)
                out.append(Message(text, _cell_key(cell, index), kind))
    return out


# --- Catalogs ------------------------------------------------------------------------------------

def catalog_path(lang: str, name: str) -> Path:
    """locale/<lang>/<name>.po, for a notebook's stem or ``LIBRARY_CATALOG``."""
    return LOCALE / lang / f"{name}.po"


def _template(name: str, found: list[Message]):
    from babel.messages.catalog import Catalog

    template = Catalog(project="GAN course", domain=name, fuzzy=False)
    for message in found:
        flags = ["python-brace-format"] if message.kind == "prose.say" else []
        where = message.cell if message.kind == "course" else f"{name}.ipynb#{message.cell}"
        template.add(message.text, locations=[(where, None)], flags=flags,
                     auto_comments=[message.kind])
    return template


def _read(path: Path):
    from babel.messages.pofile import read_po

    with path.open("rb") as handle:
        return read_po(handle, abort_invalid=True)


def _write(path: Path, catalog) -> None:
    from babel.messages.pofile import write_po

    for message in catalog:
        # Babel writes a previous msgid (#|) through its comment wrapper, which breaks a multi-line
        # paragraph into lines it reads back as translator comments ("# |"). A fuzzy message keeps its
        # old translation; its old English is in git's history.
        message.previous_id = ()
        message.user_comments = [c for c in message.user_comments if not c.startswith("|")]
        # Babel flags any text with a "%" as printf-style (python-format); ours are Markdown or
        # str.format templates, and the flag would make msgfmt --check reject "90 % high quality".
        message.flags.discard("python-format")
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=0, include_previous=False, sort_output=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, path)


def _state(catalog) -> list[tuple]:
    """What a catalog says, without its header's dates: to write it only when that changes."""
    return [(m.id, m.string, m.context, sorted(m.flags), m.locations, m.auto_comments, m.previous_id)
            for m in catalog if m.id] + [("obsolete", m.id, m.string) for m in catalog.obsolete.values()]


def update_catalog(name: str, found: list[Message], lang: str) -> dict[str, int]:
    """Bring locale/<lang>/<name>.po in step with ``found``, the English messages as they are now.

    New messages are added untranslated; a message whose English changed is matched to its old
    text and marked fuzzy, keeping the old translation for the translator to revise; messages
    gone from the English are kept as obsolete (#~) so a translation is never thrown away.
    Returns the counts of messages, translated, fuzzy and untranslated.
    """
    from babel.messages.catalog import Catalog

    check_language(lang)
    path = catalog_path(lang, name)
    template = _template(name, found)
    if path.exists():
        catalog = _read(path)
        before = _state(catalog)
        catalog.update(template, no_fuzzy_matching=False, update_creation_date=False)
        changed = _state(catalog) != before
    else:
        catalog = Catalog(
            locale=LANGUAGES[lang]["locale"], project="GAN course", domain=name, fuzzy=False,
            version="0.1", msgid_bugs_address="the course's issue tracker",
            copyright_holder="the GAN course's authors", language_team=f"{LANGUAGES[lang]['name']} ({lang})",
            header_comment=(f"# {LANGUAGES[lang]['name']} ({lang}) translation of {name}, written from the "
                            "English sources by\n# `python3 course.py translate` (ganlib/translation.py): "
                            "translate each msgstr; a fuzzy\n# message's English changed since it was "
                            "translated (its old English is in git's history)."))
        catalog.update(template, update_creation_date=False)
        changed = True
    if changed:
        _write(path, catalog)
    return catalog_status(catalog)


def catalog_status(catalog) -> dict[str, int]:
    live = [m for m in catalog if m.id]
    fuzzy = sum(m.fuzzy for m in live)
    done = sum(bool(m.string) and not m.fuzzy for m in live)
    return {"messages": len(live), "translated": done, "fuzzy": fuzzy, "untranslated": len(live) - done - fuzzy}


@functools.cache
def translations(lang: str) -> dict[str, str]:
    """English -> ``lang`` for every translated, non-fuzzy message of every catalog of ``lang``."""
    check_language(lang)
    table: dict[str, str] = {}
    for path in sorted((LOCALE / lang).glob("*.po")):
        for message in _read(path):
            if message.id and message.string and not message.fuzzy:
                table.setdefault(message.id, message.string)
    return table


def gettext(message: str, lang: str) -> str:
    """``message`` in ``lang`` where a catalog translates it, else the English ``message``."""
    if lang == "en":
        return message
    try:
        return translations(lang).get(message, message)
    except (ImportError, OSError, ValueError):
        return message  # no catalogs (e.g. ganlib installed without the repository): English


# --- Translated notebooks ------------------------------------------------------------------------

def _translate_markdown(source: str, table: dict[str, str]) -> str:
    return "".join(table.get(block, block) + separator for block, separator in blocks(source))


def translated_notebook(path: Path, lang: str, learn_folder: str = "learn") -> dict:
    """The source notebook at ``path`` in ``lang``: markdown translated paragraph by paragraph,
    code cells and their metadata as they are, the Binder badge opening the learner's copy in that
    language (``<learn_folder>-<lang>/``), and the kernel that sets GANLIB_LANG."""
    check_language(lang)
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    if lang == "en":
        return nb
    table = translations(lang)
    out = copy.deepcopy(nb)
    for cell in out["cells"]:
        if cell["cell_type"] == "markdown":
            text = _translate_markdown(_source(cell), table)
            text = text.replace(f"?urlpath=lab/tree/{learn_folder}/", f"?urlpath=lab/tree/{learn_folder}-{lang}/")
            cell["source"] = text
    info = LANGUAGES[lang]
    out["metadata"]["kernelspec"] = {"name": info["kernel"], "display_name": info["display"], "language": "python"}
    out["metadata"]["gan_course"] = {"language": lang}
    return out


def _main(argv: list[str] | None = None) -> int:
    """python -m ganlib.translation update [LANG]: the catalogs in step with the English sources."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ganlib.translation")
    parser.add_argument("command", choices=["update"])
    parser.add_argument("lang", nargs="?", default=None)
    parser.add_argument("catalogs", nargs="*", metavar="CATALOG",
                        help="only these catalogs (e.g. 03_losses ganlib); default: every one")
    args = parser.parse_args(argv)
    langs = [check_language(args.lang)] if args.lang else list(LANGUAGES)
    found_all = all_messages()
    unknown = set(args.catalogs) - set(found_all)
    if unknown:
        parser.error(f"no catalog named {', '.join(sorted(unknown))}; the catalogs are {', '.join(found_all)}")
    for lang in langs:
        print(f"{'catalog':55s} {'messages':>8s} {'done':>5s} {'fuzzy':>5s} {'to do':>5s}")
        for name, found in found_all.items():
            if args.catalogs and name not in args.catalogs:
                continue
            s = update_catalog(name, found, lang)
            print(f"locale/{lang}/{name}.po".ljust(55)
                  + f" {s['messages']:8d} {s['translated']:5d} {s['fuzzy']:5d} {s['untranslated']:5d}")
    translations.cache_clear()
    return 0


COURSE_CATALOG = "course"  # locale/<lang>/course.po: course.py's and the site's own sentences


def course_messages() -> list[Message]:
    """The sentences course.py and the site write around the notebooks (their TRANSLATED tuples)."""
    import importlib.util

    found = []
    for path in (ROOT / "course.py", ROOT / "site" / "build.py"):
        spec = importlib.util.spec_from_file_location(f"_translated_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found += [Message(t, path.name, "course") for t in module.TRANSLATED]
    return found


def library_messages() -> list[Message]:
    """ganlib's own sentences: the literal first argument of every ``_("...")`` call in its modules
    (the self-checks write their feedback with ``_ = prose.sentence``)."""
    found, seen = [], set()
    for path in sorted((ROOT / "ganlib").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
        for node in sorted(calls, key=lambda n: (n.lineno, n.col_offset)):  # in the source's order, for translators
            if isinstance(node.func, ast.Name) and node.func.id == "_" and node.args:
                first = node.args[0]
                if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    raise ValueError(f"{where}: _()'s first argument must be the English sentence as a literal "
                                     f"str (values go in as keywords), not {ast.unparse(first)!r}.")
                if first.value not in seen:
                    seen.add(first.value)
                    # the file alone: a line number would move with every edit above it
                    found.append(Message(first.value, path.relative_to(ROOT).as_posix(), "course"))
    return found


def all_messages() -> dict[str, list[Message]]:
    """Every catalog's messages as the English sources hold them now: one per notebook, course.po
    (course.py's and the site's sentences) and ganlib.po (the self-checks' feedback)."""
    found = {path.stem: messages(json.loads(path.read_text(encoding="utf-8")))
             for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))}
    found[COURSE_CATALOG] = course_messages()
    library = library_messages()
    if library:
        found[LIBRARY_CATALOG] = library
    return found


if __name__ == "__main__":
    raise SystemExit(_main())
