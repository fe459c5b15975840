"""Group commit: the statements of several MLLP connections, committed together.

Four senders each waiting for its ACK give the listener up to four
statements at a time (`hl7.fast_intake`: one per message). Committed one by
one, on a database connection each, every one pays for a commit of its own
(the WAL written and flushed to disk) and the backends contend for the same
index pages. The loop (`hl7.server`) instead sends the statements made
during one turn together, on one of a few database connections it keeps
(`Lane`), as one transaction: one commit for all of them, and then each
message's ACK. Nothing is answered before its commit, as before; one
connection's messages still go one at a time, in order.

A statement that fails rolls back the transaction, and so the others' work
too. Its error is its own (its message goes the reference way, as it would
have alone); the others were not applied and are sent again. A failure of
the commit itself (a deferred constraint) names no statement: each is then
sent again alone. A lane the database dropped answers every statement in
it with the error, and each of those messages goes the reference way,
which finds it in the log if its commit was done after all.
"""

from __future__ import annotations

import collections
import enum
from typing import Any

import psycopg

from hl7 import metrics
from hl7.fast_intake import InFlight
from infra.db import HeldConnection

LANES = 1  # database connections per loop: one batch sent on each, at a time
MOST_TOGETHER = 32  # statements in one transaction, at most
RETRY_SECONDS = 1.0  # after a lane failed to connect, before it is tried again
APPLICATION_NAME = "ris-hl7-commit"
_PER_COMMIT = metrics.HL7_STATEMENTS_PER_COMMIT


class Again(enum.Enum):
    """A statement's work rolled back by another's failure: to send again."""

    WITH_OTHERS = "with others"
    ALONE = "alone"  # the commit failed, and named no statement


Outcome = list[tuple[Any, ...]] | Exception | Again


class Lane:
    """One database connection and the statements in flight on it."""

    def __init__(self) -> None:
        self.database = HeldConnection(application_name=APPLICATION_NAME)
        self.batch: list[tuple[Any, InFlight]] = []  # (whose, statement), in the order sent
        self.opening = False  # a worker is connecting it
        self.unsent = False  # the socket has not taken all of the batch yet
        self.registered: tuple[int, object] | None = None  # its socket, as the loop watches it
        self.events = 0  # registered for
        self.retry_at = 0.0  # not connected again before (monotonic)
        self._failed: psycopg.Error | None = None  # sending the batch

    @property
    def idle(self) -> bool:
        """Ready for a batch: connected, not checked for too long, nothing in flight."""
        return not self.batch and not self.opening and self.database.usable and not self.database.stale

    def send(self, batch: list[tuple[Any, InFlight]]) -> None:
        """Send the batch (`gather` its answers). Raises psycopg.Error,
        nothing of it sent: the lane is closed."""
        self.database.send_together([(flight.sql, flight.params) for _, flight in batch])
        self.batch = batch
        _PER_COMMIT.observe(len(batch))
        self.flush()

    def flush(self) -> None:
        """Send more of the batch, as the socket takes it."""
        try:
            self.unsent = self.database.flush()
        except psycopg.Error as exc:  # the connection is closed: `gather` answers the batch with it
            self.unsent, self._failed = False, exc

    def gather(self) -> list[tuple[Any, InFlight, Outcome]] | None:
        """Once the batch is answered, what each of its statements came to;
        None while it is not. Never raises: a connection lost answers each
        statement with its error."""
        batch = self.batch
        try:
            if self._failed is not None:
                raise self._failed
            if not self.database.gather():
                return None
            answers, commit_error = self.database.together()
        except psycopg.Error as exc:
            self.batch, self._failed = [], None
            self.database.close()
            return [(whose, flight, exc) for whose, flight in batch]
        self.batch = []
        return [
            (whose, flight, _outcome(answer, commit_error, len(batch)))
            for (whose, flight), answer in zip(batch, answers, strict=True)
        ]

    def close(self) -> None:
        self.batch = []
        self.database.close()


def _outcome(answer: Any, commit_error: psycopg.Error | None, together: int) -> Outcome:
    if isinstance(answer, list | Exception):
        return answer
    if commit_error is None:
        return Again.WITH_OTHERS
    return commit_error if together == 1 else Again.ALONE


class Waiting:
    """The statements made and not sent yet, in the order they came (sent
    again: first), each with whose it is."""

    def __init__(self) -> None:
        self._queue: collections.deque[tuple[Any, InFlight, bool]] = collections.deque()

    def __bool__(self) -> bool:
        return bool(self._queue)

    def add(self, whose: Any, flight: InFlight) -> None:
        self._queue.append((whose, flight, False))

    def again(self, outcomes: list[tuple[Any, InFlight, Again]]) -> None:
        """Rolled back: ahead of the others, in their order."""
        for whose, flight, again in reversed(outcomes):
            self._queue.appendleft((whose, flight, again is Again.ALONE))

    def batch(self) -> list[tuple[Any, InFlight]]:
        """The next statements to send together: up to `MOST_TOGETHER`, one
        alone when it must be."""
        queue = self._queue
        batch: list[tuple[Any, InFlight]] = []
        while queue and len(batch) < MOST_TOGETHER:
            whose, flight, alone = queue[0]
            if alone and batch:
                break
            queue.popleft()
            batch.append((whose, flight))
            if alone:
                break
        return batch

    def take_all(self) -> list[tuple[Any, InFlight]]:
        taken = [(whose, flight) for whose, flight, _ in self._queue]
        self._queue.clear()
        return taken

    def drop(self, whose: Any) -> None:
        """A connection closed: its statement is not sent."""
        self._queue = collections.deque(item for item in self._queue if item[0] is not whose)
