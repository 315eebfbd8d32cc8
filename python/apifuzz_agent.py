# The firmware side of the API fuzz (python/apifuzz.py): handlers for tests/fwproc.py's agent.
#
# Runs inside a unix firmware instance (MicroPython). The driver evaluates one expression per
# line: setup(...), link(...), fuzz(seed, ms, ...), then the post-fuzz checks. The call plan is a
# pure function of the seed (CALLS, CATS and Rng below, which CPython imports too), so the
# driver can name every call of a run from the seed and a call number: a call draws its kind
# and four argument categories from its own generator whatever the link is doing; only what a
# category means right now (the live connection handle, the open channel id) comes from state.
#
# While fuzzing, each call is written to RING (magic RING_MAGIC, then the call count, then
# RING_SLOTS entries of kind, status, connection handle), which the driver finds in a core
# dump or in a hung process's memory, so a crash or a hang names the last calls exactly.

import time

M32 = 0xFFFFFFFF


class Rng:
    """xorshift32: the same numbers in MicroPython and CPython."""

    def __init__(self, seed):
        self.x = (seed & M32) or 0x9E3779B9

    def next(self):
        x = self.x
        x ^= (x << 13) & M32
        x ^= x >> 17
        x ^= (x << 5) & M32
        self.x = x
        return x


# Argument categories, by argument kind. Names are what a report shows; the firmware
# resolves the same index (draw % len) to a value in arg().
CATS = {
    'conn': ('live', 'live', 'live', 'live+65536', 'stale', 'unknown 0x0eff', '65535', '-1', 'None', "'x'"),
    'vh': ('ours', 'ours', 'ours', 'ours', '0', '0xffff', 'unknown 200', 'None', '1.5'),
    'range': ('1', 'ours', 'ours', '0xffff', '0', '-1', '70000', 'None'),
    'buf': ('b""', '1 byte', '3 bytes', '20 bytes', '244 bytes', '600 bytes', 'bytearray 244',
            'memoryview 100', 'int 123', 'None'),
    'optbuf': ('omitted', 'omitted', 'b""', '1 byte', '20 bytes', '244 bytes', '600 bytes', 'None', 'int 5'),
    'rbuf': ('None', 'bytearray 0', 'bytearray 1', 'bytearray 20', 'bytearray 244', 'bytearray 600',
             'bytes (read-only)', 'int 5'),
    'mode': ('0', '1', '2', '1', '3', '-1', 'None'),
    'bool': ('True', 'False', '0', '1', 'None', "'x'"),
    'psm': ('ours', 'ours', 'ours', 'unlistened 0x81', '0', '0x1001', '-1', 'None'),
    'mtu': ('23', '100', '256', '527', '600', '0', '65535', '70000', '-1', 'None'),
    'cid': ('live', 'live', 'live', 'stale', '0x40', '0x7f', '0', '0xffff', 'None'),
    'uuid': ('omitted', 'omitted', 'None', 'UUID(0xff00)', 'UUID(0x2803)', 'UUID(128-bit)', "'x'", 'int 5'),
    'len': ('0', '1', '20', '244', '600', '512', '-1', 'None'),
    'action': ('2', '3', '4', 'pending', '0', '99', 'None'),
    'passkey': ('0', '123456', '999999', '1000000', '-1', 'None'),
    'scan': ('None', 'None', '0', '30', '300', '-1', "'x'"),
    'name': ('b""', "b'a'", '30 bytes', '64 bytes', '65 bytes', '300 bytes', 'int 5'),
    'adv': ('None', 'default', 'default', 'interval 0', 'b"" payload', '32-byte payload', 'interval -1',
            'non-connectable'),
    'peer': ('peer', 'peer', 'cancel', 'unknown address', 'address type 7', '5-byte address', 'None address'),
}

