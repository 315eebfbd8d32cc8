#!/usr/bin/env python3
"""Writes the seed corpus, fuzz/corpus/<target>/<name>: a handful of meaningful inputs per target.

The files are committed; this script says what each one is and remakes them
(`python3 fuzz/seeds.py`). The input formats are those the targets read with
`Input` (fuzz/src/lib.rs): one byte per choice, `below(n)` is a byte mod n,
chunk8/chunk16 a one- or two-byte length then the bytes.
"""
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent / "corpus"


def u16(v):
    return struct.pack("<H", v)


def c8(b):
    return bytes([len(b)]) + bytes(b)


def c16(b):
    return u16(len(b)) + bytes(b)


def conn_complete(handle, central=True):
    return bytes([0x3e, 19, 0x01, 0x00]) + u16(handle) + bytes([0 if central else 1, 0, 1, 2, 3, 4, 5, 6, 0x18, 0, 0, 0, 0x48, 0, 0])


def acl(handle, payload, start=True):
    return u16(handle | (0x2000 if start else 0x1000)) + u16(len(payload)) + bytes(payload)


def l2cap(cid, payload):
    return u16(len(payload)) + u16(cid) + bytes(payload)


AD = bytes([2, 0x01, 0x06, 5, 0x09]) + b"mpy1" + bytes([3, 0x03, 0x0f, 0x18, 5, 0xff, 0x4c, 0x00, 1, 2])

