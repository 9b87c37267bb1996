"""Message catalogues: every user-facing string, in English and Arabic.

Catalogues are YAML files in a folder per locale beside this module (``en/circles.yaml``, ``ar/circles.yaml``), one
file per feature, with nested keys flattened to dotted names (``circle.join.done``); a key defined in two files of one
locale is an error. Placeholders use ``str.format`` syntax (``{circle}``); only the template is formatted,
so braces inside member-supplied values are never interpreted.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Final

import yaml

__all__ = ["DEFAULT_LOCALE", "LOCALES", "Catalogue", "MissingTranslation", "catalogue"]

LOCALES: Final = ("en", "ar")
DEFAULT_LOCALE: Final = "en"


class MissingTranslation(KeyError):
    """A key that is absent from the catalogue: a programming error, caught by the catalogue tests."""


def _flatten(prefix: str, node: object, out: dict[str, str]) -> None:
    if isinstance(node, Mapping):
        for key, value in node.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), value, out)
    elif isinstance(node, str):
        out[prefix] = node.rstrip("\n")
    else:
        raise TypeError(f"catalogue entry {prefix!r} must be text, not {type(node).__name__}")


def placeholders(template: str) -> frozenset[str]:
    """The names of the ``{placeholders}`` a template uses."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


class Catalogue:
    """Translated templates per locale, with English as the fallback for unknown locales."""

    def __init__(self, messages: Mapping[str, Mapping[str, str]]) -> None:
        self._messages = {locale: dict(entries) for locale, entries in messages.items()}

    @classmethod
    def load(cls) -> Catalogue:
        """Load the catalogues shipped with the package."""
        messages: dict[str, dict[str, str]] = {}
        for locale in LOCALES:
            folder = resources.files(__package__).joinpath(locale)
            merged: dict[str, str] = {}
            for entry in sorted(folder.iterdir(), key=lambda item: item.name):
                if not entry.name.endswith(".yaml"):
                    continue
                flat: dict[str, str] = {}
                _flatten("", yaml.safe_load(entry.read_text("utf-8")), flat)
                clash = merged.keys() & flat.keys()
                if clash:
                    raise ValueError(f"{locale}/{entry.name} redefines {sorted(clash)}")
                merged.update(flat)
            messages[locale] = merged
        return cls(messages)

    @property
    def locales(self) -> tuple[str, ...]:
        """The locales this catalogue holds."""
        return tuple(self._messages)

    def keys(self, locale: str) -> frozenset[str]:
        """Every key defined for ``locale``."""
        return frozenset(self._messages[locale])

    def has(self, key: str) -> bool:
        """Whether ``key`` exists in the default locale."""
        return key in self._messages[DEFAULT_LOCALE]

    def resolve_locale(self, *candidates: str | None) -> str:
        """The first candidate this catalogue supports, else the default locale."""
        for candidate in candidates:
            if candidate and candidate in self._messages:
                return candidate
        return DEFAULT_LOCALE

    def template(self, locale: str, key: str) -> str:
        """The raw template for ``key``; falls back to English, and raises when English lacks it too."""
        entries = self._messages.get(locale, self._messages[DEFAULT_LOCALE])
        try:
            return entries[key]
        except KeyError:
            try:
                return self._messages[DEFAULT_LOCALE][key]
            except KeyError:
                raise MissingTranslation(key) from None

    def t(self, locale: str, key: str, /, **params: object) -> str:
        """The message ``key`` in ``locale`` with ``params`` filled in.

        Bidirectional embedding, override and isolate controls are removed from the values: a name, note or excerpt
        holding U+202E could otherwise reverse the rest of the bot's line (an alert's "who" and "where" included).
        """
        values = {
            name: value.translate(_BIDI_CONTROLS) if isinstance(value, str) else value for name, value in params.items()
        }
        return self.template(locale, key).format_map(values)


_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
"""LRE, RLE, PDF, LRO, RLO and LRI, RLI, FSI, PDI (the marks LRM, RLM and ALM stay: they cannot reorder a line)."""


@cache
def catalogue() -> Catalogue:
    """The shipped catalogue, loaded once."""
    return Catalogue.load()
