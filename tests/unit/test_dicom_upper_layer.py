"""PDU framing of the DICOM upper layer (PS3.8 9.3.5, E.2), without sockets."""

import socket
import struct
import threading
import time

import pytest

from worklist import upper_layer as ul


@pytest.mark.parametrize("max_pdu", [64, 1000, 16384])
def test_a_message_is_split_into_pdus_none_longer_than_the_peers_maximum(max_pdu):
    command, dataset = b"C" * 300, b"D" * 5000
    stream = ul.pack(ul.fragments(3, command, dataset, max_pdu), max_pdu)
    offset, received = 0, {True: b"", False: b""}
    last_flags = []
    while offset < len(stream):
        pdu_type, _, length = struct.unpack_from(">BBL", stream, offset)
        assert pdu_type == ul.P_DATA_TF and length <= max_pdu
        for context_id, control, fragment in ul.parse_pdvs(stream[offset + 6 : offset + 6 + length]):
            assert context_id == 3
            received[bool(control & ul.COMMAND)] += bytes(fragment)
            last_flags.append((bool(control & ul.COMMAND), bool(control & ul.LAST)))
        offset += 6 + length
    assert received == {True: command, False: dataset}
    assert [flag for flag in last_flags if flag[1]] == [(True, True), (False, True)]


def test_a_pdv_item_longer_than_its_pdu_is_refused():
    body = struct.pack(">LBB", 100, 1, 0x03) + b"x" * 10
    with pytest.raises(ValueError):
        list(ul.parse_pdvs(body))


def _limits(**changes):
    values = {
        "artim": 2.0,
        "idle": 2.0,
        "min_rate": 1024,
        "max_pdu": 1024,
        "announced_pdu": 1024,
        "max_dataset": 4096,
        "max_associations": 10,
        "max_per_address": 10,
    }
    values.update(changes)
    return ul.Limits(**values)


def test_the_cap_applies_to_a_header_that_arrives_one_byte_then_five():
    ours, peer = socket.socketpair()
    transport = ul.Transport(ours, _limits())

    def send():
        peer.send(b"\x04")
        peer.send(b"\x00" + struct.pack(">L", 2**31))

    threading.Thread(target=send).start()
    with pytest.raises(ul.PDUTooLarge):
        transport.read_pdu(deadline=time.monotonic() + 2)
    ours.close()
    peer.close()


@pytest.mark.parametrize("status, has_dataset", [(0xFF00, True), (0xFF01, True), (0x0000, False), (0xFE00, False)])
@pytest.mark.parametrize("message_id", [1, 7, 65535])
def test_a_packed_c_find_response_command_is_the_one_pydicom_encodes(status, has_dataset, message_id):
    from pydicom.dataset import Dataset
    from pynetdicom.presentation import PresentationContext

    from worklist.association import Message, find_response_command, response_command

    command = Dataset()
    command.AffectedSOPClassUID = "1.2.840.10008.5.1.4.31"
    command.CommandField = 0x0020
    command.MessageID = message_id
    command.Priority = 0
    command.CommandDataSetType = 0x0001
    message = Message(command, PresentationContext())
    assert find_response_command(message, status, has_dataset) == response_command(message, status, has_dataset)
