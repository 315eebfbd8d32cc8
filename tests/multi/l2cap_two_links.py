# Test L2CAP channels on two connections at once, traffic in both directions
# at the same time. The central opens a channel to each of two peripherals
# and sends 132 SDUs of 500 bytes (66000 bytes) on each, alternating between
# them, while it receives as much from each peripheral. Every stream is checked by its length and
# CRC-32, which the receiver also computes from the sender's seed. An emulated board (QEMU)
# moves a few kB/s through its UART, so with one taking part each stream is 33 SDUs: the
# runner gives up on an instance silent for 10 s.

from micropython import const
import sys, time, machine, bluetooth, binascii

TIMEOUT_MS = 5000
TOTAL = 64 * 1024
TOTAL_EMULATED = 16 * 1024
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


def sdus(total):
    return (total + SDU - 1) // SDU


def expected_crc(seed, total):
    crc = 0
    for i in range(sdus(total)):
        crc = binascii.crc32(block(seed + i), crc)
    return crc


def wait_value(name):
    # multitest.wait() for a broadcast that carries a number.
    prefix = "BROADCAST %s " % name
    while True:
        line = sys.stdin.readline().rstrip()
        if line.startswith(prefix):
            return int(line[len(prefix) :])


class Stream:
    """One channel's two directions: what we still have to send, what we got."""

    def __init__(self, conn, cid, seed, peer_seed, total):
        self.conn, self.cid, self.seed, self.peer_seed, self.total = conn, cid, seed, peer_seed, total
        self.sent = self.got = self.rx_crc = 0
        self.buf = bytearray(MTU)
        ready[cid] = True

    def pump(self):
        # True if anything moved (three busy firmwares would starve the radio on 2 cores).
        before = self.sent + self.got
        if self.sent < self.total and ready[self.cid]:
            data = block(self.seed + self.sent // SDU)
            ready[self.cid] = False
            if ble.l2cap_send(self.conn, self.cid, data):
                ready[self.cid] = True
            self.sent += len(data)
        n = ble.l2cap_recvinto(self.conn, self.cid, self.buf)
        if n:
            self.rx_crc = binascii.crc32(memoryview(self.buf)[:n], self.rx_crc)
            self.got += n
        return self.sent + self.got != before

    def done(self):
        return self.sent >= self.total and self.got >= self.total

    def report(self):
        n = sdus(self.total) * SDU
        crc_ok = self.rx_crc == expected_crc(self.peer_seed, self.total)
        print("sent all", self.sent == n, "got all", self.got == n, "crc ok", crc_ok)


def run(streams):
    t0 = time.ticks_ms()
    while not all(s.done() for s in streams) and time.ticks_diff(time.ticks_ms(), t0) < 12 * TIMEOUT_MS:
        moved = False
        for s in streams:
            moved |= s.pump()
        if not moved:
            time.sleep_ms(1)


def peripheral(name, seed, peer_seed):
    multitest.globals(**{name: ble.config("mac"), name + "_PLATFORM": sys.platform})
    multitest.next()
    try:
        ble.l2cap_listen(PSM, MTU)
        ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
        multitest.broadcast("adv " + name)
        next_event(_IRQ_CENTRAL_CONNECT)
        next_event(_IRQ_L2CAP_ACCEPT)
        _, conn, cid, psm, our_mtu, peer_mtu = next_event(_IRQ_L2CAP_CONNECT)
        s = Stream(conn, cid, seed, peer_seed, wait_value("go"))
        run([s])
        s.report()
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
        emulated = "qemu" in (sys.platform, P1_PLATFORM, P2_PLATFORM)
        total = TOTAL_EMULATED if emulated else TOTAL
        streams = []
        for name, seed, peer_seed in (("P1", 101, 201), ("P2", 201, 101)):
            multitest.wait("adv " + name)
            ble.gap_connect(*(P1 if name == "P1" else P2))
            conn = next_event(_IRQ_PERIPHERAL_CONNECT)[1]
            ble.l2cap_connect(conn, PSM, MTU)
            _, conn, cid, psm, our_mtu, peer_mtu = next_event(_IRQ_L2CAP_CONNECT)
            print("connect", name, psm, our_mtu, peer_mtu)
            streams.append(Stream(conn, cid, seed, peer_seed, total))
        multitest.broadcast("go %d" % total)
        run(streams)
        for s in streams:
            s.report()
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
    peripheral("P1", 201, 101)


def instance1():
    peripheral("P2", 101, 201)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
