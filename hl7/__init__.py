"""HL7 v2 door: MLLP framing, parsing, ACKs, the `mllp` command.

`hl7` is also the name of the python-hl7 distribution; extending __path__
lets its modules import beside ours when both are installed.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
