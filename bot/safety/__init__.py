"""Safety: crisis detection, escalation to human moderators, and resources on request."""
