# Camera control peripheral: a command characteristic declared capture=True,
# so every write comes out of written() as (connection, data) in order, none
# lost to the next one; and a status characteristic whose on_read() builds
# the value at the moment a client reads it, or refuses the read (ATT 0x02,
# Read Not Permitted) while "privacy" is on.
# Commands: b"shoot", b"exposure=<ms>", b"privacy on", b"privacy off".
# Peer: examples/control_client.py.
# Run: python python/run_example.py control
# Usage: micropython control_peripheral.py [idle_s=0]
#   idle_s: stop once a client has come and gone and none came back within
#   idle_s seconds; 0: run until Ctrl-C.
import sys

import asyncio
import aioble
import bluetooth

_CONTROL_UUID = bluetooth.UUID("7a1e0001-5c3a-4e8b-9d2f-6c0de0c0ffee")
_COMMAND_UUID = bluetooth.UUID("7a1e0002-5c3a-4e8b-9d2f-6c0de0c0ffee")
_STATUS_UUID = bluetooth.UUID("7a1e0003-5c3a-4e8b-9d2f-6c0de0c0ffee")
_ATT_READ_NOT_PERMITTED = 0x02
IDLE_S = int(sys.argv[1]) if len(sys.argv) > 1 else 0

camera = {"shots": 0, "exposure": 100, "privacy": False, "reads": 0, "commands": 0}


class Status(aioble.Characteristic):
    # Runs inside the stack's read-request event: keep it short, never await.
    # It runs once per ATT request, so a value longer than MTU-3 (read, then
    # Read Blob) is rebuilt halfway through: the client raises its MTU first.
    def on_read(self, connection):
        camera["reads"] += 1
        if camera["privacy"]:
            print("status read refused (privacy on)")
            return _ATT_READ_NOT_PERMITTED
        value = b"shots=%d exposure=%d reads=%d" % (camera["shots"], camera["exposure"], camera["reads"])
        self.write(value)
        print("status read -> %s" % value.decode())
        return 0


service = aioble.Service(_CONTROL_UUID)
command = aioble.Characteristic(service, _COMMAND_UUID, write=True, write_no_response=True, capture=True)
status = Status(service, _STATUS_UUID, read=True)
aioble.register_services(service)


def apply(cmd):
    if cmd == b"shoot":
        camera["shots"] += 1
    elif cmd.startswith(b"exposure="):
        camera["exposure"] = int(cmd[9:])
    elif cmd in (b"privacy on", b"privacy off"):
        camera["privacy"] = cmd == b"privacy on"
    else:
        return False
    return True


async def commands():
    while True:
        connection, data = await command.written()
        camera["commands"] += 1
        known = apply(bytes(data))
        print("command %d %s: %s" % (camera["commands"], "ok" if known else "unknown", bytes(data).decode()))


async def main():
    asyncio.create_task(commands())
    served = 0
    while True:
        try:
            connection = await aioble.advertise(
                100_000, name="cam-control", services=[_CONTROL_UUID],
                timeout_ms=IDLE_S * 1000 if IDLE_S and served else None,
            )
        except asyncio.TimeoutError:
            print("no client for %d s, stopping" % IDLE_S)
            return
        served += 1
        print("connected %s" % connection.device.addr_hex())
        await connection.disconnected()
        print("disconnected")


try:
    asyncio.run(main())
except KeyboardInterrupt:
    pass
finally:
    aioble.stop()
print("SUMMARY commands=%d shots=%d exposure=%d reads=%d" % (
    camera["commands"], camera["shots"], camera["exposure"], camera["reads"]))
