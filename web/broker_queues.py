"""How many jobs wait in each broker queue: read by the staff jobs page and by the metrics scrape.

Never raises: a queue that cannot be read, or a broker that does not answer, is reported as such
(``messages`` None with the reason), so a page or a scrape still shows everything else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from web.readiness import broker_connection


@dataclass(frozen=True)
class QueueDepth:
    """Messages waiting in one broker queue, or why that could not be read."""

    queue: str
    messages: int | None
    problem: str | None = None


def queue_depths(broker_url: str, queues: Sequence[str]) -> list[QueueDepth]:
    """Messages waiting in each of the queues (a queue never declared, or emptied on Redis, holds none)."""
    from kombu.exceptions import ChannelError

    out = []
    try:
        with broker_connection(broker_url) as connection:
            channel = connection.default_channel
            for name in queues:
                try:
                    out.append(QueueDepth(name, int(channel.queue_declare(queue=name, passive=True).message_count)))
                except ChannelError:
                    out.append(QueueDepth(name, 0))
                except Exception as error:  # kombu raises transport-specific errors
                    if "404" in str(error) or "NOT_FOUND" in str(error):
                        out.append(QueueDepth(name, 0))
                    else:
                        out.append(QueueDepth(name, None, type(error).__name__))
    except Exception as error:  # an unreachable broker: say so instead of failing the page or the scrape
        return [QueueDepth(name, None, f"broker unreachable ({type(error).__name__})") for name in queues]
    return out
