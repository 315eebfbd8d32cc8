"""gdb helper (gdb -ex "source python/gdb_trouble.py"): trouble-host's connection table of a live
firmware built with symbols. gdb cannot evaluate the stack's statics directly (they hold 128-bit
integers), so the table is read as raw memory at the offsets the debug info gives."""
import gdb
def _field(t, name):
    for f in t.strip_typedefs().fields():
        if f.name == name:
            return f
    raise KeyError(name)
def conns():
    """Prints each entry's state (variant index), connection handle and holder count."""
    sym = gdb.lookup_static_symbol('mptrouble::stack::STATICS') or gdb.lookup_global_symbol('mptrouble::stack::STATICS')
    text = gdb.execute('info address mptrouble::stack::STATICS', to_string=True)
    base = int(text.split('address ')[1].split()[0].rstrip('.'), 16)
    t, off = sym.type, 0
    for name in ('resources', 'value', 'connections', 'value', 'value', '__0', 'value', 'value'):
        f = _field(t, name)
        off, t = off + f.bitpos // 8, f.type
    elem = t.strip_typedefs().target()
    n = t.strip_typedefs().range()[1] + 1
    fo = {name: _field(elem, name).bitpos // 8 for name in ('state', 'handle', 'refcount')}
    mem = gdb.selected_inferior().read_memory(base + off, n * elem.sizeof).tobytes()
    out = []
    for i in range(n):
        s = mem[i * elem.sizeof:(i + 1) * elem.sizeof]
        out.append({'state': s[fo['state']], 'handle': int.from_bytes(s[fo['handle']:fo['handle'] + 2], 'little'),
                    'refcount': s[fo['refcount']]})
    states = [f.name for f in _field(elem, 'state').type.strip_typedefs().fields()]
    print('trouble connections:', out, 'state variants', states)
conns()