# The calls: (name, argument kinds, weight). gap_disconnect is drawn apart (rarely).
CALLS = (
    ('gattc_discover_services', ('conn', 'uuid'), 4),
    ('gattc_discover_characteristics', ('conn', 'range', 'range', 'uuid'), 4),
    ('gattc_discover_descriptors', ('conn', 'range', 'range'), 4),
    ('gattc_read', ('conn', 'vh'), 8),
    ('gattc_write', ('conn', 'vh', 'buf', 'mode'), 8),
    ('gattc_exchange_mtu', ('conn',), 2),
    ('gatts_read', ('vh',), 4),
    ('gatts_write', ('vh', 'buf', 'bool'), 8),
    ('gatts_notify', ('conn', 'vh', 'optbuf'), 8),
    ('gatts_indicate', ('conn', 'vh', 'optbuf'), 6),
    ('gatts_set_buffer', ('vh', 'len', 'bool'), 4),
    ('l2cap_listen', ('psm', 'mtu'), 3),
    ('l2cap_connect', ('conn', 'psm', 'mtu'), 4),
    ('l2cap_send', ('conn', 'cid', 'buf'), 8),
    ('l2cap_recvinto', ('conn', 'cid', 'rbuf'), 8),
    ('l2cap_disconnect', ('conn', 'cid'), 3),
    ('gap_pair', ('conn',), 2),
    ('gap_passkey', ('conn', 'action', 'passkey'), 3),
    ('gap_scan', ('scan',), 2),
    ('config_mtu', ('mtu',), 2),
    ('config_name', ('name',), 2),
    ('gap_advertise', ('adv',), 1),
    ('gap_connect', ('peer',), 1),
)
DISCONNECT = len(CALLS)  # the kind number of gap_disconnect
KIND_TABLE = []
for _k, _c in enumerate(CALLS):
    KIND_TABLE.extend([_k] * _c[2])


def kind_table(exclude=()):
    """Call kinds by weight, without the named ones."""
    return [k for k in KIND_TABLE if CALLS[k][0] not in exclude]


