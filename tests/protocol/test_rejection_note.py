"""Images the archive stored under a study the RIS did not know, put under
their order on the workbench: the archive (a pynetdicom Storage SCP) receives
the IOCM rejection note for them, a Key Object Selection titled 113038."""

import pytest
from pydicom.uid import generate_uid
from pynetdicom import AE, evt

from ris.models import Destination, Discrepancy, OutboundMessage
from ris.services.outbox import outbox_deliver
from ris.services.reconciliation import reconcile_link, reconcile_undo
from tests.conftest import free_port
from tests.factories import TEST_ACTOR, placed_order
from tests.ian_scu import notification, send_ian
from worklist.rejection import KEY_OBJECT_SELECTION


@pytest.fixture
def archive():
    """A Storage SCP for Key Object Selection Documents; yields (port, stored datasets)."""
    stored = []

    def handle_store(event):
        stored.append(event.dataset)
        return 0x0000

    ae = AE(ae_title="PACS")
    ae.add_supported_context(KEY_OBJECT_SELECTION)
    port = free_port()
    server = ae.start_server(("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_STORE, handle_store)])
    yield port, stored
    server.shutdown()


def test_images_of_an_unknown_study_linked_to_their_order_are_rejected_at_the_archive(dicom, archive):
    port, stored = archive
    destination = Destination.objects.create(
        name="PACS (DICOM)",
        kind=Destination.Kind.DICOM,
        role=Destination.Role.IMAGE_MANAGER,
        host="127.0.0.1",
        port=port,
        ae_title="PACS",
        timeout_seconds=5,
    )
    order = placed_order()
    wrong_study = generate_uid()
    assert send_ian(dicom, notification(wrong_study, images=2)) == 0x0000
    item = reconcile_link(
        item=Discrepancy.objects.get(), order=order, reason="stored under a study the RIS never made", actor=TEST_ACTOR
    )
    assert outbox_deliver(destination_id=destination.pk) == 1
    assert OutboundMessage.objects.get(destination=destination).status == OutboundMessage.Status.ACKED
    [kos] = stored
    assert kos.SOPClassUID == KEY_OBJECT_SELECTION and kos.StudyInstanceUID == wrong_study
    assert kos.ConceptNameCodeSequence[0].CodeValue == "113038"
    evidence = kos.CurrentRequestedProcedureEvidenceSequence[0]
    rejected = {
        sop.ReferencedSOPInstanceUID
        for series in evidence.ReferencedSeriesSequence
        for sop in series.ReferencedSOPSequence
    }
    assert rejected == set(item.rejection_request["instances"]) and len(rejected) == 2
    with pytest.raises(Exception, match="not recalled"):
        reconcile_undo(item=item, reason="changed my mind", actor=TEST_ACTOR)


def test_images_of_a_known_study_need_no_rejection_note(dicom, archive):
    _port, stored = archive
    order = placed_order()
    study = order.procedures.get().study_instance_uid
    Destination.objects.create(
        name="PACS (DICOM)", kind=Destination.Kind.DICOM, role=Destination.Role.IMAGE_MANAGER, host="127.0.0.1", port=1
    )
    assert send_ian(dicom, notification(study)) == 0x0000
    assert not Discrepancy.objects.exists() and not OutboundMessage.objects.filter(event="rejection_note").exists()
    assert stored == []
