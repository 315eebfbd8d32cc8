# Heap of the QEMU firmware (instance 0) per open L2CAP channel: in use on the
# connected link before the channel, and once the central's channel is
# accepted and has carried an SDU each way. Goes out as an OUTPUT_METRIC line;
# `make size` prints it.
import gc, time, machine, bluetooth

_IRQ_CENTRAL_CONNECT = 1
_IRQ_CENTRAL_DISCONNECT = 2
_IRQ_PERIPHERAL_CONNECT = 7
_IRQ_PERIPHERAL_DISCONNECT = 8
_IRQ_L2CAP_ACCEPT = 22
_IRQ_L2CAP_CONNECT = 23
_IRQ_L2CAP_DISCONNECT = 24
_IRQ_L2CAP_RECV = 25
PSM = 0x81
MTU = 512
ADV = b"\x02\x01\x06\x06\x09heapl"

events = []


def irq(event, data):
    events.append((event,) + tuple(data))


def wait(event, timeout_ms=8000):
    t0 = time.ticks_ms()
    while True:
        for i, e in enumerate(events):
            if e[0] == event:
                return events.pop(i)
        if time.ticks_diff(time.ticks_ms(), t0) > timeout_ms:
            raise OSError("timeout waiting for %d" % event)
        machine.idle()


def in_use():
    gc.collect()
    return gc.mem_alloc()


def instance0():
    ble.irq(irq)
    ble.active(1)
    multitest.globals(BDADDR=ble.config("mac"))
    ble.l2cap_listen(PSM, MTU)
    ble.gap_advertise(20_000, ADV)
    multitest.next()
    conn = wait(_IRQ_CENTRAL_CONNECT)[1]
    buf = bytearray(MTU)  # the application's, not the channel's
    time.sleep_ms(200)  # let the link's set-up traffic settle
    linked = in_use()
    multitest.broadcast("linked")
    cid = wait(_IRQ_L2CAP_CONNECT)[2]
    wait(_IRQ_L2CAP_RECV)
    n = ble.l2cap_recvinto(conn, cid, buf)
    ble.l2cap_send(conn, cid, buf[:n])
    time.sleep_ms(200)
    opened = in_use()
    multitest.output_metric("heap per open L2CAP channel: %d bytes" % (opened - linked))
    multitest.broadcast("measured")
    wait(_IRQ_CENTRAL_DISCONNECT)
    print("done")


def instance1():
    multitest.next()
    ble.irq(irq)
    ble.active(1)
    ble.gap_connect(*BDADDR)
    conn = wait(_IRQ_PERIPHERAL_CONNECT)[1]
    multitest.wait("linked")
    ble.l2cap_connect(conn, PSM, MTU)
    cid = wait(_IRQ_L2CAP_CONNECT)[2]
    ble.l2cap_send(conn, cid, bytes(range(200)))
    wait(_IRQ_L2CAP_RECV)
    multitest.wait("measured")
    ble.gap_disconnect(conn)
    wait(_IRQ_PERIPHERAL_DISCONNECT)
    print("echoed")
    ble.active(0)


ble = bluetooth.BLE()
