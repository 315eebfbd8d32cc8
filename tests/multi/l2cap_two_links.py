# Test L2CAP channels on two connections at once, traffic in both directions
# at the same time. The central opens a channel to each of two peripherals
# and sends 132 SDUs of 500 bytes (66000 bytes) on each, alternating between
# them, while it receives as much from each peripheral. Every stream is checked by its length and
# CRC-32, computed independently by sender and receiver.

from micropython import const
import time, machine, bluetooth, binascii

TIMEOUT_MS = 5000
TOTAL = 64 * 1024
SDU = const(500)
MTU = const(512)
PSM = const(0x80)

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_L2CAP_ACCEPT = const(22)
_IRQ_L2CAP_CONNECT = const(23)
_IRQ_L2CAP_DISCONNECT = const(24)
_IRQ_L2CAP_RECV = const(25)
_IRQ_L2CAP_SEND_READY = const(26)

events = []
ready = {}


def irq(event, data):
    if event == _IRQ_L2CAP_SEND_READY:
        ready[data[1]] = True
    elif event != _IRQ_L2CAP_RECV:
        events.append((event,) + tuple(bytes(x) if isinstance(x, memoryview) else x for x in data))


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


def block(seed):
    return bytes((seed * 31 + i * 7) & 0xFF for i in range(SDU))


class Stream:
    """One channel's two directions: what we still have to send, what we got."""

    def __init__(self, conn, cid, seed):
        self.conn, self.cid, self.seed = conn, cid, seed
        self.sent = self.got = self.tx_crc = self.rx_crc = 0
        self.buf = bytearray(MTU)
        ready[cid] = True

    def pump(self):
        # True if anything moved (three busy firmwares would starve the radio on 2 cores).
        before = self.sent + self.got
        if self.sent < TOTAL and ready[self.cid]:
            data = block(self.seed + self.sent // SDU)
            ready[self.cid] = False
            if ble.l2cap_send(self.conn, self.cid, data):
                ready[self.cid] = True
            self.tx_crc = binascii.crc32(data, self.tx_crc)
            self.sent += len(data)
        n = ble.l2cap_recvinto(self.conn, self.cid, self.buf)
        if n:
            self.rx_crc = binascii.crc32(memoryview(self.buf)[:n], self.rx_crc)
            self.got += n
        return self.sent + self.got != before

    def done(self, expected):
        return self.sent >= TOTAL and self.got >= expected


def run(streams, expected):
    t0 = time.ticks_ms()
    while not all(s.done(expected) for s in streams) and time.ticks_diff(time.ticks_ms(), t0) < 12 * TIMEOUT_MS:
        moved = False
        for s in streams:
            moved |= s.pump()
        if not moved:
            time.sleep_ms(1)


def peripheral(name, seed):
    multitest.globals(**{name: ble.config("mac")})
    multitest.next()
    try:
        ble.l2cap_listen(PSM, MTU)
        ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
        multitest.broadcast("adv " + name)
        next_event(_IRQ_CENTRAL_CONNECT)
        next_event(_IRQ_L2CAP_ACCEPT)
        _, conn, cid, psm, our_mtu, peer_mtu = next_event(_IRQ_L2CAP_CONNECT)
        multitest.wait("go")
        s = Stream(conn, cid, seed)
        run([s], TOTAL)
        print("sent", s.sent, hex(s.tx_crc), "got", s.got, hex(s.rx_crc))
        # The central closes only when its other stream is done too: that can be a slower machine.
        print("disconnect", next_event(_IRQ_L2CAP_DISCONNECT, 12 * TIMEOUT_MS)[3:])
        next_event(_IRQ_CENTRAL_DISCONNECT)
        print("disconnected")
    finally:
        ble.active(0)


# Central with two links (the last instance: it needs the others' addresses).
def instance2():
    multitest.next()
    try:
        streams = []
        for name, seed in (("P1", 100), ("P2", 200)):
            multitest.wait("adv " + name)
            ble.gap_connect(*(P1 if name == "P1" else P2))
            conn = next_event(_IRQ_PERIPHERAL_CONNECT)[1]
            ble.l2cap_connect(conn, PSM, MTU)
            _, conn, cid, psm, our_mtu, peer_mtu = next_event(_IRQ_L2CAP_CONNECT)
            print("connect", name, psm, our_mtu, peer_mtu)
            streams.append(Stream(conn, cid, seed + 1))
        multitest.broadcast("go")
        run(streams, TOTAL)
        for s in streams:
            print("sent", s.sent, hex(s.tx_crc), "got", s.got, hex(s.rx_crc))
        time.sleep_ms(200)
        for s in streams:
            ble.l2cap_disconnect(s.conn, s.cid)
            print("disconnect", next_event(_IRQ_L2CAP_DISCONNECT)[3:])
            ble.gap_disconnect(s.conn)
            next_event(_IRQ_PERIPHERAL_DISCONNECT)
        print("disconnected")
    finally:
        ble.active(0)


def instance0():
    peripheral("P1", 201)


def instance1():
    peripheral("P2", 101)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