def plan(rng, disconnect_every, table=KIND_TABLE):
    """The next call: (kind, four argument draws). Always five draws."""
    r0 = rng.next()
    draws = (rng.next(), rng.next(), rng.next(), rng.next())
    if disconnect_every and r0 % disconnect_every == 0:
        return DISCONNECT, draws
    return table[(r0 // 7919) % len(table)], draws


def describe(kind, draws):
    """A call as a report shows it (argument categories, not live values)."""
    if kind == DISCONNECT:
        return 'gap_disconnect(conn=%s)' % CATS['conn'][draws[0] % len(CATS['conn'])]
    name, kinds, _ = CALLS[kind]
    return '%s(%s)' % (name, ', '.join('%s=%s' % (k, CATS[k][d % len(CATS[k])]) for k, d in zip(kinds, draws)))


RING_MAGIC = b'APIFUZZ-RING-v1!'
RING_SLOTS = 256  # the main loop's last calls
NESTED_SLOTS = 32  # the IRQ handler's last calls
RING_HEAD = len(RING_MAGIC) + 8  # then the two call counts (u32 little-endian)
# Entry status: the call started, returned, raised; NESTED marks a call made from the IRQ handler.
ST_ENTERED, ST_RETURNED, ST_RAISED, NESTED = 1, 2, 3, 0x10
# The exception types the API documents for bad arguments and states.
ALLOWED = (OSError, TypeError, ValueError, OverflowError)
SLOW_MS = 3000  # every call's documented bound is 2 s (REQUEST_TIMEOUT_MS); 1 s of slack
PSM = 0x80
KNOWN = b'known value 0123'
ADV_INTERVAL_US = 20_000

# --- firmware side: everything below runs only in MicroPython -------------------------------

LINKS = []  # live connection handles
STALE = [0x0123]  # handles of links that ended (one made up so the category always has one)
CIDS = []  # (conn, cid) of open channels
STALE_CIDS = [(0, 0x0041)]
PEER = None  # (addr_type, addr) the central connects to
HANDLES = ()  # our value and descriptor handles (the peer's are the same: same table)
STATE = {'connecting': False, 'last_adv': 0, 'passkey': None, 'nested': 0, 'nest_ms': 0,
         'fuzzing': False, 'nested_permille': 0, 'depth': 0, 'log': None, 'table': KIND_TABLE, 'bufs': ()}
EVENTS = [0] * 40
RING = bytearray(RING_HEAD + 4 * (RING_SLOTS + NESTED_SLOTS))
# Stored inverted, byte by byte, so only the ring itself holds these bytes (the script's text
# and its constants hold the magic as written).
for _i, _b in enumerate(RING_MAGIC):
    RING[_i] = _b ^ 0xFF
POST = []  # events kept for the post-fuzz checks


def _ring_put(n, kind, status, conn):
    if status & NESTED:
        o = RING_HEAD + 4 * (RING_SLOTS + n % NESTED_SLOTS)
    else:
        o = RING_HEAD + 4 * (n % RING_SLOTS)
    RING[o] = kind
    RING[o + 1] = status
    RING[o + 2] = conn & 0xFF
    RING[o + 3] = (conn >> 8) & 0xFF


def _ring_count(n, at=16):
    RING[at] = n & 0xFF
    RING[at + 1] = (n >> 8) & 0xFF
    RING[at + 2] = (n >> 16) & 0xFF
    RING[at + 3] = (n >> 24) & 0xFF


def irq(event, data):
    if event < 40:
        EVENTS[event] += 1
    result = None
    if event == 1 or event == 7:  # CENTRAL_CONNECT, PERIPHERAL_CONNECT
        if event == 7:
            STATE['connecting'] = False
        if data[0] != 65535 and data[0] not in LINKS:
            LINKS.append(data[0])
    elif event == 2 or event == 8:  # CENTRAL_DISCONNECT, PERIPHERAL_DISCONNECT
        if event == 8:
            STATE['connecting'] = False
        conn = data[0]
        if conn in LINKS:
            LINKS.remove(conn)
            STALE.append(conn)
            if len(STALE) > 4:
                STALE.pop(0)
        for c in [c for c in CIDS if c[0] == conn]:
            CIDS.remove(c)
            STALE_CIDS.append(c)
    elif event == 4 or event == 22:  # GATTS_READ_REQUEST, L2CAP_ACCEPT: allow
        result = 0
    elif event == 23:  # L2CAP_CONNECT
        c = (data[0], data[1])
        if c not in CIDS:
            CIDS.append(c)
    elif event == 24:  # L2CAP_DISCONNECT
        c = (data[0], data[1])
        if c in CIDS:
            CIDS.remove(c)
            STALE_CIDS.append(c)
        if len(STALE_CIDS) > 4:
            STALE_CIDS.pop(0)
    elif event == 29:  # GET_SECRET: no secrets kept
        result = None
    elif event == 30:  # SET_SECRET
        result = True
    elif event == 31:  # PASSKEY_ACTION
        STATE['passkey'] = (data[0], data[1])
    log = STATE['log']
    if log is not None and len(log) < 500:
        log.append((event,) + tuple(bytes(x) if isinstance(x, memoryview) else x for x in data))
    if STATE['fuzzing'] and STATE['depth'] == 0 and STATE['nested_permille']:
        if NESTED_GATE.next() % 1000 < STATE['nested_permille']:
            _nested_call()
    return result


NESTED_RNG = Rng(1)  # the IRQ handler's calls (plan regenerable from the seed by number)
NESTED_GATE = Rng(2)  # whether an event makes one (depends on the events, so apart)
NESTED_SALT, GATE_SALT = 0x5BD1E995, 0x27D4EB2F


def _nested_call():
    """One random call from inside the IRQ handler (as apps do), on its own generator."""
    STATE['depth'] = 1
    n = STATE['nested']
    STATE['nested'] = n + 1
    kind, draws = plan(NESTED_RNG, 0, STATE['table'])
    _ring_count(n, 20)
    t0 = time.ticks_ms()
    try:
        _do(kind, draws, n, NESTED)
    finally:
        STATE['nest_ms'] += time.ticks_diff(time.ticks_ms(), t0)
        STATE['depth'] = 0


BUFS = (b'', b'\x01', b'abc', bytes(range(20)), bytes(244), bytes(range(256)) * 2 + bytes(88),
        bytearray(244), memoryview(bytearray(200))[50:150], 123, None)
# With fuzz(small=True) every buffer is at most 20 bytes (one ACL fragment per frame), to look
# past failures that need long frames.
SMALL_BUFS = tuple(b[:20] if isinstance(b, (bytes, bytearray, memoryview)) else b for b in BUFS)


def pick(items, d, default=None):
    """An element of a list the IRQ handler may change between any two bytecodes: one copy
    is taken, so the length checked is the length used."""
    items = list(items)
    return items[(d >> 8) % len(items)] if items else default


def arg(kind, d):
    """The value of argument category d of an argument kind (see CATS)."""
    cats = CATS[kind]
    i = d % len(cats)
    if kind == 'conn':
        if i < 4:
            v = pick(LINKS, d, STALE[-1])
            return v + 65536 if i == 3 else v
        return (pick(STALE, d), 0x0EFF, 65535, -1, None, 'x')[i - 4]
    if kind == 'vh':
        if i < 4:
            return HANDLES[(d >> 8) % len(HANDLES)]
        return (0, 0xFFFF, 200, None, 1.5)[i - 4]
    if kind == 'range':
        if i == 1 or i == 2:
            return HANDLES[(d >> 8) % len(HANDLES)]
        return (1, 0, 0, 0xFFFF, 0, -1, 70000, None)[i]
    if kind == 'buf':
        return STATE['bufs'][i]
    if kind == 'optbuf':
        b = STATE['bufs']
        return (OMIT, OMIT, b'', b'\x01', b[3], b[4], b[5], None, 5)[i]
    if kind == 'rbuf':
        return (None, bytearray(0), bytearray(1), bytearray(20), bytearray(244), bytearray(600), b'ro', 5)[i]
    if kind == 'mode':
        return (0, 1, 2, 1, 3, -1, None)[i]
    if kind == 'bool':
        return (True, False, 0, 1, None, 'x')[i]
    if kind == 'psm':
        return (PSM, PSM, PSM, 0x81, 0, 0x1001, -1, None)[i]
    if kind == 'mtu':
        return (23, 100, 256, 527, 600, 0, 65535, 70000, -1, None)[i]
    if kind == 'cid':
        if i < 3:
            return pick(CIDS, d, STALE_CIDS[-1])[1]
        if i == 3:
            return pick(STALE_CIDS, d)[1]
        return (0x40, 0x7F, 0, 0xFFFF, None)[i - 4]
    if kind == 'uuid':
        return (OMIT, OMIT, None, UUIDS[0], UUIDS[1], UUIDS[2], 'x', 5)[i]
    if kind == 'len':
        if STATE['bufs'] is SMALL_BUFS and i in (3, 4, 5):
            return 20
        return (0, 1, 20, 244, 600, 512, -1, None)[i]
    if kind == 'action':
        if i == 3:
            p = STATE['passkey']
            return p[1] if p else 4
        return (2, 3, 4, 0, 0, 99, None)[i]
    if kind == 'passkey':
        return (0, 123456, 999999, 1000000, -1, None)[i]
    if kind == 'scan':
        return (None, None, 0, 30, 300, -1, 'x')[i]
    if kind == 'name':
        return (b'', b'a', b'n' * 30, b'n' * 64, b'n' * 65, b'n' * 300, 5)[i]
    if kind == 'adv':
        return i
    if kind == 'peer':
        return i
    raise ValueError(kind)


OMIT = object()
UUIDS = ()


def _call(kind, draws):
    """Makes call `kind` with arguments resolved from draws; returns the connection handle used."""
    name, kinds, _ = CALLS[kind]
    args = [arg(k, d) for k, d in zip(kinds, draws)]
    conn = args[0] if kinds[0] == 'conn' and isinstance(args[0], int) else 0
    if name == 'gap_scan':
        if args[0] is None:
            ble.gap_scan(None)
        else:
            ble.gap_scan(args[0], 30000, 30000)
    elif name == 'config_mtu':
        ble.config(mtu=args[0])
    elif name == 'config_name':
        ble.config(gap_name=args[0])
    elif name == 'gap_advertise':
        i = args[0]
        if i == 0:
            ble.gap_advertise(None)
        elif i == 4:
            ble.gap_advertise(ADV_INTERVAL_US, b'')
        elif i == 5:
            ble.gap_advertise(ADV_INTERVAL_US, bytes(32))
        else:
            ble.gap_advertise((ADV_INTERVAL_US, ADV_INTERVAL_US, 0, None, ADV_INTERVAL_US, 0, -1,
                               ADV_INTERVAL_US)[i], ADV, connectable=(i != 7))
    elif name == 'gap_connect':
        i = args[0]
        if i == 2:
            ble.gap_connect(None)
        elif PEER is None or i == 3:
            ble.gap_connect(0, b'\x10\x20\x30\x40\x50\x60', 300)
        elif i == 4:
            ble.gap_connect(7, PEER[1], 300)
        elif i == 5:
            ble.gap_connect(PEER[0], PEER[1][:5], 300)
        elif i == 6:
            ble.gap_connect(PEER[0], None, 300)
        else:
            STATE['connecting'] = True
            ble.gap_connect(PEER[0], PEER[1], 2000)
    else:
        METHODS[kind](*[a for a in args if a is not OMIT])
    return conn


METHODS = []
STATS = {}


def _do(kind, draws, n, flag):
    """Makes one planned call, records it in the ring and the statistics."""
    _ring_put(n, kind, ST_ENTERED | flag, 0)
    conn = 0
    status = ST_RETURNED
    try:
        if kind == DISCONNECT:
            conn = arg('conn', draws[0])
            ble.gap_disconnect(conn)
        else:
            conn = _call(kind, draws)
    except Exception as e:
        status = ST_RAISED
        key = (type(e).__name__, e.errno if isinstance(e, OSError) else None)
        STATS[key] = STATS.get(key, 0) + 1
        if not isinstance(e, ALLOWED):
            bad = STATE['bad']
            if len(bad) < 20:
                bad.append((n, flag, describe(kind, draws), repr(e)))
    _ring_put(n, kind, status | flag, conn if isinstance(conn, int) else 0)


def setup(role, peer=None):
    """Registers the table (both ends: the same handles), listens on PSM; returns the handles."""
    global PEER, HANDLES, UUIDS, METHODS, ADV
    PEER = (peer[0], bytes.fromhex(peer[1])) if peer else None
    R, W, WN, N, I = 0x02, 0x08, 0x04, 0x10, 0x20
    svc = (bluetooth.UUID(0xFF00), (
        (bluetooth.UUID(0xFF01), R | W | N | I),
        (bluetooth.UUID(0xFF02), R | W | WN, ((bluetooth.UUID(0xFF10), R | W),)),
        (bluetooth.UUID(0xFF03), R | W),
    ))
    ((h1, h2, d1, k),) = ble.gatts_register_services((svc,))
    HANDLES = (h1, h2, d1, k)
    UUIDS = (bluetooth.UUID(0xFF00), bluetooth.UUID(0x2803), bluetooth.UUID('6e400001-b5a3-f393-e0a9-e50e24dcca9e'))
    ble.gatts_write(k, KNOWN)
    ble.l2cap_listen(PSM, 512)
    ADV = b'\x02\x01\x06\x07\x09apifuz'
    METHODS = [getattr(ble, c[0], None) for c in CALLS]
    if role == 'P':
        advertise()
    return HANDLES


def advertise():
    STATE['last_adv'] = time.ticks_ms()
    ble.gap_advertise(ADV_INTERVAL_US, ADV)


def maintain():
    """Brings the link back after a disconnect: the peripheral advertises, the central dials."""
    if LINKS:
        return
    if PEER is None:
        if time.ticks_diff(time.ticks_ms(), STATE['last_adv']) > 300:
            try:
                advertise()
            except OSError as e:
                k = ('maintain advertise', e.errno)
                STATS[k] = STATS.get(k, 0) + 1
    elif not STATE['connecting']:
        STATE['connecting'] = True
        try:
            ble.gap_connect(PEER[0], PEER[1], 2000)
        except OSError as e:
            k = ('maintain connect', e.errno)
            STATS[k] = STATS.get(k, 0) + 1
            STATE['connecting'] = e.errno == 114  # EALREADY: one is pending


def wait_for(cond, ms):
    t0 = time.ticks_ms()
    while not cond():
        if time.ticks_diff(time.ticks_ms(), t0) > ms:
            return False
        time.sleep_ms(2)
    return True


def link(ms=5000):
    """Central: connects to the peer; both: wait until a link is up. Returns the handle."""
    if PEER is not None and not LINKS:
        STATE['connecting'] = True
        ble.gap_connect(PEER[0], PEER[1], ms)
    if not wait_for(lambda: LINKS, ms):
        raise OSError(110)
    return LINKS[0]


def fuzz(seed, ms, nested_permille=30, disconnect_every=20000, hb_ms=100, upto=None, keep=None, exclude=(),
         small=False):
    """Random calls for ms milliseconds; returns a summary dict. To narrow a failure down:
    upto ends after that many calls; keep (a set of call numbers) makes only those calls (the
    others are still drawn, so every call keeps its number and arguments); exclude names call
    kinds never to make (to look past a known failure)."""
    rng = Rng(seed)
    table = STATE['table'] = kind_table(exclude)
    STATE['bufs'] = SMALL_BUFS if small else BUFS
    NESTED_RNG.x = Rng(seed ^ NESTED_SALT).x
    NESTED_GATE.x = Rng(seed ^ GATE_SALT).x
    STATE['bad'] = []
    STATE['nested'] = 0
    STATE['nest_ms'] = 0
    STATE['nested_permille'] = nested_permille
    STATS.clear()
    for i in range(40):
        EVENTS[i] = 0
    slow = []
    n = 0
    t_start = time.ticks_ms()
    next_hb = t_start
    STATE['fuzzing'] = True
    try:
        while True:
            now = time.ticks_ms()
            if time.ticks_diff(now, t_start) >= ms or n == upto:
                break
            if time.ticks_diff(now, next_hb) >= 0:
                print('HB', n, STATE['nested'])
                next_hb = time.ticks_add(now, hb_ms)
            if not LINKS:
                maintain()
            kind, draws = plan(rng, disconnect_every, table)
            if keep is not None and n not in keep:
                n += 1
                continue
            _ring_count(n)
            nest0 = STATE['nest_ms']
            _do(kind, draws, n, 0)
            dt = time.ticks_diff(time.ticks_ms(), now) - (STATE['nest_ms'] - nest0)
            if dt > SLOW_MS and len(slow) < 20:
                slow.append((n, describe(kind, draws), dt))
                print('SLOW', n, describe(kind, draws), dt)
            n += 1
    except KeyboardInterrupt:
        # The driver interrupts a call that hangs.
        print('INTERRUPTED', n)
        raise
    finally:
        STATE['fuzzing'] = False
    elapsed = time.ticks_diff(time.ticks_ms(), t_start)
    return {'calls': n, 'nested': STATE['nested'], 'ms': elapsed, 'slow': slow, 'bad': STATE['bad'],
            'exceptions': sorted(STATS.items(), key=lambda kv: -kv[1])[:16],
            'events': [(i, c) for i, c in enumerate(EVENTS) if c]}


# --- after the fuzz: is the stack still working? -------------------------------------------

def quiesce():
    """Stops what the fuzz may have left running; restores the values and listen MTU."""
    for f in (lambda: ble.gap_scan(None), lambda: ble.gap_connect(None)):
        try:
            f()
        except OSError:
            pass
    STATE['connecting'] = False
    for h in HANDLES:
        ble.gatts_set_buffer(h, 64)
    ble.gatts_write(HANDLES[3], KNOWN)
    ble.config(mtu=256)
    ble.l2cap_listen(PSM, 512)
    time.sleep_ms(100)
    return len(LINKS)


def probe():
    """Does the controller still carry out commands? ETIMEDOUT here means a wedged stack."""
    ble.gap_advertise(ADV_INTERVAL_US, ADV)
    ble.gap_advertise(None)
    return True


def drop_links(ms=5000):
    """Disconnects every link and waits until they are gone; returns how many there were."""
    n = len(LINKS)
    for c in list(LINKS):
        try:
            ble.gap_disconnect(c)
        except OSError:
            pass
    if not wait_for(lambda: not LINKS, ms):
        raise OSError(110)
    return n


def no_links(ms=5000):
    return wait_for(lambda: not LINKS, ms)


def post_advertise():
    STATE['log'] = POST
    POST.clear()
    advertise()
    return True


def post_connect(ms=5000):
    """Central: a new link to the peer; returns its handle."""
    STATE['log'] = POST
    POST.clear()
    STATE['connecting'] = True
    t0 = time.ticks_ms()
    while True:
        try:
            ble.gap_connect(PEER[0], PEER[1], ms)
            break
        except OSError as e:
            # A connect the fuzz started (or its cancellation) may still be winding down.
            if e.errno != 114 or time.ticks_diff(time.ticks_ms(), t0) > 6000:
                raise
            time.sleep_ms(50)
    if not wait_for(lambda: LINKS, ms + 500):
        raise OSError(110)
    return LINKS[0]


def next_event(code, ms=5000, match=None):
    """The first kept event `code` (whose fields start with match); removed from the log."""
    found = []

    def look():
        for e in POST:
            if e[0] == code and (match is None or e[1:1 + len(match)] == match):
                found.append(e)
                POST.remove(e)
                return True
        return False

    if not wait_for(look, ms):
        raise OSError(110)
    return found[0]


def post_read():
    """Central: reads the known value on the live link."""
    conn = LINKS[0]
    ble.gattc_read(conn, HANDLES[3])
    data = next_event(15, match=(conn, HANDLES[3]))[3]
    status = next_event(16, match=(conn, HANDLES[3]))[3]
    return data, status


def post_write(value):
    """Central: a write with response; returns its status."""
    conn = LINKS[0]
    ble.gattc_write(conn, HANDLES[1], value, 1)
    return next_event(17, match=(conn, HANDLES[1]))[3]


def last_write():
    """Peripheral: the value of the last GATTS_WRITE to the second characteristic."""
    next_event(3, match=(LINKS[0], HANDLES[1]))
    return ble.gatts_read(HANDLES[1])


def post_notify(value):
    ble.gatts_notify(LINKS[0], HANDLES[0], value)
    return True


def got_notify():
    return next_event(18, match=(LINKS[0], HANDLES[0]))[3]


def post_l2cap_connect():
    """Central: opens a channel to the peer's PSM; returns its cid."""
    conn = LINKS[0]
    ble.l2cap_connect(conn, PSM, 512)
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < 5000:
        for e in POST:
            if e[0] == 23 and e[1] == conn:
                POST.remove(e)
                return e[2]
            if e[0] == 24 and e[1] == conn:
                raise ValueError('l2cap_connect refused: L2CAP_DISCONNECT %r' % (e,))
        time.sleep_ms(2)
    raise ValueError('l2cap_connect: no L2CAP_CONNECT in 5 s; events %r' % (POST[-8:],))


def l2cap_accepted():
    return next_event(23, match=(LINKS[0],))[2]


def l2cap_send(cid, n):
    return ble.l2cap_send(LINKS[0], cid, bytes(i & 0xFF for i in range(n)))


def l2cap_recv(cid, n, ms=5000):
    """Reads n bytes from the channel (bounded); returns whether they are the ones sent."""
    buf = bytearray(512)
    got = bytearray()
    t0 = time.ticks_ms()
    while len(got) < n and time.ticks_diff(time.ticks_ms(), t0) < ms:
        k = ble.l2cap_recvinto(LINKS[0], cid, buf)
        if k:
            got.extend(buf[:k])
        else:
            time.sleep_ms(2)
    return bytes(got) == bytes(i & 0xFF for i in range(n))
