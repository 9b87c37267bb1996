"""In-chat administration: a community's settings changed in chat over the configuration, and the bot's status."""
