# Seeded fuzz of aioble's advertising-data decoding (ScanResult.name, services,
# manufacturer), run on the firmware itself:
#   micropython fuzz/aioble_scanresult.py SEED SECONDS
# Payloads are built from AD structures the generator knows, then sometimes cut,
# padded or replaced by junk. The decoders must never raise, and must report
# exactly what an independent reading of the AD format (Core Supplement Part A
# 1, a zero length or a field running past the end ends the payload) finds.
# Prints the seed first, so a failure can be replayed, and one summary line.
import sys
import time
import bluetooth
from aioble.central import ScanResult
from aioble.device import Device

seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3
print("seed", seed)
_state = [seed & 0xFFFFFFFF or 1]


def rnd():
    # xorshift32: repeatable from the seed on any port.
    x = _state[0]
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    _state[0] = x
    return x


def below(n):
    return rnd() % n if n > 0 else 0


def blob(n):
    return bytes(rnd() & 0xFF for _ in range(n))


TYPES = (0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x16, 0x19, 0xFF)


def field():
    t = TYPES[below(len(TYPES))] if below(8) else rnd() & 0xFF
    if t in (0x02, 0x03, 0x04, 0x05, 0x06, 0x07) and below(4):
        size = {0x02: 2, 0x03: 2, 0x04: 4, 0x05: 4, 0x06: 16, 0x07: 16}[t]
        value = blob(size * below(3) + (below(size) if not below(5) else 0))
    elif t in (0x08, 0x09) and below(2):
        value = "".join("aé€z"[below(4)] for _ in range(below(8))).encode()
    else:
        value = blob(below(12))
    return t, value


def payload():
    # Returns the bytes and the (type, value) list a correct reader finds in them.
    out, fields = b"", []
    for _ in range(below(5)):
        t, v = field()
        out += bytes((len(v) + 1, t)) + v
        fields.append((t, v))
    mode = below(6)
    if mode == 0 and out:
        cut = below(len(out))
        out = out[:cut]
    elif mode == 1:
        out += bytes(below(4))  # zero padding
    elif mode == 2:
        out = blob(below(40))
    else:
        return out, fields
    return out, reference(out)


def reference(p):
    fields, i = [], 0
    while i < len(p):
        n = p[i]
        if n == 0 or i + 1 + n > len(p):
            break
        fields.append((p[i + 1], p[i + 2 : i + 1 + n]))
        i += 1 + n
    return fields


def expected(adv, resp):
    allf = adv + resp
    name = None
    for t, v in allf:
        if t in (0x08, 0x09):
            try:
                name = v.decode()
            except UnicodeError:
                name = str(v)
            break
    uuids = []
    for size, types in ((2, (2, 3)), (4, (4, 5)), (16, (6, 7))):
        for t, v in allf:
            if t in types:
                uuids += [bytes(v[k : k + size]) for k in range(0, len(v) - size + 1, size)]
    makers = [(v[0] | v[1] << 8, bytes(v[2:])) for t, v in allf if t == 0xFF and len(v) >= 2]
    return name, uuids, makers


device = Device(0, b"\x01\x02\x03\x04\x05\x06")
cases = failures = 0
end = time.ticks_add(time.ticks_ms(), int(seconds * 1000))
while time.ticks_diff(end, time.ticks_ms()) > 0:
    cases += 1
    r = ScanResult(device)
    adv, adv_fields = payload()
    resp, resp_fields = payload()
    adv_type = below(5)
    # An advertisement, sometimes followed by a scan response (type 4).
    r._update(adv_type if adv_type != 4 else 0, -40, adv)
    has_resp = below(2)
    if has_resp:
        r._update(4, -41, resp)
    else:
        resp_fields = []
    try:
        got = (r.name(), [bytes(u) for u in r.services()], list(r.manufacturer()))
        company = got[2][0][0] if got[2] else below(0x10000)
        filtered = list(r.manufacturer(company))
    except Exception as e:
        failures += 1
        print("FAIL raised", repr(e), "case", cases, adv, resp if has_resp else None)
        continue
    want = expected(adv_fields, resp_fields)
    want_filtered = [m for m in want[2] if m[0] == company]
    if got != want or filtered != want_filtered:
        failures += 1
        print("FAIL case", cases, adv, resp if has_resp else None, "got", got, "want", want)
    if failures >= 5:
        break
print("aioble ScanResult: {} cases, {} failed".format(cases, failures))
