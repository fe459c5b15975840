"""MWL-RS query parameters (PS3.18 8.3.4) to the identifier a C-FIND would carry.

`{attributeID}={value}` match keys, by keyword or tag (`00100020`), sequence
keys with dots (`ScheduledProcedureStepSequence.Modality`); `includefield`
(keywords, tags or `all`), `fuzzymatching`, `limit`, `offset`. The result is
one pydicom Dataset with the same keys and values as a C-FIND identifier, so
that `worklist.query.build_query` and `worklist.response.ResponsePlan` serve
both doors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from pydicom import config
from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag

from worklist.response import STEP_VALUES, full_dataset_keys

SPS = "ScheduledProcedureStepSequence"
CONTROL_PARAMETERS = {"includefield", "fuzzymatching", "limit", "offset"}


class InvalidParameter(ValueError):
    """A query parameter that names no attribute or carries a bad value (400)."""


@dataclass
class WorklistSearch:
    identifier: Dataset
    fuzzy_matching: bool = False
    limit: int | None = None
    offset: int = 0
    unknown_fields: list[str] = field(default_factory=list)


def search_from_parameters(parameters: Iterable[tuple[str, str]]) -> WorklistSearch:
    """The query string's pairs, in order, as one worklist search."""
    identifier = full_dataset_keys()
    identifier[SPS].value = Sequence([_step_keys()])
    search = WorklistSearch(identifier)
    for name, value in parameters:
        if name == "includefield":
            for attribute in value.split(","):
                _include(identifier, attribute.strip())
        elif name == "fuzzymatching":
            search.fuzzy_matching = _boolean(name, value)
        elif name == "limit":
            search.limit = _count(name, value)
        elif name == "offset":
            search.offset = _count(name, value)
        else:
            _set_key(identifier, name, value)
    return search


def _step_keys() -> Dataset:
    """Every key of the SPS item we hold, zero-length (universal, returned)."""
    step = Dataset()
    for keyword in STEP_VALUES:
        _put(step, _tag(keyword), "")
    return step


def _include(identifier: Dataset, attribute: str) -> None:
    if not attribute or attribute == "all":  # all: every key we hold, the default already
        return
    path = _path(attribute)
    target = identifier
    for tag in path[:-1]:
        target = _item_of(target, tag)
    if path[-1] not in target:
        _put(target, path[-1], "")


def _set_key(identifier: Dataset, name: str, value: str) -> None:
    path = _path(name)
    target = identifier
    for tag in path[:-1]:
        target = _item_of(target, tag)
    _put(target, path[-1], value)


def _path(attribute: str) -> list[int]:
    """`ScheduledProcedureStepSequence.Modality` or `00400100.00080060` as tags."""
    path = [_tag(part) for part in attribute.split(".")]
    for tag in path[:-1]:
        if dictionary_VR(tag) != "SQ":
            raise InvalidParameter(f"{attribute}: {keyword_for_tag(tag) or Tag(tag)} is not a sequence")
    return path


def _tag(attribute: str) -> int:
    tag = tag_for_keyword(attribute)
    if tag is None and len(attribute) == 8:
        try:
            tag = int(attribute, 16)
        except ValueError:
            tag = None
    if tag is None:
        raise InvalidParameter(f"{attribute} is not a DICOM attribute keyword or tag")
    try:
        dictionary_VR(tag)
    except KeyError:
        raise InvalidParameter(f"{attribute} is not an attribute of the data dictionary") from None
    return tag


def _item_of(dataset: Dataset, tag: int) -> Dataset:
    if tag not in dataset or not dataset[tag].value:
        dataset[tag] = DataElement(tag, "SQ", Sequence([Dataset()]))
    item: Dataset = dataset[tag].value[0]
    return item


def _put(dataset: Dataset, tag: int, value: str) -> None:
    vr = dictionary_VR(tag)
    if vr == "SQ":
        if value:
            raise InvalidParameter(f"{keyword_for_tag(tag) or Tag(tag)} is a sequence: match its items' keys")
        if tag not in dataset:
            dataset[tag] = DataElement(tag, "SQ", Sequence())
        return
    # A backslash separates values (a list of UIDs), as in the DIMSE identifier (PS3.18 8.3.4.1).
    values = value.split("\\") if value else None
    value_or_values = values[0] if values and len(values) == 1 else values
    # checked by worklist.keys as a C-FIND identifier is, with the same reasons
    dataset[tag] = DataElement(tag, vr, value_or_values, validation_mode=config.IGNORE)


def _boolean(name: str, value: str) -> bool:
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InvalidParameter(f"{name} must be true or false")


def _count(name: str, value: str) -> int:
    if not value.isdigit():
        raise InvalidParameter(f"{name} must be a non-negative integer")
    return int(value)


def max_results() -> int:
    return int(settings.RIS_DICOMWEB_MAX_RESULTS)
