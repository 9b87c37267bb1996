"""The ``peer-circles`` command: run, demo, check-config, db upgrade."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import __version__
from bot.app import EXIT_CONFIG, Application, StartupError
from bot.communities import console_ref
from bot.config import ConfigError, Settings, default_settings, load_config, summarize
from bot.demo import seed_demo
from bot.logs import configure_logging
from bot.safety.scan import scan_main
from bot.storage import Database, upgrade
from bot.storage.db import redact_url
from bot.storage.migrate import current_revision, head_revision

__all__ = ["main"]

log = logging.getLogger("bot")


def _config_path(given: str | None) -> Path | None:
    if given:
        return Path(given)
    from_env = os.environ.get("PEER_CIRCLES_CONFIG")
    if from_env:
        return Path(from_env)
    local = Path("config.yaml")
    return local if local.exists() else None


def _load(given: str | None) -> Settings:
    path = _config_path(given)
    return default_settings() if path is None else load_config(path)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="peer-circles", description="Peer-support circles for Discord and Matrix, with human moderators."
    )
    parser.add_argument("--version", action="version", version=f"peer-circles {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--config", "-c", help="config file (default: $PEER_CIRCLES_CONFIG, ./config.yaml, or none)")
        sub.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="override logging.level")
        sub.add_argument("--log-format", choices=["plain", "json"], help="override logging.format")

    with_config(commands.add_parser("run", help="run the bot on every configured platform"))
    with_config(commands.add_parser("demo", help="seed sample circles and run the console community"))
    check = commands.add_parser("check-config", help="validate a config file and show what would run")
    check.add_argument("file")
    safety = commands.add_parser("safety", help="safety tools for server owners")
    safety_commands = safety.add_subparsers(dest="safety_command", required=True, metavar="ACTION")
    scan = safety_commands.add_parser(
        "scan",
        help="test crisis detection: one message per line on standard input, one JSON verdict per line out",
    )
    scan.add_argument("--config", "-c", help="use this config's safety phrases and exceptions")
    scan.add_argument("--text", help="scan this one message instead of standard input")
    db = commands.add_parser("db", help="database migrations")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    with_config(db_commands.add_parser("upgrade", help="apply pending migrations"))
    with_config(db_commands.add_parser("current", help="show the database's migration revision"))
    return parser


async def _run(settings: Settings, *, demo: bool) -> int:
    app = Application(settings)
    if demo:
        if not settings.console_enabled():
            raise StartupError("the demo runs in the console: set platforms.console.enabled to true")
        await app.prepare()
        await seed_demo(app.database, console_ref(settings.platforms.console.community), app.messages, app.clock)
    return await app.run()


async def _db(settings: Settings, action: str) -> int:
    database = Database(settings.database_url())
    try:
        if action == "upgrade":
            before, after = await upgrade(database)
            print(f"database {redact_url(database.url)}: {before or 'empty'} -> {after}")
        else:
            current = await current_revision(database)
            head = head_revision()
            state = "up to date" if current == head else f"behind (newest is {head})"
            print(f"database {redact_url(database.url)}: revision {current or 'none'}, {state}")
    finally:
        await database.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``peer-circles`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "check-config":
            settings = load_config(Path(args.file))
            print(f"{args.file}: the configuration is valid.")
            for line in summarize(settings):
                print(f"  {line}")
            return 0
        if args.command == "safety":
            owner_settings = _load(args.config)
            forwarded = ["--text", args.text] if args.text is not None else []
            return scan_main(forwarded, sys.stdin, sys.stdout, owner_settings.safety)
        settings = _load(args.config)
        level = args.log_level or settings.logging.level
        if args.command == "demo" and not args.log_level:
            # The demo shares the terminal with a person; routine start-up lines would bury the conversation.
            level = "WARNING"
        configure_logging(level, args.log_format or settings.logging.format)
        if args.command == "db":
            return asyncio.run(_db(settings, args.db_command))
        return asyncio.run(_run(settings, demo=args.command == "demo"))
    except ConfigError as error:
        print(f"Peer Circles cannot start: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except StartupError as error:
        print(f"Peer Circles cannot start: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
