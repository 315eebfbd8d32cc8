# Heap of the QEMU firmware (instance 0): in use after active(True), and after
# each of two connections (instances 1 and 2 connect one after the other).
# Figures go out as OUTPUT_METRIC lines; `make size` prints them.
import gc, time, machine, bluetooth

_IRQ_CENTRAL_CONNECT = 1
_IRQ_CENTRAL_DISCONNECT = 2
_IRQ_PERIPHERAL_CONNECT = 7
_IRQ_PERIPHERAL_DISCONNECT = 8
ADV = b"\x02\x01\x06\x06\x09heapq"

events = []


def irq(event, data):
    events.append(event)


def wait(event, timeout_ms=8000):
    t0 = time.ticks_ms()
    while event not in events:
        if time.ticks_diff(time.ticks_ms(), t0) > timeout_ms:
            raise OSError("timeout waiting for %d" % event)
        machine.idle()
    events.remove(event)


def in_use():
    gc.collect()
    return gc.mem_alloc()


def instance0():
    base = in_use()
    ble.irq(irq)
    ble.active(1)
    active = in_use()
    multitest.globals(BDADDR=ble.config("mac"))
    ble.gap_advertise(20_000, ADV)
    multitest.next()
    links = []
    for i in range(2):
        wait(_IRQ_CENTRAL_CONNECT)
        time.sleep_ms(200)  # let the link's set-up traffic settle
        links.append(in_use())
        if i == 0:
            ble.gap_advertise(20_000, ADV)
        multitest.broadcast("linked%d" % i)
    multitest.output_metric("heap in use after active(True): %d bytes" % (active - base))
    multitest.output_metric("heap per connection: %d, %d bytes" % (links[0] - active, links[1] - links[0]))
    for i in range(2):
        wait(_IRQ_CENTRAL_DISCONNECT)
    print("done")


def central(index):
    multitest.next()
    if index:
        multitest.wait("linked0")
    ble.irq(irq)
    ble.active(1)
    ble.gap_connect(*BDADDR)
    wait(_IRQ_PERIPHERAL_CONNECT)
    multitest.wait("linked1")
    time.sleep_ms(100)
    print("connected")


def instance1():
    central(0)
    ble.active(0)


def instance2():
    central(1)
    ble.active(0)


ble = bluetooth.BLE()
