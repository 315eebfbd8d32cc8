# Test a 1 MiB transfer over an L2CAP channel (MTU 1024) to a receiver that
# reads slowly for a while. SDUs of varying length (1..1024 bytes) are cut from
# a fixed pseudo-random pattern, so both sides can compute the CRC-32 of the
# whole stream; lost, duplicated, reordered or corrupted bytes change it. The
# receiver first reads 100 bytes at a time with a pause after each read: the
# sender must then stall (l2cap_send returns False) and resume on SEND_READY,
# never get an error. The receiver also reports the backend's count of events
# it had to drop (none expected).
# An emulated board (QEMU) moves a few tens of kB/s through its UART, so with
# one on either side the transfer is 256 KiB. Both sides print each eighth they
# pass: the runner gives up on an instance silent for 10 s.

from micropython import const
import sys, time, machine, bluetooth, binascii

TIMEOUT_MS = 5000
TOTAL = 1 << 20
TOTAL_EMULATED = 1 << 18
MTU = const(1024)
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
flags = {"recv": 0, "ready": 0}


def irq(event, data):
    # RECV and SEND_READY can be many: they only count.
    if event == _IRQ_L2CAP_RECV:
        flags["recv"] += 1
    elif event == _IRQ_L2CAP_SEND_READY:
        flags["ready"] += 1
    else:
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


def pattern():
    buf = bytearray(4096)
    x = 12345
    for i in range(len(buf)):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        buf[i] = x >> 16
    return buf


def sdu_lengths(total):
    # 1..MTU, deterministic, covering one- and many-frame SDUs.
    n, i = 0, 0
    while n < total:
        length = min(1 + (i * 389) % MTU, total - n)
        yield length
        n += length
        i += 1


# Receiver (peripheral).
def progress(what, before, after, total):
    step = total // 8
    if after // step > before // step:
        print(what, after // step, "/ 8")


def broadcast_value(name, value):
    multitest.broadcast("%s %d" % (name, value))


def wait_value(name):
    # multitest.wait() for a broadcast that carries a number.
    prefix = "BROADCAST %s " % name
    while True:
        line = sys.stdin.readline().rstrip()
        if line.startswith(prefix):
            return int(line[len(prefix) :])


def instance0():
    multitest.globals(BDADDR=ble.config("mac"), RX_PLATFORM=sys.platform)
    multitest.next()
    try:
        ble.l2cap_listen(PSM, MTU)
        ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
        multitest.broadcast("adv")
        next_event(_IRQ_CENTRAL_CONNECT)
        _, conn, cid, psm, our_mtu, peer_mtu = next_event(_IRQ_L2CAP_ACCEPT)
        print("accept", psm, our_mtu, peer_mtu)
        print("connect", next_event(_IRQ_L2CAP_CONNECT)[3:])
        total = wait_value("total")
        buf = bytearray(MTU)
        crc, got, slow = 0, 0, 0
        t0 = time.ticks_ms()
        while got < total and time.ticks_diff(time.ticks_ms(), t0) < 20 * TIMEOUT_MS:
            if got < 64 * 1024:
                n = ble.l2cap_recvinto(conn, cid, memoryview(buf)[:100])
                if n:
                    slow += 1
                    time.sleep_ms(2)
            else:
                n = ble.l2cap_recvinto(conn, cid, buf)
            if n:
                crc = binascii.crc32(memoryview(buf)[:n], crc)
                progress("received", got, got + n, total)
                got += n
            else:
                time.sleep_ms(1)
        sender_crc = wait_value("crc")
        print("received all", got == total, "same crc", crc == sender_crc, "slow reads", slow > 100, "recv events", flags["recv"] > 0)
        try:
            import _trouble

            print("events dropped", _trouble.stats()["events_dropped"])
        except ImportError:
            print("events dropped", 0)
        multitest.broadcast("done")
        print("disconnect", next_event(_IRQ_L2CAP_DISCONNECT)[3:])
        next_event(_IRQ_CENTRAL_DISCONNECT)
        print("disconnected")
    finally:
        ble.active(0)


# Sender (central).
def instance1():
    multitest.next()
    try:
        multitest.wait("adv")
        ble.gap_connect(*BDADDR)
        conn = next_event(_IRQ_PERIPHERAL_CONNECT)[1]
        ble.l2cap_connect(conn, PSM, MTU)
        _, conn, cid, psm, our_mtu, peer_mtu = next_event(_IRQ_L2CAP_CONNECT)
        print("connect", psm, our_mtu, peer_mtu)
        emulated = "qemu" in (sys.platform, RX_PLATFORM)
        total = TOTAL_EMULATED if emulated else TOTAL
        broadcast_value("total", total)
        data = pattern()
        mv = memoryview(data)
        crc, sent, stalls, errors = 0, 0, 0, 0
        for length in sdu_lengths(total):
            at = (sent * 7) % (len(data) - MTU)
            chunk = mv[at : at + length]
            # SEND_READY may be handled before l2cap_send's caller looks: count from before.
            ready = flags["ready"]
            try:
                stalled = not ble.l2cap_send(conn, cid, chunk)
            except OSError as e:
                errors += 1
                print("send error", e.errno)
                break
            crc = binascii.crc32(chunk, crc)
            progress("sent", sent, sent + length, total)
            sent += length
            if stalled:
                stalls += 1
                t0 = time.ticks_ms()
                while flags["ready"] == ready and time.ticks_diff(time.ticks_ms(), t0) < TIMEOUT_MS:
                    time.sleep_ms(1)
                if flags["ready"] == ready:
                    print("no SEND_READY")
                    break
        broadcast_value("crc", crc)
        print("sent all", sent == total, "stalled", stalls > 0, "errors", errors)
        multitest.wait("done")
        ble.l2cap_disconnect(conn, cid)
        print("disconnect", next_event(_IRQ_L2CAP_DISCONNECT)[3:])
        ble.gap_disconnect(conn)
        next_event(_IRQ_PERIPHERAL_DISCONNECT)
        print("disconnected")
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
