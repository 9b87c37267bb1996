"""Members' data rights and retention: what the bot holds about one person, how it is exported and forgotten,
and how old records are purged.

Every table in the metadata declares a policy in :mod:`bot.privacy.registry`; a test fails when one does not.
"""

__all__: list[str] = []
