"""Assemble test messages field by field (input for the listener, not a parser)."""


def segment(name: str, fields: dict[int, str]) -> str:
    size = max(fields) if fields else 0
    values = [fields.get(i, "") for i in range(1, size + 1)]
    if name == "MSH":  # MSH-1 is the separator itself, MSH-2 the encoding characters
        return "MSH|" + "|".join(values[1:])
    return "|".join([name, *values])


def message(*segments: str) -> str:
    return "\r".join(segments) + "\r"


def msh(control_id: str, message_type: str = "ORM^O01", version: str = "2.3.1", charset: str = "",
        sender: str = "EHR", facility: str = "HOSP") -> str:
    return segment("MSH", {
        2: "^~\\&", 3: sender, 4: facility, 5: "RIS", 6: "RAD", 7: "20261126101500",
        9: message_type, 10: control_id, 11: "P", 12: version, 18: charset,
    })


def orm_new_order(control_id: str = "MSG0001", *, patient_id: str = "PAT1001", name: str = "MUELLER^HANS^P^^DR",
                  placer: str = "PL1001", accession: str = "ACC1001", start: str = "20261126143000",
                  modality: str = "CT", station: str = "CT01", charset: str = "", birth_date: str = "19700215",
                  sex: str = "M", study_uid: str = "") -> str:
    segments = [
        msh(control_id, charset=charset),
        segment("PID", {1: "1", 3: f"{patient_id}^^^HOSP", 5: name, 7: birth_date, 8: sex}),
        segment("PV1", {1: "1", 2: "O", 8: "1234^REFERRER^RITA", 19: "V5001"}),
        segment("ORC", {1: "NW", 2: f"{placer}^EHR", 5: "SC", 7: f"^^^{start}^^R", 9: "20261126101500",
                        12: "5678^ORDERER^OLGA", 18: station}),
        segment("OBR", {1: "1", 2: f"{placer}^EHR", 4: "CTHEAD^CT Head without contrast^LOCAL",
                        16: "5678^ORDERER^OLGA", 18: accession, 19: "RP1001", 20: "SPS1001",
                        24: modality, 31: "^Headache", 34: "9999^TECH^TOM"}),
    ]
    if study_uid:
        segments.append(segment("ZDS", {1: f"{study_uid}^100^Application^DICOM"}))
    return message(*segments)
