# Test L2CAP channel refusals and argument errors. A connect to a PSM nobody
# listens on fails with status 2 (PSM not supported). The peripheral's ACCEPT
# handler refuses twice, returning 1 (sent as result 4, no resources) and then
# 5 (an L2CAP result code, sent as is), then accepts. A device that listens
# can still open a channel itself: the peripheral then connects to a PSM the
# central listens on, so two channels are open on the link at once. Bad
# arguments raise the errno NimBLE's backend raises (an MTU beyond what the
# receive ring holds is EINVAL here; NimBLE would allocate it).

from micropython import const
import time, machine, bluetooth

TIMEOUT_MS = 5000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_L2CAP_ACCEPT = const(22)
_IRQ_L2CAP_CONNECT = const(23)
_IRQ_L2CAP_DISCONNECT = const(24)

events = []
verdicts = []


def irq(event, data):
    events.append((event,) + tuple(bytes(x) if isinstance(x, memoryview) else x for x in data))
    if event == _IRQ_L2CAP_ACCEPT and verdicts:
        return verdicts.pop(0)


def next_event(code, timeout_ms=TIMEOUT_MS):
    t0 = time.ticks_ms()
    while True:
        for i, e in enumerate(events):
            if e[0] == code:
                return events.pop(i)
        if time.ticks_diff(time.ticks_ms(), t0) > timeout_ms:
            print("timeout waiting for", code)
            return None
        machine.idle()


def errno_of(f, *args):
    try:
        f(*args)
        return "no error"
    except OSError as e:
        return e.errno


def receive(conn, cid):
    # RECV events of both channels interleave: poll the one wanted instead.
    t0 = time.ticks_ms()
    while not ble.l2cap_recvinto(conn, cid, None) and time.ticks_diff(time.ticks_ms(), t0) < TIMEOUT_MS:
        machine.idle()
    buf = bytearray(64)
    n = ble.l2cap_recvinto(conn, cid, buf)
    return bytes(buf[:n])


# Peripheral: listens on 0x81, refuses twice, then also connects to the central's 0x82.
def instance0():
    multitest.globals(BDADDR=ble.config("mac"))
    multitest.next()
    try:
        print("listen mtu 20000", errno_of(ble.l2cap_listen, 0x81, 20000))
        print("listen psm 0", errno_of(ble.l2cap_listen, 0, 100))
        print("send no channel", errno_of(ble.l2cap_send, 0, 0x40, b"x"))
        print("recvinto no channel", errno_of(ble.l2cap_recvinto, 0, 0x40, None))
        print("disconnect no channel", errno_of(ble.l2cap_disconnect, 0, 0x40))
        print("connect no link", errno_of(ble.l2cap_connect, 99, 0x81, 100))
        verdicts.extend([1, 5, 0])
        ble.l2cap_listen(0x81, 100)
        ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
        multitest.broadcast("adv")
        conn = next_event(_IRQ_CENTRAL_CONNECT)[1]
        for _ in range(3):
            print("accept", next_event(_IRQ_L2CAP_ACCEPT)[3:])
        _, _, cid1, psm, our_mtu, peer_mtu = next_event(_IRQ_L2CAP_CONNECT)
        print("connect", psm, our_mtu, peer_mtu)
        multitest.wait("listening")
        ble.l2cap_connect(conn, 0x82, 60)
        _, _, cid2, psm, our_mtu, peer_mtu = next_event(_IRQ_L2CAP_CONNECT)
        print("connect", psm, our_mtu, peer_mtu, "distinct cids", cid1 != cid2)
        print("send beyond peer mtu", errno_of(ble.l2cap_send, conn, cid2, bytes(81)))
        ble.l2cap_send(conn, cid1, b"on 0x81 from peripheral")
        ble.l2cap_send(conn, cid2, b"on 0x82 from peripheral")
        print("got", receive(conn, cid1))
        print("got", receive(conn, cid2))
        print("disconnect", next_event(_IRQ_L2CAP_DISCONNECT)[3:])
        print("disconnect", next_event(_IRQ_L2CAP_DISCONNECT)[3:])
        next_event(_IRQ_CENTRAL_DISCONNECT)
        print("disconnected")
    finally:
        ble.active(0)


# Central: tries an unknown PSM, is refused twice, then listens on 0x82.
def instance1():
    multitest.next()
    try:
        multitest.wait("adv")
        ble.gap_connect(*BDADDR)
        conn = next_event(_IRQ_PERIPHERAL_CONNECT)[1]
        ble.l2cap_connect(conn, 0x90, 100)
        print("unknown psm", next_event(_IRQ_L2CAP_DISCONNECT)[3:])
        for _ in range(2):
            ble.l2cap_connect(conn, 0x81, 80)
            print("refused", next_event(_IRQ_L2CAP_DISCONNECT)[3:])
        ble.l2cap_connect(conn, 0x81, 80)
        _, _, cid1, psm, our_mtu, peer_mtu = next_event(_IRQ_L2CAP_CONNECT)
        print("connect", psm, our_mtu, peer_mtu)
        ble.l2cap_listen(0x82, 80)
        multitest.broadcast("listening")
        _, _, cid2, psm, our_mtu, peer_mtu = next_event(_IRQ_L2CAP_ACCEPT)
        print("accept", psm, our_mtu, peer_mtu)
        next_event(_IRQ_L2CAP_CONNECT)
        print("got", receive(conn, cid1))
        print("got", receive(conn, cid2))
        ble.l2cap_send(conn, cid1, b"on 0x81 from central")
        ble.l2cap_send(conn, cid2, b"on 0x82 from central")
        time.sleep_ms(200)
        ble.l2cap_disconnect(conn, cid1)
        print("disconnect", next_event(_IRQ_L2CAP_DISCONNECT)[3:])
        ble.l2cap_disconnect(conn, cid2)
        print("disconnect", next_event(_IRQ_L2CAP_DISCONNECT)[3:])
        ble.gap_disconnect(conn)
        next_event(_IRQ_PERIPHERAL_DISCONNECT)
        print("disconnected")
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
