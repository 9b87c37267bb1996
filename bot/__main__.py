"""``python -m bot`` runs the ``peer-circles`` command."""

from bot.cli import main

raise SystemExit(main())
