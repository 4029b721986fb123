"""The agent desk's own words (app/web/static/agent.js, `STRINGS`) in English and Spanish.

No browser: the table is read as text. Both languages must have the same keys with the same
{placeholders}; every key agent.html and agent.js name must exist; and the English text in
agent.html (what shows before the script runs) must be the table's English.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "app" / "web" / "static"
ENTRY = re.compile(r'^ {6}(?P<key>\w+): (?P<text>".*"),$')
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Keys agent.js names as literals: t("key"), setT(el, "key"), deskProblem("key"), {key: "key"}.
KEY_USES = re.compile(
    r'\bt\("(\w+)"|\bsetT\([^,()]+, "(\w+)"|\bdeskProblem\("(\w+)"|\bkey: "(\w+)"'
)
I18N_ATTRIBUTES = ("data-i18n", "data-i18n-aria-label", "data-i18n-placeholder")


def _language_table(source: str, code: str) -> dict[str, str]:
    """The `code: { ... }` block of STRINGS, entry by entry (one `key: "text",` a line)."""
    table_at = source.index("const STRINGS = {")
    start = source.index(f"\n    {code}: {{\n", table_at)
    end = source.index("\n    },\n", start)
    table: dict[str, str] = {}
    for line in source[start:end].splitlines()[2:]:
        match = ENTRY.match(line)
        assert match, f'not one `key: "text",` entry a line in STRINGS.{code}: {line!r}'
        assert match["key"] not in table, f"STRINGS.{code}.{match['key']} twice"
        table[match["key"]] = json.loads(match["text"])
    return table


class _Marked(HTMLParser):
    """Each element of agent.html with a data-i18n attribute: its key and its own text, and
    each translated attribute (aria-label, placeholder) with its key and value."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[tuple[str, str]] = []
        self.attributes: list[tuple[str, str]] = []
        self._open: list[str] | None = None
        self._key = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name, shown in (
            ("data-i18n-aria-label", "aria-label"),
            ("data-i18n-placeholder", "placeholder"),
        ):
            if found.get(name):
                self.attributes.append((str(found[name]), str(found.get(shown) or "")))
        if found.get("data-i18n"):
            self._key, self._open = str(found["data-i18n"]), []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None:
            self.texts.append((self._key, " ".join("".join(self._open).split())))
            self._open = None


@pytest.fixture(scope="module")
def source() -> str:
    return (STATIC / "agent.js").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def english(source: str) -> dict[str, str]:
    return _language_table(source, "en")


@pytest.fixture(scope="module")
def spanish(source: str) -> dict[str, str]:
    return _language_table(source, "es")


@pytest.fixture(scope="module")
def marked() -> _Marked:
    parser = _Marked()
    parser.feed((STATIC / "agent.html").read_text(encoding="utf-8"))
    return parser


def test_english_and_spanish_have_the_same_keys(
    english: dict[str, str], spanish: dict[str, str]
) -> None:
    assert len(english) > 100
    assert sorted(set(english) - set(spanish)) == []
    assert sorted(set(spanish) - set(english)) == []


def test_each_text_has_the_same_placeholders_in_both_languages(
    english: dict[str, str], spanish: dict[str, str]
) -> None:
    differ = {
        key: (text, spanish[key])
        for key, text in english.items()
        if set(PLACEHOLDER.findall(text)) != set(PLACEHOLDER.findall(spanish[key]))
    }
    assert differ == {}


def test_every_key_the_page_and_the_script_name_exists(
    source: str, english: dict[str, str], marked: _Marked
) -> None:
    named = {key for key, _ in marked.texts} | {key for key, _ in marked.attributes}
    named |= {next(group for group in match if group) for match in KEY_USES.findall(source)}
    assert sorted(named - set(english)) == []


def test_the_pages_english_is_the_tables(english: dict[str, str], marked: _Marked) -> None:
    assert marked.texts, "agent.html marks no text"
    differ = [
        (key, text, english.get(key))
        for key, text in marked.texts + marked.attributes
        if english.get(key) != text
    ]
    assert differ == []
