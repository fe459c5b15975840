"""Reads: plain rows for the pages, the API and the doors, each one query;
state changes live in ris/services/.

`from ris import selectors` gives the general reads (core.py); reports,
the worklist and the modality registry have modules of their own.
"""

from ris.selectors.core import *  # noqa: F403
