"""Reading a configuration file into :class:`~bot.config.schema.Settings`, or saying everything wrong with it.

The steps: read the file; parse the YAML; fill ``${VAR}`` references from the environment; refuse example
placeholders; validate against the schema. Problems from every step after parsing are gathered and raised
together, each with the line it comes from, so the server owner fixes the whole file in one pass.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.config.environment import substitute_env
from bot.config.messages import Loc, explain_validation_error, show_value
from bot.config.placeholders import find_placeholders
from bot.config.problems import ConfigError, ConfigProblem, format_path
from bot.config.schema import BASE_DIR_CONTEXT, Settings, duplicate_community_ids

__all__ = ["LineIndex", "default_settings", "load_config"]

_TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
_KEY_MEANINGS = {
    "tag:yaml.org,2002:bool": "true or false (yes, no, on and off mean that in YAML)",
    "tag:yaml.org,2002:int": "a number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:null": "nothing",
}

# Parser complaints that almost always mean an unquoted Matrix id or a wildcard; said in the owner's terms.
_YAML_HINTS = (
    (
        "cannot start any token",
        'values starting with @ or ` must be in quotes, like "@name:example.org" for a Matrix user id',
    ),
    (
        "constructor for the tag '!",
        'values starting with ! (Matrix room ids) must be in quotes, like "!abc:example.org"',
    ),
    ("alias", 'a value starting with * or & must be in quotes, like "*"'),
    ("'\\t'", "indent with spaces, not tabs"),
)


class _Loader(yaml.SafeLoader):
    """Safe YAML, except that dates stay text: the schema parses them and says which is wrong, and where."""


def _date_as_text(loader: _Loader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


# PyYAML's own date construction raises a bare ValueError ("month must be in 1..12") with no line.
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _date_as_text)


class LineIndex:
    """The line of each key and list entry of a YAML document, from the node tree, before construction."""

    def __init__(self, root: yaml.Node | None) -> None:
        self._lines: dict[Loc, int] = {}
        # Keys the schema could never accept as written: repeated, or read by YAML as something but text.
        self.problems: list[tuple[Loc, int, str]] = []
        if root is not None:
            self._visit(root, (), set())

    def _visit(self, node: yaml.Node, loc: Loc, active: set[int]) -> None:
        # An alias can point back at its own ancestor; walking into it again would never end.
        if id(node) in active:
            return
        active = active | {id(node)}
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                    continue
                key_loc = (*loc, key_node.value)
                line = key_node.start_mark.line + 1
                if key_node.tag != _STR_TAG:
                    meaning = _KEY_MEANINGS.get(key_node.tag, "something other than text")
                    self.problems.append(
                        (
                            loc,
                            line,
                            f"the key {key_node.value!r} is read by YAML as {meaning}; put it in quotes",
                        )
                    )
                    continue
                if key_loc in self._lines:
                    self.problems.append(
                        (
                            key_loc,
                            line,
                            f"appears twice in this section (first on line {self._lines[key_loc]}); "
                            "YAML would silently use only the last one, so remove one of them",
                        )
                    )
                else:
                    self._lines[key_loc] = line
                self._visit(value_node, key_loc, active)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._lines.setdefault((*loc, index), item.start_mark.line + 1)
                self._visit(item, (*loc, index), active)

    def line_of(self, loc: Loc) -> int | None:
        """The line of ``loc``, or of its nearest enclosing key when it is not in the file (a missing key)."""
        for end in range(len(loc), 0, -1):
            line = self._lines.get(loc[:end])
            if line is not None:
                return line
        return None


def _read(path: Path, file: str) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        reason = "the file does not exist (copy config.example.yaml to start one)"
    except IsADirectoryError:
        reason = "this is a folder, not a file"
    except PermissionError:
        reason = "the bot is not allowed to read this file (check its permissions)"
    except OSError as exc:
        reason = f"the file cannot be read: {exc.strerror or exc}"
    else:
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            reason = f"the file is not UTF-8 text (byte {exc.start} cannot be read); save it as UTF-8"
    raise ConfigError([ConfigProblem(file, None, "", reason)], file)


def _yaml_problem(exc: yaml.YAMLError, file: str) -> ConfigProblem:
    mark = getattr(exc, "problem_mark", None)
    if not isinstance(exc, yaml.MarkedYAMLError) or mark is None:
        return ConfigProblem(file, None, "", f"the file is not valid YAML: {exc}")
    line, column = mark.line + 1, mark.column + 1
    text = exc.problem or "unexpected text"
    message = f"YAML syntax error at line {line}, column {column}: {text}"
    if exc.context and exc.context_mark is not None and exc.context_mark.line != mark.line:
        message += f" ({exc.context} started on line {exc.context_mark.line + 1})"
    hints = [hint for needle, hint in _YAML_HINTS if needle in f"{text} {exc.context or ''}"]
    if hints:
        message += f"; {hints[0]}"
    return ConfigProblem(file, line, "", message)


def _parse(text: str, file: str) -> tuple[Any, LineIndex]:
    try:
        data = yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_problem(exc, file)], file) from exc
    except (ValueError, RecursionError) as exc:
        raise ConfigError([ConfigProblem(file, None, "", f"the file could not be read as YAML: {exc}")], file) from exc
    return data, LineIndex(root)


def _text_keys_only(value: Any) -> Any:
    # LineIndex already reported each key that is not text, with its line; drop them so nothing repeats it.
    if isinstance(value, dict):
        return {key: _text_keys_only(item) for key, item in value.items() if isinstance(key, str)}
    if isinstance(value, list):
        return [_text_keys_only(item) for item in value]
    return value


def _enabled(section: Any) -> bool:
    flag = section.get("enabled", False) if isinstance(section, dict) else False
    return flag is True or (isinstance(flag, str) and flag.strip().lower() in _TRUE_WORDS)


def _forgive_disabled_platforms(data: dict[str, Any], missing: Mapping[Loc, list[str]]) -> set[Loc]:
    """Drop references to unset variables inside a platform that is not enabled; return their locations.

    The example file names ${DISCORD_TOKEN} for a Discord that is off; someone trying the console should not
    have to invent a token. The key is removed so the setting takes its default.
    """
    platforms = data.get("platforms")
    forgiven: set[Loc] = set()
    if not isinstance(platforms, dict):
        return forgiven
    for name in ("discord", "matrix"):
        # If "enabled" itself names an unset variable, whether the platform is on is unknown: forgive nothing.
        if name not in platforms or _enabled(platforms[name]) or ("platforms", name, "enabled") in missing:
            continue
        for loc in missing:
            if loc[:2] != ("platforms", name):
                continue
            parent: Any = data
            for part in loc[:-1]:
                parent = parent[part]
            if isinstance(parent, dict):
                del parent[loc[-1]]
            else:
                parent[loc[-1]] = None
            forgiven.add(loc)
    return forgiven


def _raw_ids(data: dict[str, Any]) -> list[str | None]:
    communities = data.get("communities")
    if not isinstance(communities, list):
        return []
    ids = [item.get("id") if isinstance(item, dict) else None for item in communities]
    return [
        str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else None for value in ids
    ]


def _inside(loc: Loc, others: set[Loc]) -> bool:
    return any(loc[: len(other)] == other for other in others)


def load_config(path: Path, env: Mapping[str, str] | None = None) -> Settings:
    """Load and validate the configuration file at ``path``.

    ``${VAR}`` references are filled from ``env`` (by default the process environment). Relative paths in the
    file resolve against the file's directory.

    Raises:
        ConfigError: listing every problem found, each with its line, sorted by line.
    """
    environment: Mapping[str, str] = os.environ if env is None else env
    path = Path(path)
    file = str(path)
    data, index = _parse(_read(path, file), file)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            [
                ConfigProblem(
                    file,
                    1,
                    "",
                    f"the file must be a set of keys and values (like "
                    f"'communities:' at the start of a line), not {show_value(data)}",
                )
            ],
            file,
        )

    found: list[tuple[Loc, str, int | None]] = [(loc, msg, line) for loc, line, msg in index.problems]
    loose: list[tuple[Loc, str]] = []
    data = _text_keys_only(data)
    substituted = substitute_env(data, environment)
    forgiven = _forgive_disabled_platforms(substituted.data, substituted.missing)
    loose += [(loc, msg) for loc, msg in substituted.problems if loc not in forgiven]
    loose += find_placeholders(substituted.data)
    # Checked here as well as in the schema, which skips the check while any community has another problem.
    loose += [(("communities", *loc), msg) for loc, msg in duplicate_community_ids(_raw_ids(substituted.data))]

    settings: Settings | None = None
    try:
        settings = Settings.model_validate(substituted.data, context={BASE_DIR_CONTEXT: path.parent.absolute()})
    except ValidationError as exc:
        # A value left as "${TOKEN}" because TOKEN is unset already has its problem; its type error is noise.
        unset = set(substituted.missing) - forgiven
        loose += [
            (loc, msg)
            for loc, msg in explain_validation_error(exc, Settings, substituted.from_env)
            if not _inside(loc, unset)
        ]

    found += [(loc, msg, index.line_of(loc)) for loc, msg in loose]
    if found or settings is None:
        unique = dict.fromkeys(ConfigProblem(file, line, format_path(loc), msg) for loc, msg, line in found)
        raise ConfigError(unique, file)
    return settings


def default_settings(data_dir: Path | None = None) -> Settings:
    """The settings used when there is no configuration file: console only, SQLite in ``./data``.

    A relative ``data_dir`` resolves against the current working directory.
    """
    data: dict[str, Any] = {} if data_dir is None else {"data_dir": data_dir}
    return Settings.model_validate(data, context={BASE_DIR_CONTEXT: Path.cwd()})
