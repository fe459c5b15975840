"""DICOM JSON (PS3.18 F.2) to and from pydicom datasets, for every DICOMweb
service of the door (worklist, performed steps, stored objects).

pydicom's `Dataset.from_json` and `to_json_dict` do the work; this module
adds what a server needs around them: a body that is one object or an array
of them, refused with a reason when it is not DICOM JSON, and zero-length
elements kept in answers (a requested key with no value is still answered).
"""

from __future__ import annotations

import json
from typing import Any

from pydicom.dataset import Dataset

MEDIA_TYPE = "application/dicom+json"


class InvalidDicomJson(ValueError):
    """A body that is not DICOM JSON (PS3.18 F.2); answered 400 with the reason."""


def dataset_to_json(ds: Dataset) -> dict[str, Any]:
    """One dataset as a DICOM JSON object; zero-length elements are kept."""
    return ds.to_json_dict()


def datasets_to_json(datasets: list[Dataset]) -> list[dict[str, Any]]:
    return [dataset_to_json(ds) for ds in datasets]


def datasets_from_body(body: bytes) -> list[Dataset]:
    """A body holding one DICOM JSON object or an array of them."""
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidDicomJson(f"body is not JSON: {exc}") from None
    objects = parsed if isinstance(parsed, list) else [parsed]
    return [dataset_from_json(obj) for obj in objects]


def dataset_from_json(obj: object) -> Dataset:
    if not isinstance(obj, dict):
        raise InvalidDicomJson("a DICOM JSON dataset is an object keyed by tags")
    try:
        return Dataset.from_json(obj)
    except Exception as exc:  # pydicom raises KeyError, ValueError, TypeError for bad tags, VRs and values
        raise InvalidDicomJson(f"not DICOM JSON: {exc}") from None
