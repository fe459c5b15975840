from pydicom.dataset import Dataset

from worklist.query import unsupported_keys


def identifier(**top) -> tuple[Dataset, Dataset]:
    ds, item = Dataset(), Dataset()
    for keyword, value in top.items():
        setattr(ds, keyword, value)
    return ds, item


def test_supported_return_and_matching_keys_are_not_flagged():
    ds, item = identifier(PatientName="DOE*", PatientBirthDate="", SpecificCharacterSet="ISO_IR 192")
    item.Modality = "CT"
    assert unsupported_keys(ds, item) == []


def test_unknown_keys_and_values_on_return_only_keys_are_flagged():
    ds, item = identifier(PatientWeight="", PatientBirthDate="19700101")
    item.ScheduledProcedureStepEndDate = ""
    assert unsupported_keys(ds, item) == [
        "PatientBirthDate",
        "PatientWeight",
        "ScheduledProcedureStepSequence/ScheduledProcedureStepEndDate",
    ]
