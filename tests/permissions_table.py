"""The one permissions table: every command of the catalogue against every kind of person, with the outcome each
must get. The console (tests/e2e/test_permissions.py), Discord and Matrix (tests/test_permissions_table.py) all run
this same data; a command added to the catalogue without a row here fails them.

The people (:class:`Actor`), all in one community unless said otherwise:

- ``member``: an ordinary member of "Evening circle";
- ``facilitator``: a trained facilitator of "Evening circle" who also holds the platform's facilitator role;
- ``other-facilitator``: a trained facilitator of "Morning circle" (and the platform's facilitator role), who is only
  a member of "Evening circle";
- ``former-facilitator``: a trained facilitator of "Evening circle" (and the platform's facilitator role) who left it:
  their facilitator record stays, but without a seat they have no power over the circle;
- ``moderator`` and ``admin``: the community's moderator and admin (on Discord the admin is the server owner);
- ``outsider``: the admin of *another* community, naming this community's circles and alerts.

An outcome is :data:`OK` (the permission checks let the person through: the answer may still be another ordinary
error, such as "no session is due", but never a refusal or "not found"), or the catalogue key of the refusal the
person must get: :data:`NO` (``error.not_allowed``, the role is too low), :data:`LEAD` (only this circle's
facilitators or a moderator), :data:`NOT_SEATED` (a facilitator of the circle without a seat in it),
:data:`SUMMARY` (the check-in summary's own refusal), :data:`GONE` (no such circle here), :data:`NOT_MEMBER`,
:data:`NO_ALERT`, :data:`NO_REQUEST`.

Arguments are written once per command, as text; the placeholders ``{member}`` (the platform id of ``member``),
``{alert}`` (the number of an alert raised by ``member`` during set-up), ``{spare}`` (a circle each actor may archive:
the outsider names this community's "Evening circle" instead) and ``{actor}`` are filled in by each platform's runner.
Commands run actor by actor in :data:`ACTORS` order, command by command in :data:`ORDER`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.catalogue import build_catalogue
from bot.i18n import catalogue
from bot.model import Role

__all__ = [
    "ACTORS",
    "ALERT_NOTE",
    "EVENING",
    "GONE",
    "LEAD",
    "MORNING",
    "NO",
    "NOT_MEMBER",
    "NOT_SEATED",
    "NO_ALERT",
    "NO_REQUEST",
    "OK",
    "OPEN",
    "ORDER",
    "PLATFORM_ROLE",
    "REFUSALS",
    "SECRET",
    "SUMMARY",
    "TABLE",
    "Actor",
    "Row",
    "args_for",
    "command_text",
    "mismatch",
    "refusal_text",
]


class Actor(StrEnum):
    """Who runs the command (see the module's docstring)."""

    MEMBER = "member"
    FACILITATOR = "facilitator"
    OTHER_FACILITATOR = "other-facilitator"
    FORMER_FACILITATOR = "former-facilitator"
    MODERATOR = "moderator"
    ADMIN = "admin"
    OUTSIDER = "outsider"


ACTORS: tuple[Actor, ...] = tuple(Actor)

PLATFORM_ROLE: dict[Actor, Role] = {
    Actor.MEMBER: Role.MEMBER,
    Actor.FACILITATOR: Role.FACILITATOR,
    Actor.OTHER_FACILITATOR: Role.FACILITATOR,
    Actor.FORMER_FACILITATOR: Role.FACILITATOR,
    Actor.MODERATOR: Role.MODERATOR,
    Actor.ADMIN: Role.ADMIN,
    Actor.OUTSIDER: Role.ADMIN,  # an admin at home: the strongest stranger
}
"""The role each actor's platform grants (Discord roles and ownership, Matrix power levels and user lists)."""

OK = "allowed"
NO = "error.not_allowed"
LEAD = "session.error.not_facilitator"
NOT_SEATED = "session.error.not_seated"
NOT_MEMBER = "circle.error.not_member"
SUMMARY = "checkin.summary.not_allowed"
GONE = "circle.error.unknown"
NO_ALERT = "alert.error.unknown"
NO_REQUEST = "rotation.error.no_request"

REFUSALS = frozenset(
    {NO, LEAD, NOT_SEATED, SUMMARY, GONE, "circle.error.unknown_suggest", NO_ALERT, "help.not_allowed"}
)
"""Keys that mean "not you" or "not here": none of them may answer an allowed row."""

NOT_HERE = {GONE: frozenset({GONE, "circle.error.unknown_suggest"})}
"""Refusals that come in more than one wording (a circle not found, with or without suggestions)."""

EVENING = "Evening circle"
MORNING = "Morning circle"
OPEN = "Open circle"
SECRET = "a secret only I may read"
"""The check-in note the facilitator writes during set-up: no answer to anyone else may contain it."""
ALERT_NOTE = "I would like to talk to someone"
"""The note of the support request the member makes during set-up: moderators' business. No answer to anyone but
the moderators, the admin and the member who wrote it may contain it."""
NOT_FOR_ALERTS = frozenset({Actor.FACILITATOR, Actor.OTHER_FACILITATOR, Actor.FORMER_FACILITATOR, Actor.OUTSIDER})

ALL = frozenset(Actor)
NOT_THE_WRITER = ALL - {Actor.FACILITATOR}


@dataclass(frozen=True, slots=True)
class Row:
    """One command: its arguments and each actor's outcome (in :data:`ACTORS` order)."""

    args: Mapping[str, str]
    outcomes: tuple[str, str, str, str, str, str, str]
    hidden: tuple[str, ...] = ()
    """Text no answer to the actors in ``hidden_from`` may contain."""
    hidden_from: frozenset[Actor] = field(default=ALL)

    def outcome(self, actor: Actor) -> str:
        return self.outcomes[ACTORS.index(actor)]


MODERATORS_ONLY = (NO, NO, NO, NO, OK, OK, GONE)
ADMINS_ONLY = (NO, NO, NO, NO, NO, OK, OK)
EVERYONE_HERE = (OK, OK, OK, OK, OK, OK, GONE)
EVERYONE = (OK, OK, OK, OK, OK, OK, OK)
ITS_LEADERS = (LEAD, OK, LEAD, NOT_SEATED, OK, OK, GONE)
ITS_MEMBERS = (OK, OK, OK, NOT_MEMBER, NOT_MEMBER, NOT_MEMBER, GONE)  # a seat in the circle, whatever the role

#                  member facilitator other-facilitator former-facilitator moderator admin outsider
TABLE: dict[str, Row] = {
    "circle create": Row({"name": "{actor} new circle"}, (NO, NO, NO, NO, OK, OK, OK)),
    "circle list": Row({}, EVERYONE, hidden=(EVENING,), hidden_from=frozenset({Actor.OUTSIDER})),
    "circle info": Row({"circle": EVENING}, EVERYONE_HERE),
    "circle join": Row({"circle": OPEN}, EVERYONE_HERE),
    "circle leave": Row({"circle": OPEN}, EVERYONE_HERE),
    "circle archive": Row({"circle": "{spare}"}, MODERATORS_ONLY),
    "circle schedule": Row({"circle": EVENING}, EVERYONE_HERE),
    "circle schedule-set": Row({"circle": OPEN, "rule": "weekly mon 10:00 UTC 60m"}, MODERATORS_ONLY),
    "circle schedule-clear": Row({"circle": OPEN}, MODERATORS_ONLY),
    "session cancel": Row({"circle": EVENING, "date": "2030-01-01"}, ITS_LEADERS),
    "session move": Row(
        {"circle": EVENING, "date": "2030-01-01", "new_date": "2030-01-02", "new_time": "18:00"}, ITS_LEADERS
    ),
    "session open": Row({"circle": EVENING}, ITS_LEADERS),
    "session close": Row({"circle": EVENING}, ITS_LEADERS),
    "session here": Row({"circle": EVENING}, ITS_MEMBERS),
    "session rsvp": Row({"circle": EVENING}, ITS_MEMBERS),
    "session feedback": Row({"circle": EVENING, "rating": "4"}, EVERYONE_HERE),
    "facilitate volunteer": Row({"circle": OPEN}, EVERYONE_HERE),
    "facilitate step-down": Row({"circle": OPEN}, EVERYONE_HERE),
    "facilitate away": Row({"circle": OPEN, "from": "2030-01-01", "to": "2030-01-03"}, EVERYONE_HERE),
    "facilitate train": Row({"circle": OPEN, "member": "{member}"}, MODERATORS_ONLY),
    "rotation show": Row({"circle": EVENING}, EVERYONE_HERE),
    "rotation swap": Row({"circle": EVENING, "member": "{member}"}, EVERYONE_HERE),
    "rotation accept": Row({"request": "1"}, (OK, OK, OK, OK, OK, OK, NO_REQUEST)),
    "rotation set": Row({"circle": OPEN, "member": "{member}"}, MODERATORS_ONLY),
    "checkin": Row({"mood": "3", "note": "a calm day"}, EVERYONE),
    "checkin history": Row({}, EVERYONE, hidden=(SECRET,), hidden_from=NOT_THE_WRITER),
    "checkin summary": Row({"circle": EVENING}, (SUMMARY, OK, SUMMARY, SUMMARY, OK, OK, GONE), hidden=(SECRET,)),
    "checkin nudges": Row({"setting": "on"}, EVERYONE),
    "checkin share-name": Row({"setting": "off"}, EVERYONE),
    "support": Row({"note": "please reach out when you can"}, EVERYONE),
    "resources": Row({}, EVERYONE),
    "resources suggest": Row({"suggestion": "A listening line, 0800 000 000"}, EVERYONE),
    "alert list": Row({}, (NO, NO, NO, NO, OK, OK, OK)),
    "alert claim": Row({"id": "{alert}"}, (NO, NO, NO, NO, OK, OK, NO_ALERT)),
    "alert resolve": Row({"id": "{alert}"}, (NO, NO, NO, NO, OK, OK, NO_ALERT)),
    "me language": Row({"language": "en"}, EVERYONE),
    "me timezone": Row({"timezone": "Europe/London"}, EVERYONE),
    "me reminders": Row({"reminders": "on"}, EVERYONE),
    "me export": Row({}, EVERYONE, hidden=(SECRET,), hidden_from=NOT_THE_WRITER),
    "me forget": Row({}, EVERYONE),
    "admin setup": Row({}, ADMINS_ONLY),
    "admin set": Row({"setting": "language", "value": "en"}, ADMINS_ONLY),
    "admin show": Row({}, (NO, NO, NO, NO, OK, OK, OK)),
    "admin status": Row({}, (NO, NO, NO, NO, OK, OK, OK)),
    "help": Row({}, EVERYONE),
}

CATALOGUE = build_catalogue()
ORDER: tuple[str, ...] = tuple(command.name for command in CATALOGUE if command.name in TABLE)
"""The catalogue's order (so ``circle archive`` of a spare circle, or ``alert resolve``, come where help lists them)."""


def args_for(name: str, actor: Actor, fill: Mapping[str, str]) -> dict[str, str]:
    """The row's arguments for ``actor`` with the placeholders filled (``fill`` gives ``member`` and ``alert``)."""
    spare = EVENING if actor is Actor.OUTSIDER else f"Spare {actor.value}"
    values = {"actor": actor.value, "spare": spare, **fill}
    return {option: value.format(**values) for option, value in TABLE[name].args.items()}


def command_text(name: str, args: Mapping[str, str]) -> str:
    """The command as typed on Matrix and the console (without the prefix): every value by name, quoted."""
    words = [name]
    for option, value in args.items():
        words.append(f'{option}="{value}"')
    return " ".join(words)


def mismatch(name: str, actor: Actor, keys: list[str], answer: str) -> str | None:
    """Why the answer does not fit the table (``keys``: the error keys the engine answered with), or ``None``."""
    row = TABLE[name]
    expected = row.outcome(actor)
    hidden_here = [hidden for hidden in row.hidden if actor in row.hidden_from]
    if actor in NOT_FOR_ALERTS:
        hidden_here.append(ALERT_NOTE)
    for hidden in hidden_here:
        if hidden in answer:
            return f"{name} as {actor}: the answer shows {hidden!r}: {answer[:200]!r}"
    if expected == OK:
        refused = [key for key in keys if key in REFUSALS]
        if refused or not answer.strip():
            return f"{name} as {actor}: expected allowed, got {refused or 'no answer'}: {answer[:200]!r}"
        return None
    accepted = NOT_HERE.get(expected, frozenset({expected}))
    if not keys or keys[-1] not in accepted:
        return f"{name} as {actor}: expected {expected}, got {keys or 'no error'}: {answer[:200]!r}"
    shown = refusal_text(name, actor)
    if shown is not None and shown not in answer:
        return f"{name} as {actor}: the refusal is not the catalogue's {shown!r}: {answer[:200]!r}"
    return None


def refusal_text(name: str, actor: Actor) -> str | None:
    """The exact English text of the row's refusal, where it has one wording (role and facilitator refusals)."""
    expected = TABLE[name].outcome(actor)
    messages = catalogue()
    if expected == NO:
        needed = CATALOGUE.commands[name].min_role
        return messages.t("en", NO, role=messages.t("en", f"role_phrase.{needed.label}"))
    if expected in (LEAD, NOT_SEATED, SUMMARY):
        return messages.t("en", expected, circle=TABLE[name].args["circle"])
    return None
