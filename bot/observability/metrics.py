"""The bot's metrics, in one registry per application (so tests and several apps in a process never clash)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["Metrics"]

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)


class Metrics:
    """Counters, gauges and histograms the engine, the deliverer and the scheduler update.

    Labels are bounded sets (tiers, command names, kinds): never a person, a circle or any text.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages_scanned = Counter(
            "peer_circles_messages_scanned", "Messages scanned for crisis language.", registry=self.registry
        )
        self.detections = Counter("peer_circles_detections", "Detections by tier.", ["tier"], registry=self.registry)
        self.commands = Counter("peer_circles_commands", "Commands run.", ["command"], registry=self.registry)
        self.command_errors = Counter(
            "peer_circles_command_errors",
            "Commands that failed: user (a clear message was shown) or internal (a bug).",
            ["command", "kind"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "peer_circles_deliveries",
            "Outbox items delivered, by kind (alert, dm, room).",
            ["kind"],
            registry=self.registry,
        )
        self.delivery_failures = Counter(
            "peer_circles_delivery_failures",
            "Failed delivery attempts, by outcome (retry, refused).",
            ["outcome"],
            registry=self.registry,
        )
        self.delivery_latency = Histogram(
            "peer_circles_delivery_latency_seconds",
            "From the decision to send to delivery, by kind.",
            ["kind"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.alerts_pending = Gauge(
            "peer_circles_alerts_pending", "Moderator alerts written but not delivered yet.", registry=self.registry
        )
        self.scheduler_lateness = Histogram(
            "peer_circles_scheduler_lateness_seconds",
            "How late timers fired after their due time, by kind.",
            ["kind"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.timer_failures = Counter(
            "peer_circles_timer_failures",
            "Failed attempts to fire a timer, by kind: each is held back (5 s doubling to 5 min) and tried again.",
            ["kind"],
            registry=self.registry,
        )
