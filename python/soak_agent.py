# The firmware side of the soak (python/soak.py): handlers for tests/fwproc.py's agent.
#
# Both ends register the same table: NOTIFY (the peripheral notifies epoch and sequence
# numbers on it), ACK (the central writes the highest one it got), OFFSET (how many L2CAP
# stream bytes the peripheral has; the central reads it after every reconnect and resumes the
# stream there), CTRL (a write asks the peripheral to drop the link) and KNOWN.
#
# loop(ms) runs an end's work until stop() while still answering the driver: every line on
# stdin is evaluated as in the agent loop (OK/ERR), so the driver can drop the link or ask for
# the figures while the soak runs.
import time, select, binascii, gc

PSM = 0x81
KNOWN = b'soak known value'
PAT = bytes(range(256)) * 2  # stream byte i is PAT[(i >> 8) * 31 % 256 + (i & 255)]
SDU_MAX = 480  # payload bytes per SDU (plus an 8-byte offset header; MTU 512)
NOTIFY_EVERY_MS = 2
ACK_EVERY = 20

LINKS = []
EV = []  # (event, fields...) kept for the cycle phase
S = {
    'stop': False, 'keep': False, 'adv': False, 'connecting': False, 'peer': None,
    # peripheral: notifications and the received stream
    'epoch': 0, 'seq': 0, 'epochs': [], 'notify': False, 'notify_errors': {},
    'rx': 0, 'rx_lost': 0, 'rx_dup': 0, 'rx_bad': 0, 'rx_crc': 0, 'cids': [],
    # central: received notifications and the sent stream
    'got': {}, 'since_ack': 0, 'last_got': None, 'tx': 0, 'tx_target': None, 'tx_crc_len': 0,
    'cid': None, 'state': 'idle', 'can_send': False, 'send_errors': {}, 'sdus': 0,
    'drops': 0, 'cmds': 0, 'streaming': False,
}
H = {}


def _stream(off, n):
    """n bytes of the stream at offset off (within one 256-byte block or spanning several)."""
    out = bytearray()
    while n:
        b, j = off >> 8, off & 255
        k = min(n, 256 - j)
        s = (b * 31) & 255
        out.extend(PAT[s + j:s + j + k])
        off += k
        n -= k
    return out


def warm():
    """Touches the whole MicroPython heap once, so the process's resident memory starts at its
    working size and any growth later is the process's, not the heap filling up."""
    chunks = []
    try:
        while True:
            chunks.append(bytearray(32768))
    except MemoryError:
        pass
    n = len(chunks)
    chunks = None
    gc.collect()
    return n


def setup(role, peer=None):
    R, W, WN, N = 0x02, 0x08, 0x04, 0x10
    svc = (bluetooth.UUID(0xFE00), (
        (bluetooth.UUID(0xFE01), R | N),
        (bluetooth.UUID(0xFE02), R | W | WN),
        (bluetooth.UUID(0xFE03), R),
        (bluetooth.UUID(0xFE04), R | W | WN),
        (bluetooth.UUID(0xFE05), R),
    ))
    ((H['notify'], H['ack'], H['offset'], H['ctrl'], H['known']),) = ble.gatts_register_services((svc,))
    ble.gatts_write(H['known'], KNOWN)
    ble.gatts_write(H['offset'], b'\0' * 8)
    ble.l2cap_listen(PSM, 512)
    warm()
    S['role'] = role
    if peer:
        S['peer'] = (peer[0], bytes.fromhex(peer[1]))
    return gc.mem_alloc()


EVC = [0] * 32  # events seen, by number


