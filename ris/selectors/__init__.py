"""Reads the pages and APIs need; state changes live in ris/services/.

`from ris import selectors` gives the general reads (core.py); report reads
are in ris/selectors/reports.py.
"""
from ris.selectors.core import *  # noqa: F401,F403
