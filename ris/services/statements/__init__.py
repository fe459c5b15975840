"""The common changes as single SQL statements, for a door at engine speed.

`order_place`, the status moves (`order_cancel`...) and
`patient_update` make their change in several ORM queries each; a door
that takes thousands of messages a minute (HL7) can instead
add the same change as parts of one data-modifying `WITH` statement on
PostgreSQL, run with its own rows in one round trip and one commit. The rows
are the ones the services write (the same defaults, the same audit event);
the services stay the reference, and the tests compare the two.

Every part reads from a *guard* part the door puts first (a row when the
door's own conditions still hold): without it the statement writes nothing.
Anything the statement cannot decide without another query raises
`NotInOneStatement` before a byte is sent, and the door takes the services'
path instead. A constraint the statement breaks (a placer number in use, a
Study Instance UID seen before, a value too long) fails it whole; the door
then runs the services too, which refuse with the named domain error.
"""

from ris.services.statements.base import NotInOneStatement, Statement
from ris.services.statements.changes import (
    order_cancel_parts,
    order_discontinue_parts,
    order_hold_parts,
    order_release_parts,
    order_status_change_parts,
)
from ris.services.statements.orders import order_place_parts
from ris.services.statements.patients import patient_update_parts, patient_upsert_part

__all__ = [
    "NotInOneStatement",
    "Statement",
    "order_cancel_parts",
    "order_discontinue_parts",
    "order_hold_parts",
    "order_place_parts",
    "order_release_parts",
    "order_status_change_parts",
    "patient_update_parts",
    "patient_upsert_part",
]