def irq(ev, data):
    if ev < 32:
        EVC[ev] += 1
    if ev == 1 or ev == 7:  # a link came up
        S['connecting'] = False
        if data[0] != 65535:
            LINKS.append(data[0])
            if ev == 1:
                S['adv'] = False
                if S['streaming']:
                    # epoch, link, first seq, last seq sent, highest acked. (Kept only while
                    # streaming: one small live object per link in the cycle phase would
                    # scatter across the heap and fragment it.)
                    S['epoch'] += 1
                    S['epochs'].append([S['epoch'], data[0], S['seq'], None, None])
            else:
                S['state'] = 'linked'
    elif ev == 2 or ev == 8:
        S['connecting'] = False
        if data[0] in LINKS:
            LINKS.remove(data[0])
        if ev == 8:
            S['state'] = 'idle'
            S['cid'] = None
            S['can_send'] = False
    elif ev == 3:  # GATTS_WRITE
        h = data[1]
        if h == H['ack']:
            v = ble.gatts_read(h)
            if len(v) == 8:
                e, q = int.from_bytes(v[:4], 'little'), int.from_bytes(v[4:], 'little')
                for rec in S['epochs']:
                    if rec[0] == e:
                        rec[4] = q
        elif h == H['ctrl'] and data[0] in LINKS:
            S['drops'] += 1
            ble.gap_disconnect(data[0])
    elif ev == 4:  # read request: OFFSET must count every byte still readable
        if data[1] == H['offset']:
            for conn, cid in list(S['cids']):
                _drain(conn, cid)
            ble.gatts_write(H['offset'], S['rx'].to_bytes(8, 'little'))
        return 0
    elif ev == 22:
        return 0
    elif ev == 23:
        if S['role'] == 'P':
            S['cids'].append((data[0], data[1]))
        else:
            S['cid'] = data[1]
            S['state'] = 'streaming'
            S['can_send'] = True
    elif ev == 24:
        c = (data[0], data[1])
        if c in S['cids']:
            _drain(*c)
            S['cids'].remove(c)
        if S['role'] == 'C' and (S['cid'] == data[1] or S['state'] == 'opening'):
            # The channel closed, or opening it failed: read OFFSET again and reopen.
            S['cid'] = None
            S['can_send'] = False
            S['state'] = 'linked' if LINKS else 'idle'
    elif ev == 25:
        _drain(data[0], data[1])
    elif ev == 26:
        S['can_send'] = True
    elif ev == 15:  # the OFFSET read: resume the stream there
        if data[1] == H['offset'] and S['state'] == 'reading':
            S['tx'] = int.from_bytes(bytes(data[2]), 'little')
            S['state'] = 'resume'
    elif ev == 16:
        if data[1] == H['offset'] and data[2] != 0 and S['state'] == 'reading':
            S['state'] = 'linked'  # read again
    elif ev == 18:
        _notified(bytes(data[2]))
    elif ev == 29:
        return None
    elif ev == 30:
        return True
    if S['keep'] and len(EV) < 200:
        EV.append((ev,) + tuple(bytes(x) if isinstance(x, memoryview) else x for x in data))


RXBUF = bytearray(520)


def _drain(conn, cid):
    """Reads every whole SDU waiting on a channel and checks it against the stream."""
    while True:
        try:
            n = ble.l2cap_recvinto(conn, cid, RXBUF)
        except OSError:
            return
        if not n:
            return
        if n < 8:
            S['rx_bad'] += n
            continue
        off = int.from_bytes(RXBUF[:8], 'little')
        size = n - 8
        if off > S['rx']:
            S['rx_lost'] += off - S['rx']
        elif off < S['rx']:
            S['rx_dup'] += min(size, S['rx'] - off)
        if off + size > S['rx']:
            # Check and count only what is new; a gap was already counted as lost.
            start = max(off, S['rx'])
            payload = RXBUF[8 + start - off:n]
            if payload != _stream(start, len(payload)):
                S['rx_bad'] += len(payload)
            S['rx_crc'] = binascii.crc32(payload, S['rx_crc'])
            S['rx'] = off + size


def _notified(v):
    if len(v) < 8:
        return
    e, q = int.from_bytes(v[:4], 'little'), int.from_bytes(v[4:8], 'little')
    r = S['got'].get(e)
    if r is None:
        # first, last, count, gaps, out of order or repeated
        S['got'][e] = [q, q, 1, 0, 0]
    elif q == r[1] + 1:
        r[1] = q
        r[2] += 1
    elif q > r[1]:
        r[3] += q - r[1] - 1
        r[1] = q
        r[2] += 1
    else:
        r[4] += 1
    S['last_got'] = (e, q)
    S['since_ack'] += 1


# --- the connect/disconnect cycles -----------------------------------------------------------

def wait_ev(code, ms=5000):
    t0 = time.ticks_ms()
    while True:
        for i, e in enumerate(EV):
            if e[0] == code:
                return EV.pop(i)
        if time.ticks_diff(time.ticks_ms(), t0) > ms:
            return None
        time.sleep_ms(1)


