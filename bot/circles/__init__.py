"""Circles: creation, membership with waitlists, and the commands members and moderators use."""
