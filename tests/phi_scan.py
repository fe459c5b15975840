"""A pytest plugin: after the run, scan everything logged for the test
patients' names, identifiers and birth dates, and fail the run if any appears.

What is scanned: every log record of the test process (a handler on the root
logger and on each logger that does not propagate), and the output of the
child processes the tests start through `child_log` (the listeners, `serve`,
gunicorn, Celery workers). What is looked for: each patient row saved during
the run (a post_save signal: factories, HL7 and API alike) gives its
identifier, the name's components and its birth date in the forms HL7, DICOM
and ISO write, plus the values the factories use (`factories.PHI_VALUES`).
Values too short or too common to be told from other text are left out.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path

import pytest

CHILD_LOG_DIR = Path(os.environ.setdefault("RIS_TEST_CHILD_LOG_DIR", tempfile.mkdtemp(prefix="ris-test-logs-")))
# Words that name no one: a name component equal to one of these is not searched for.
COMMON = {"PATIENT", "TEST", "NAME", "UNKNOWN", "DOCTOR", "NONE", "NULL", "TRUE", "FALSE", "SMITH"}
MIN_LENGTH = 5

_records: list[str] = []
_values: set[str] = set()


class _Keep(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a record whose arguments do not fit its message: keep both
            text = f"{record.msg} {record.args}"
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        _records.append(f"{record.name}: {text} {record.exc_text or ''} {_extras(record)}")


def _extras(record: logging.LogRecord) -> str:
    """What a JSON formatter would also write: the record's extra attributes."""
    plain = logging.LogRecord("", 0, "", 0, "", None, None).__dict__
    return " ".join(f"{k}={v}" for k, v in record.__dict__.items() if k not in plain and k != "message")


def _note_patient(sender, instance, **kwargs) -> None:
    _values.update(phi_values_of(instance.patient_id, instance.name, instance.birth_date))


def phi_values_of(patient_id: str, name: str, birth_date) -> set[str]:
    found = {patient_id} if len(patient_id or "") >= MIN_LENGTH else set()
    for component in re.split(r"[\^=]", name or ""):
        if len(component) >= MIN_LENGTH and component.upper() not in COMMON:
            found.add(component)
    if birth_date:
        found |= {birth_date.isoformat(), birth_date.strftime("%Y%m%d")}
    return found


@pytest.fixture(scope="session", autouse=True)
def _capture_every_log_record():
    from django.db.models import QuerySet
    from django.db.models.signals import post_save

    from ris.models import Patient
    from tests.factories import PHI_VALUES

    _values.update(PHI_VALUES)
    handler = _Keep(level=logging.DEBUG)
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate
    ]
    for logger in loggers:
        logger.addHandler(handler)
    post_save.connect(_note_patient, sender=Patient, weak=False, dispatch_uid="phi_scan")
    bulk_create = QuerySet.bulk_create

    def noting_bulk_create(self, objs, *args, **kwargs):  # the patient service creates rows this way
        objs = list(objs)
        if self.model is Patient:
            for patient in objs:
                _note_patient(Patient, patient)
        return bulk_create(self, objs, *args, **kwargs)

    QuerySet.bulk_create = noting_bulk_create
    yield
    QuerySet.bulk_create = bulk_create
    for logger in loggers:
        logger.removeHandler(handler)


def leaks() -> dict[str, list[str]]:
    """Each PHI value found, with up to three places it was found."""
    texts = list(_records) + [
        f"{path.name}: {line}"
        for path in CHILD_LOG_DIR.glob("*.log")
        for line in path.read_text(errors="replace").splitlines()
    ]
    found: dict[str, list[str]] = {}
    for value in sorted(_values):
        pattern = re.compile(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])")
        hits = [text[:300] for text in texts if pattern.search(text)]
        if hits:
            found[value] = hits[:3]
    return found


def pytest_sessionfinish(session, exitstatus) -> None:
    if not _values or os.environ.get("RIS_PHI_SCAN", "1") == "0":
        return
    found = leaks()
    if found:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = [f"\npatient data in the logs of this run ({len(found)} values):"]
        lines += [f"  {value!r}: {places}" for value, places in found.items()]
        if reporter is not None:
            reporter.write_line("\n".join(lines), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