def cycles_server(n, idle_ms=15000):
    """Peripheral: advertises again after every disconnect until n links came and went."""
    S['keep'] = True
    EV.clear()
    done = fails = 0
    t_last = time.ticks_ms()
    while done < n:
        if not LINKS and not S['adv']:
            try:
                ble.gap_advertise(20_000, b'\x02\x01\x06\x05\x09soak')
                S['adv'] = True
            except OSError:
                fails += 1
                time.sleep_ms(50)
        e = wait_ev(2, 50)
        if e is not None:
            done += 1
            t_last = time.ticks_ms()
            EV.clear()
        elif time.ticks_diff(time.ticks_ms(), t_last) > idle_ms:
            break
    S['keep'] = False
    return {'cycles': done, 'adv_errors': fails, 'mem': gc.mem_alloc()}


def cycles_client(n):
    """Central: n times connect, read KNOWN, disconnect (even: we do; odd: the peer, asked via CTRL)."""
    S['keep'] = True
    EV.clear()
    fails = []
    t0 = time.ticks_ms()
    streak = 0
    for i in range(n):
        if len(fails) > streak and fails[-1][0] == i - 1:
            streak += 1
            print('FAIL', fails[-1])
            if streak >= 5:
                break  # five cycles in a row failed: the stack no longer connects
        else:
            streak = 0
        peer = S['peer']
        try:
            ble.gap_connect(peer[0], peer[1], 5000)
        except OSError as e:
            fails.append((i, 'connect', e.errno))
            time.sleep_ms(100)
            continue
        e = wait_ev(7, 6000)
        if e is None or e[1] == 65535:
            fails.append((i, 'no link', e))
            try:
                ble.gap_connect(None)
            except OSError:
                pass
            continue
        conn = e[1]
        ble.gattc_read(conn, H['known'])
        r = wait_ev(15)
        d = wait_ev(16)
        if r is None or r[3] != KNOWN or d is None or d[3] != 0:
            fails.append((i, 'read', r, d))
        if i % 2:
            ble.gattc_write(conn, H['ctrl'], b'D', 1)
        else:
            ble.gap_disconnect(conn)
        if wait_ev(8) is None:
            fails.append((i, 'no disconnect'))
            try:
                ble.gap_disconnect(conn)
            except OSError:
                pass
            wait_ev(8)
        EV.clear()
        if i % 100 == 99:
            print('CYCLES', i + 1, len(fails), time.ticks_diff(time.ticks_ms(), t0))
    S['keep'] = False
    return {'cycles': i + 1, 'failures': fails[:20], 'failed': len(fails), 'mem': gc.mem_alloc()}


# --- notifications plus L2CAP streaming, with drops --------------------------------------------

def drop():
    """Disconnects the link (the driver's random drop); True if there was one."""
    if LINKS:
        S['drops'] += 1
        ble.gap_disconnect(LINKS[0])
        return True
    return False


def stop():
    S['stop'] = True
    return True


def quiet():
    """Peripheral: no more notifications. Central: send only up to the offset reached."""
    if S['role'] == 'P':
        S['notify'] = False
        return S['seq']
    S['tx_target'] = S['tx']
    return S['tx']


def status():
    return {'links': len(LINKS), 'seq': S['seq'], 'rx': S['rx'], 'tx': S['tx'], 'state': S['state'],
            'drops': S['drops'], 'mem': gc.mem_alloc(), 'epochs': S['epoch'], 'got': len(S['got']),
            'events': [(i, n) for i, n in enumerate(EVC) if n], 'errors': (S['notify_errors'], S['send_errors']),
            'connecting': S['connecting'], 'advertising': S['adv'], 'connect_errors': S.get('connect_errors')}