SEEDS = {
    "hci_h4": {
        "reset_complete": bytes([4, 0x0e, 4, 1, 0x03, 0x0c, 0]),
        "read_buffer_size": bytes([4, 0x0e, 7, 1, 0x02, 0x20, 0, 27, 0, 16]),
        # A link comes up, carries an ATT request, completes packets and goes down.
        "link_att_disconnect": b"\x04" + conn_complete(1) + b"\x02" + acl(1, l2cap(4, [0x02, 0x17, 0]))
        + bytes([4, 0x13, 5, 1, 1, 0, 2, 0]) + bytes([4, 0x05, 4, 0, 1, 0, 0x13]),
        # Fragmented ATT write, then an SMP pairing request split after the L2CAP header.
        "fragments": b"\x04" + conn_complete(2, central=False)
        + b"\x02" + acl(2, u16(7) + u16(4) + bytes([0x12, 0x10, 0]))
        + b"\x02" + acl(2, [1, 2, 3, 4], start=False)
        + b"\x02" + acl(2, u16(7) + u16(6)) + b"\x02" + acl(2, [1, 3, 0, 0x0d, 16, 7, 7], start=False),
        # The backend's buffers announced, a link up, one packet of ours (odd first byte) and
        # one of trouble's in flight, both completed: trouble is told of its one.
        "share_split": bytes([4, 0x0e, 7, 1, 0x02, 0x20, 0, 27, 0, 16]) + b"\x04" + conn_complete(1)
        + b"\x02" + acl(1, l2cap(4, [0x02, 0x17, 0])) + b"\x02" + acl(1, l2cap(4, [0x0a, 3, 0, 0]))
        + bytes([4, 0x13, 5, 1, 1, 0, 2, 0]),
        "adv_report": b"\x04" + bytes([0x3e, 12 + len(AD), 0x02, 1, 0, 0, 1, 2, 3, 4, 5, 6, len(AD)]) + AD + b"\xc8",
        "ltk_request_encryption": b"\x04" + conn_complete(3, central=False)
        + b"\x04" + bytes([0x3e, 13, 0x05, 3, 0] + [0] * 10) + b"\x04" + bytes([0x08, 4, 0, 3, 0, 1]),
        "junk_then_resync": bytes([0xff, 0x00, 0x01, 9, 9, 2, 0x40, 0x20, 0xff, 0xff]) + bytes([4, 0x0e, 4, 1, 0x03, 0x0c, 0]),
    },
    "adv_report": {
        # mode 0: well-formed legacy reports: want, type, addr type, addr, data, rssi.
        "legacy_one": bytes([0, len(AD), 0, 0, 1, 2, 3, 4, 5, 6]) + AD + b"\xc8",
        "legacy_scan_rsp_empty": bytes([0, 0, 4, 1, 6, 5, 4, 3, 2, 1, 0xb0, 3, 3, 0, 1, 1, 1, 1, 1, 1]) + AD[:3] + b"\x7f",
        # mode 1: well-formed extended: want, event type (2), addr type, addr, phy sel, phy2,
        # sid, tx, rssi, interval (2), direct type, direct addr, data.
        "extended_one": bytes([1, 40]) + u16(0x13) + bytes([0, 1, 2, 3, 4, 5, 6, 0, 1, 0, 0x7f, 0xc8]) + u16(0)
        + bytes([0, 0, 0, 0, 0, 0, 0]) + AD + bytes(40 - len(AD)),
        # modes 2 and 3: raw report bytes behind the header.
        "raw_legacy": bytes([2, 1, 0, 0, 1, 2, 3, 4, 5, 6, len(AD)]) + AD + b"\xc8",
        "raw_legacy_two_claimed": bytes([2, 2, 0, 0, 1, 2, 3, 4, 5, 6, 3, 2, 1, 6, 0xc8]),
        # Found by fuzzing: a report cut after its primary PHY panicked bt-hci inside the filter.
        "regression_extended_cut": bytes([3, 1, 0x33, 0, 0, 0, 0, 0, 0, 0, 3, 0, 2]),
        "raw_extended": bytes([3, 1]) + u16(0x13) + bytes([0, 1, 2, 3, 4, 5, 6, 1, 0, 0xff, 0x7f, 0xc8]) + u16(0)
        + bytes([0, 0, 0, 0, 0, 0, 0, len(AD)]) + AD,
    },
    "smp_gate": {
        # link, op (0 connect: byte even = central; 1 disconnect; 2-3 the peer's command: op
        # sel, byte & 3 == 0 = opcode only in a continuation; 4 trouble sends: op sel).
        # Link 0 as peripheral: the peer pairs, we fail it, its late DHKey Check is withheld,
        # a new pairing starts.
        "peripheral_late_dhkey": bytes([0, 0, 1, 0, 2, 0, 1, 0, 3, 5, 0x0c, 1, 0, 4, 2, 0, 2, 4, 0x0d, 1, 0, 2, 0, 1]),
        # Link 1 as central: the peer's Security Request starts a pairing, its Pairing Failed
        # ends it, a Security Request whose opcode comes in a continuation is withheld.
        "central_security_request": bytes([1, 0, 0, 1, 2, 3, 1, 1, 2, 2, 1, 1, 3, 3, 0, 1, 2, 3, 1]),
        # Both links, trouble starts a pairing on one, a disconnect in the middle of it.
        "two_links": bytes([0, 0, 1, 1, 0, 0, 1, 4, 0, 1, 2, 1, 1, 0, 2, 0, 1, 1, 1, 1, 0, 0, 1, 2, 5, 0x0d, 1]),
    },
    "l2cap_reassembly": {
        # link, op 0 (frame), cid sel (0-1 ATT, 2 dynamic + offset, 3 signalling), len sel/len,
        # split mode (0: fragment_lens with acl_len sel; 1: first, then each fragment's size).
        "att_whole": bytes([0, 0, 0, 1, 3, 0, 22]),
        "att_long_fragmented": bytes([0, 0, 0, 0]) + u16(300) + bytes([0, 22]),
        "att_arbitrary_split": bytes([1, 0, 1, 1, 40, 1, 2, 5, 5, 10, 30]),
        "kframe_and_signalling": bytes([0, 0, 2, 0, 1, 30, 0, 50]) + bytes([1, 0, 3, 1, 12, 0, 0]),
        "empty_frame": bytes([0, 0, 2, 5, 1, 0, 0, 0]),
        # Junk: a stray continuation, a start with a wrong length, then a frame.
        "junk_then_frame": bytes([0, 2, 1]) + c8([1, 2, 3]) + bytes([0, 2, 0]) + c8([50, 0, 4, 0, 1]) + bytes([0, 0, 0, 1, 3, 0, 22]),
        "oversized_then_frame": bytes([0, 0, 0, 0]) + u16(700) + bytes([0, 200]) + bytes([0, 0, 0, 1, 3, 0, 22]),
        # A frame left half-way when the link drops; the new link starts clean.
        "reconnect": bytes([0, 2, 0]) + c8([50, 0, 4, 0, 1, 2]) + bytes([0, 3]) + bytes([0, 0, 0, 1, 3, 0, 22]),
    },
    "att_pdu": {
        "mtu_req": bytes([0x02, 0x00, 0x01]),
        "read_by_group_type_rsp": bytes([0x11, 6, 1, 0, 5, 0, 0x00, 0x18, 6, 0, 9, 0, 0x01, 0x18]),
        "find_information_rsp_128": bytes([0x05, 2, 0x10, 0]) + bytes(range(16)),
        "read_by_type_rsp": bytes([0x09, 7, 2, 0, 0x02, 3, 0, 0x00, 0x2a]),
        "read_multiple_variable_rsp": bytes([0x21, 2, 0, 1, 2, 1, 0, 9]),
        "multiple_handle_value_ntf": bytes([0x23, 3, 0, 2, 0, 1, 2]),
        "prepare_write_req": bytes([0x16, 16, 0, 0, 0, 1, 2, 3]),
        "signed_write_cmd": bytes([0xd2, 16, 0, 1]) + bytes(12),
    },
    "att_server": {
        # preferred MTU sel, then ops; op byte >= 3 is a request: chunk16.
        "discovery": bytes([2]) + b"".join(bytes([7]) + c16(p) for p in [
            [0x02, 0x00, 0x02], [0x10, 1, 0, 0xff, 0xff, 0x00, 0x28], [0x08, 1, 0, 0xff, 0xff, 0x03, 0x28],
            [0x04, 0x12, 0, 0x14, 0], [0x06, 1, 0, 0xff, 0xff, 0x00, 0x28, 0x0f, 0x18]]),
        "reads": bytes([1]) + b"".join(bytes([7]) + c16(p) for p in [
            [0x0a, 16, 0], [0x0c, 16, 0, 22, 0], [0x0e, 3, 0, 5, 0, 16, 0], [0x20, 12, 0, 16, 0], [0x0a, 24, 0]]),
        "writes": bytes([2]) + b"".join(bytes([7]) + c16(p) for p in [
            [0x12, 16, 0, 1, 2, 3], [0x52, 18, 0, 9], [0x12, 19, 0, 2, 0], [0x12, 13, 0, 1, 0], [0x1e]]),
        "prepare_execute": bytes([3]) + b"".join(bytes([7]) + c16(p) for p in [
            [0x16, 16, 0, 0, 0] + [7] * 18, [0x16, 16, 0, 18, 0] + [8] * 18, [0x18, 1], [0x0c, 16, 0, 30, 0]]),
        # Security and decisions change: an encrypted read, an authorized write asked about.
        "security_and_asks": bytes([2, 0, 0x3f, 1, 24, 2, 7]) + c16([0x12, 24, 0, 1]) + bytes([0, 7]) + c16([0x0a, 22, 0]),
        "long_write_over_mtu": bytes([0, 7]) + c16([0x12, 16, 0] + [0xaa] * 300),
    },
    "att_client": {
        # mtu, start, end, procedure sel, [procedure fields], then responses: mode, fields.
        "discover_services": u16(23) + u16(1) + u16(0xffff) + bytes([0, 2])
        + bytes([3]) + c8([6, 1, 0, 5, 0, 0x00, 0x18, 6, 0, 9, 0, 0x01, 0x18]) + bytes([1]) + u16(10) + bytes([0x0a]),
        "discover_characteristics": u16(185) + u16(1) + u16(20) + bytes([1, 2])
        + bytes([3]) + c8([7, 2, 0, 0x02, 3, 0, 0x00, 0x2a]) + bytes([1]) + u16(4) + bytes([0x0a]),
        "discover_descriptors": u16(23) + u16(12) + u16(14) + bytes([2])
        + bytes([3]) + c8([1, 13, 0, 0x02, 0x29]) + bytes([1]) + u16(14) + bytes([0x0a]),
        "long_read": u16(23) + u16(16) + u16(0) + bytes([3]) + bytes([3]) + c8(range(22)) + bytes([3]) + c8(range(22)) + bytes([3]) + c8([1, 2]),
        "long_write_echoed": u16(23) + u16(16) + u16(60) + bytes([4, 0]) + bytes([2, 2, 2, 2, 3]) + c8([]),
        "write_request": u16(23) + u16(16) + u16(10) + bytes([4, 0, 2]),
        # Found by fuzzing: a value handle (0xfffa) far outside the range was reported.
        "regression_value_handle": u16(23) + u16(1) + u16(20) + bytes([1, 2, 3]) + c8([7, 2, 0, 2, 0xfa, 0xff, 0xff, 0xd5])
        + bytes([1]) + u16(3) + bytes([0x0a]),
        "exchange_mtu": u16(23) + u16(0) + u16(517) + bytes([5, 3]) + c8([0x00, 0x01]),
    },
    "l2cap_signal": {
        "connect_req": bytes([0x14, 1, 10, 0]) + u16(0x80) + u16(0x40) + u16(256) + u16(247) + u16(10),
        "connect_rsp": bytes([0x15, 2, 10, 0]) + u16(0x41) + u16(256) + u16(247) + u16(10) + u16(0),
        "credits": bytes([0x16, 3, 4, 0]) + u16(0x40) + u16(5),
        "disconnect_req": bytes([0x06, 4, 4, 0]) + u16(0x40) + u16(0x41),
        "disconnect_rsp": bytes([0x07, 5, 4, 0]) + u16(0x40) + u16(0x41),
        "command_reject_with_data": bytes([0x01, 6, 6, 0]) + u16(2) + u16(0x40) + u16(0x41),
    },
    "l2cap_channels": {
        # handle sel, op, fields. op 0-3 signalling (1 = built command), 4-5 K-frame,
        # 7 connect, 8 send, 9 recv, 10 disconnect/answer/link closed, 11 time.
        # The peer opens a channel on 0x80, we accept, it sends an SDU, we read it, it closes.
        "peer_opens_sends_closes": bytes([0, 0, 1, 0, 0, 0, 0]) + u16(100) + u16(100) + u16(5) + bytes([1])
        + bytes([0, 10, 0, 1, 0]) + bytes([0, 4, 0]) + c8(u16(3) + b"abc") + bytes([0, 9, 0, 64, 0])
        + bytes([0, 0, 1, 3, 0, 0, 2]),
        # We connect, the peer accepts with credits, we send and close.
        "we_connect_send_close": bytes([1, 7, 0]) + u16(200) + bytes([1, 0, 1, 1, 0]) + u16(100) + u16(100) + u16(3) + bytes([0, 1])
        + bytes([1, 8, 0]) + u16(300) + bytes([1, 10, 0, 0]) + bytes([1, 11]) + u16(5000),
        "timeout": bytes([0, 7, 1]) + u16(100) + bytes([0, 11]) + u16(0xffff) + bytes([0, 11]) + u16(0xffff),
        # Found by fuzzing: a repeated Disconnect Request closed a draining channel twice.
        "regression_double_disconnect": bytes.fromhex("010700b5000100015b00fffffffffcff0001ff6400030100ffffffffffffffffffffffff"),
        "garbage_signalling": bytes([0, 0]) + c8([0x14, 1, 2, 0, 1]) + bytes([1, 1]) + c8([0x99, 1, 0, 0]),
    },
    "bond_record": {
        "secure_connections": bytes([1, 0b011, 16, 1]) + bytes([1, 2, 3, 4, 5, 0xc6]) + bytes(range(16)) + bytes(2 + 8)
        + bytes(range(16, 32)),
        "legacy_no_irk": bytes([1, 0b001, 7, 0]) + bytes([9, 8, 7, 6, 5, 4]) + bytes(range(16)) + u16(0x1234) + bytes(range(8)) + bytes(16),
        "version_2": bytes([2]) + bytes(51),
    },
}


def main():
    for target, seeds in SEEDS.items():
        d = ROOT / target
        d.mkdir(parents=True, exist_ok=True)
        for old in d.iterdir():
            old.unlink()
        for name, data in seeds.items():
            (d / name).write_bytes(bytes(data))
    print(sum(len(s) for s in SEEDS.values()), "seeds in", len(SEEDS), "targets")


if __name__ == "__main__":
    main()
