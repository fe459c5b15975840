"""Assemble test messages field by field (input for the listener, not a parser)."""


def segment(name: str, fields: dict[int, str]) -> str:
    size = max(fields) if fields else 0
    values = [fields.get(i, "") for i in range(1, size + 1)]
    if name == "MSH":  # MSH-1 is the separator itself, MSH-2 the encoding characters
        return "MSH|" + "|".join(values[1:])
    return "|".join([name, *values])


def message(*segments: str) -> str:
    return "\r".join(segments) + "\r"


def msh(
    control_id: str,
    message_type: str = "ORM^O01",
    version: str = "2.3.1",
    charset: str = "",
    sender: str = "EHR",
    facility: str = "HOSP",
    accept_ack: str = "",
    application_ack: str = "",
) -> str:
    return segment(
        "MSH",
        {
            2: "^~\\&",
            3: sender,
            4: facility,
            5: "RIS",
            6: "RAD",
            7: "20261126101500",
            9: message_type,
            10: control_id,
            11: "P",
            12: version,
            15: accept_ack,
            16: application_ack,
            18: charset,
        },
    )


def orm_new_order(
    control_id: str = "MSG0001",
    *,
    patient_id: str = "PAT1001",
    name: str = "MUELLER^HANS^P^^DR",
    placer: str = "PL1001",
    accession: str = "ACC1001",
    start: str = "20261126143000",
    modality: str = "CT",
    station: str = "CT01",
    charset: str = "",
    birth_date: str = "19700215",
    sex: str = "M",
    study_uid: str = "",
) -> str:
    segments = [
        msh(control_id, charset=charset),
        segment("PID", {1: "1", 3: f"{patient_id}^^^HOSP", 5: name, 7: birth_date, 8: sex}),
        segment("PV1", {1: "1", 2: "O", 8: "1234^REFERRER^RITA", 19: "V5001"}),
        segment(
            "ORC",
            {
                1: "NW",
                2: f"{placer}^EHR",
                5: "SC",
                7: f"^^^{start}^^R",
                9: "20261126101500",
                12: "5678^ORDERER^OLGA",
                18: station,
            },
        ),
        segment(
            "OBR",
            {
                1: "1",
                2: f"{placer}^EHR",
                4: "CTHEAD^CT Head without contrast^LOCAL",
                16: "5678^ORDERER^OLGA",
                18: accession,
                19: "RP1001",
                20: "SPS1001",
                24: modality,
                31: "^Headache",
                34: "9999^TECH^TOM",
            },
        ),
    ]
    if study_uid:
        segments.append(segment("ZDS", {1: f"{study_uid}^100^Application^DICOM"}))
    return message(*segments)


def orm_control(
    control_id: str,
    control: str,
    *,
    placer: str = "PL1001",
    filler: str = "",
    status: str = "",
    obr: dict[int, str] | None = None,
    sender: str = "EHR",
    version: str = "2.3.1",
    orc: dict[int, str] | None = None,
) -> str:
    """An ORM^O01 naming an existing order: ORC-1 control, ORC-2 placer, ORC-3 filler, ORC-5 status."""
    orc_fields = {1: control, 2: f"{placer}^EHR" if placer else "", 3: filler, 5: status, **(orc or {})}
    segments = [
        msh(control_id, version=version, sender=sender),
        segment("PID", {1: "1", 3: "PAT1001^^^HOSP", 5: "MUELLER^HANS"}),
        segment("ORC", orc_fields),
    ]
    if obr is not None:
        segments.append(segment("OBR", {1: "1", 2: orc_fields[2], **obr}))
    return message(*segments)


def omi_order(
    control_id: str = "OMI0001",
    *,
    ipcs: list[dict[int, str]],
    control: str = "NW",
    placer: str = "PL2001",
    patient_id: str = "PAT2001",
    start: str = "20261126150000",
    priority: str = "S",
    obr: dict[int, str] | None = None,
    msh_fields: dict[int, str] | None = None,
) -> str:
    """OMI^O23 v2.5.1 (IHE RAD-4): MSH PID PV1 ORC TQ1 OBR IPC+."""
    header = msh(control_id, message_type="OMI^O23^OMI_O23", version="2.5.1")
    if msh_fields:
        header = segment(
            "MSH",
            {
                2: "^~\\&",
                3: "EHR",
                4: "HOSP",
                5: "RIS",
                6: "RAD",
                7: "20261126101500",
                9: "OMI^O23^OMI_O23",
                10: control_id,
                11: "P",
                12: "2.5.1",
                **msh_fields,
            },
        )
    return message(
        header,
        segment("PID", {1: "1", 3: f"{patient_id}^^^HOSP", 5: "SCHMIDT^ANNA", 7: "19800101", 8: "F"}),
        segment("PV1", {1: "1", 2: "O", 8: "1234^REFERRER^RITA"}),
        segment("ORC", {1: control, 2: f"{placer}^EHR", 5: "SC"}),
        segment("TQ1", {1: "1", 7: start, 9: priority}),
        segment("OBR", {1: "1", 2: f"{placer}^EHR", 4: "MRKNEE^MR Knee^LOCAL", 16: "5678^ORDERER^OLGA", **(obr or {})}),
        *[segment("IPC", ipc) for ipc in ipcs],
    )


def adt(
    control_id: str,
    event: str,
    *,
    pid: dict[int, str],
    mrg: dict[int, str] | None = None,
    version: str = "2.5.1",
    sender: str = "EHR",
    charset: str = "",
) -> str:
    segments = [
        msh(control_id, message_type=f"ADT^{event}", version=version, sender=sender, charset=charset),
        segment("EVN", {1: event, 2: "20261126101500"}),
        segment("PID", {1: "1", **pid}),
    ]
    if mrg is not None:
        segments.append(segment("MRG", mrg))
    return message(*segments)


def omg_order(
    control_id: str = "OMG0001",
    *,
    placer: str = "PL3001",
    patient_id: str = "PAT3001",
    start: str = "20261126160000",
    section: str = "CT",
    code: str = "CTCHEST^CT Chest^LOCAL",
    accession: str = "ACC3001",
    study_uid: str = "",
) -> str:
    """OMG^O19 v2.5.1 as dcm4che's sample writes an imaging order: MSH PID PV1
    ORC TQ1 OBR (OBR-18..20 ids, OBR-24 diagnostic service section) [ZDS]."""
    segments = [
        msh(control_id, message_type="OMG^O19^OMG_O19", version="2.5.1"),
        segment("PID", {1: "1", 3: f"{patient_id}^^^HOSP", 5: "KLEIN^EVA", 7: "19750505", 8: "F"}),
        segment("PV1", {1: "1", 2: "O", 8: "1234^REFERRER^RITA"}),
        segment("ORC", {1: "NW", 2: f"{placer}^EHR", 5: "SC"}),
        segment("TQ1", {1: "1", 7: start, 9: "R"}),
        segment(
            "OBR",
            {1: "1", 2: f"{placer}^EHR", 4: code, 16: "5678^ORDERER^OLGA", 18: accession, 19: "RP3001", 24: section},
        ),
    ]
    if study_uid:
        segments.append(segment("ZDS", {1: f"{study_uid}^100^Application^DICOM"}))
    return message(*segments)