def _step_p(now):
    if not LINKS:
        if not S['adv']:
            try:
                ble.gap_advertise(20_000, b'\x02\x01\x06\x05\x09soak')
                S['adv'] = True
            except OSError as e:
                S['notify_errors'][('adv', e.errno)] = S['notify_errors'].get(('adv', e.errno), 0) + 1
        return
    if S['notify'] and S['notify_ms'] and time.ticks_diff(now, S.get('t_notify', 0)) >= S['notify_ms']:
        S['t_notify'] = now
        rec = S['epochs'][-1]
        q = S['seq']
        try:
            ble.gatts_notify(LINKS[0], H['notify'], rec[0].to_bytes(4, 'little') + q.to_bytes(4, 'little'))
        except OSError as e:
            S['notify_errors'][e.errno] = S['notify_errors'].get(e.errno, 0) + 1
            return
        rec[3] = q
        S['seq'] = q + 1


def _step_c(now):
    st = S['state']
    if not LINKS:
        if not S['connecting']:
            S['connecting'] = True
            try:
                ble.gap_connect(S['peer'][0], S['peer'][1], 3000)
            except OSError as e:
                S['connecting'] = e.errno == 114
                errs = S.setdefault('connect_errors', {})
                errs[e.errno] = errs.get(e.errno, 0) + 1
        return
    conn = LINKS[0]
    if S['since_ack'] >= ACK_EVERY and S['last_got']:
        e, q = S['last_got']
        try:
            ble.gattc_write(conn, H['ack'], e.to_bytes(4, 'little') + q.to_bytes(4, 'little'), 0)
            S['since_ack'] = 0
        except OSError:
            pass
    if st == 'linked' and S['sdu_max']:
        try:
            ble.gattc_read(conn, H['offset'])
            S['state'] = 'reading'
        except OSError:
            pass
    elif st == 'resume':
        try:
            ble.l2cap_connect(conn, PSM, 512)
            S['state'] = 'opening'
        except OSError as e:
            S['send_errors'][('connect', e.errno)] = S['send_errors'].get(('connect', e.errno), 0) + 1
    elif st == 'streaming':
        for _ in range(S['sends']):
            if not S['can_send'] or S['cid'] is None:
                break
            target = S['tx_target']
            off = S['tx']
            size = 1 + (off * 7 + S['sdus']) % S['sdu_max']
            if target is not None:
                size = min(size, target - off)
                if size <= 0:
                    break
            sdu = off.to_bytes(8, 'little') + _stream(off, size)
            try:
                # False: stalled until SEND_READY
                S['can_send'] = ble.l2cap_send(conn, S['cid'], sdu)
            except OSError as e:
                S['send_errors'][e.errno] = S['send_errors'].get(e.errno, 0) + 1
                S['can_send'] = False
                break
            S['tx'] = off + size
            S['sdus'] += 1


def loop(notify_ms=NOTIFY_EVERY_MS, sdu_max=SDU_MAX, sends_per_step=4):
    """Runs this end's part until stop(), evaluating the driver's lines meanwhile."""
    S['notify_ms'], S['sdu_max'], S['sends'] = notify_ms, sdu_max, sends_per_step
    S['stop'] = False
    S['streaming'] = True
    S['notify'] = S['role'] == 'P'
    if S['role'] == 'P' and LINKS:
        # A link already up when streaming starts is the first epoch.
        S['epoch'] += 1
        S['epochs'].append([S['epoch'], LINKS[0], S['seq'], None, None])
    sp = select.poll()
    sp.register(sys.stdin, select.POLLIN)
    step = _step_p if S['role'] == 'P' else _step_c
    while not S['stop']:
        now = time.ticks_ms()
        try:
            step(now)
        except IndexError:
            pass  # the link went (an IRQ ran between a check of LINKS and its use): next step

        if sp.poll(0 if S['state'] == 'streaming' else 1):
            line = sys.stdin.readline()
            S['cmds'] += 1
            try:
                print('OK', repr(eval(line)))
            except Exception as e:
                print('ERR', repr(e))
    if S['role'] == 'P':
        for conn, cid in list(S['cids']):
            _drain(conn, cid)
        return {'epochs': S['epochs'], 'seq': S['seq'], 'rx': S['rx'], 'rx_lost': S['rx_lost'],
                'rx_dup': S['rx_dup'], 'rx_bad': S['rx_bad'], 'rx_crc': S['rx_crc'],
                'errors': S['notify_errors'], 'drops': S['drops'], 'mem': gc.mem_alloc()}
    return {'got': S['got'], 'tx': S['tx'], 'errors': S['send_errors'], 'sdus': S['sdus'],
            'drops': S['drops'], 'mem': gc.mem_alloc()}
