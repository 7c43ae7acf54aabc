# fakekernel.py: checks the Keyfish images before a Keyfish kernel exists.
#
# qemu-riscv64 runs one image with its gdb stub; gdb-multiarch runs this
# script, which plays the kernel: every ecall is a breakpoint, decoded with
# the abi.Ecall convention and answered here (console, bank, pages, the red
# node, a pong, pager's stats, the exit key), and faults in the heap
# (0x1000_0000..) and in the red segment at 0x2000_0000 are served by mapping
# a zero page into the guest with an injected mmap. It models only what the
# examples use, and a message to a server (pong, pager) comes from a fixed
# script. At entry it sets a0 = argc and a1 = argv from qemu's Linux stack,
# as the Keyfish loader passes them.
#
# Run by `make -C sdk test-fake` (which needs gdb-multiarch):
#   KF_ELF=image KF_SCEN=scenario [KF_ARGS="args"] gdb-multiarch -batch -x fakekernel.py
# It prints "fakekernel: SCENARIO ok" or "fakekernel: FAIL ..." and exits 0 or 1.
import gdb, os, struct, subprocess, sys, time, socket

ELF = os.environ['KF_ELF']
SCEN = os.environ['KF_SCEN']
ARGS = os.environ.get('KF_ARGS', '').split()
MASK = (1 << 64) - 1

def free_port():
    s = socket.socket(); s.bind(('127.0.0.1', 0)); p = s.getsockname()[1]; s.close(); return p

port = free_port()
qemu = subprocess.Popen(['qemu-riscv64', '-g', str(port), ELF] + ARGS)
time.sleep(0.3)
gdb.execute('set pagination off')
gdb.execute('set confirm off')
gdb.execute('file ' + ELF)
gdb.execute('target remote 127.0.0.1:%d' % port)
gdb.execute('handle SIGSEGV stop print nopass')
inf = gdb.selected_inferior()

def reg(n):
    return int(gdb.parse_and_eval('(unsigned long)$' + n)) & MASK
def sreg(n):
    v = reg(n)
    return v - (1 << 64) if v >> 63 else v
def setreg(n, v):
    gdb.execute('set $%s = %d' % (n, v & MASK))
def rmem(a, n):
    return bytes(inf.read_memory(a, n)) if n else b''
def wmem(a, b):
    if b:
        inf.write_memory(a, b)

out = []
def fail(msg):
    print('fakekernel: %s FAIL: %s' % (SCEN, msg))
    print('fakekernel: console so far: %r' % ''.join(out))
    qemu.kill()
    gdb.execute('quit 1')

ecalls = []
for line in subprocess.check_output(['riscv64-unknown-elf-objdump', '-d', ELF], text=True).splitlines():
    if line.strip().endswith('\tecall') or '\tecall' in line:
        ecalls.append(int(line.split(':')[0], 16))
ecallset = set(ecalls)

DK0 = ('data', 0)
keys = [DK0] * 16
keys[1] = ('console',)
keys[2] = ('bank',)
keys[3] = ('meter',)
keys[5] = ('exit',)
state = {'bought': 0, 'limit': 1 << 30, 'served': 0, 'heapfaults': 0, 'mapped': set(),
         'exit': None, 'events': [], 'pong_bad_at': None}

if SCEN == 'ping':
    keys[8] = ('pong',)
elif SCEN == 'ping-bad':
    keys[8] = ('pong',); state['pong_bad_at'] = 7
elif SCEN == 'pagertest':
    keys[8] = ('pagerstats',)
elif SCEN == 'outgrow':
    state['limit'] = 37

# Messages the servers (pong, pager) receive, in order.
def trap(addr, off, detail, access=1):
    return struct.pack('<6Q', 4, 0x12345, addr, access, detail, off)
queue = []
if SCEN == 'pong':
    queue = [
        (5, b'hello', [DK0, DK0, DK0, ('resume', 1)], 0),
        (-3 & MASK, bytes(range(256)) * 16, [('console',), DK0, DK0, ('resume', 2)], 7),
        (9, b'no resume key', [DK0, DK0, DK0, DK0], 0),
        (41, b'', [DK0, DK0, DK0, ('resume', 3)], 0),
    ]
elif SCEN == 'pager':
    queue = [
        (4, trap(0x20003010, 0x3010, 1), [('rednode',), DK0, DK0, ('restart', 1)], 0),
        (4, trap(0x2000d000, 0xd000, 1, 0), [('rednode',), DK0, DK0, ('restart', 2)], 0),
        (4, trap(0x2000e000, 0xe000, 1), [('rednode',), DK0, DK0, ('restart', 3)], 0),
        (4, trap(0x20001000, 0x1000, 2), [('rednode',), DK0, DK0, ('restart', 4)], 0),
        (1, b'', [DK0, DK0, DK0, ('resume', 5)], 0),
        (77, b'', [DK0, DK0, DK0, ('resume', 6)], 0),
    ]

def service(key, order, s, skeys):
    """A CALL: returns (rc, string, keys, data)."""
    k = key[0]
    if k == 'data':
        return key[1], b'', [DK0] * 4, -1
    if k == 'console':
        if order != 1:
            return -1, b'', [DK0] * 4, -1
        if len(s) > 4096:
            fail('console string too long')
        out.append(s.decode('latin1'))
        return 0, b'', [DK0] * 4, -1
    if k == 'bank':
        if order == 1:
            if state['bought'] >= state['limit']:
                return -4, b'', [DK0] * 4, -1
            state['bought'] += 1
            return 0, b'', [('page', state['bought']), DK0, DK0, DK0], -1
        if order == 6:
            state['events'].append(('sell', skeys[0]))
            return 0, b'', [DK0] * 4, -1
        return -1, b'', [DK0] * 4, -1
    if k == 'page':
        if order == 3:
            state['events'].append(('clear', key))
            return 0, b'', [DK0] * 4, -1
        return -1, b'', [DK0] * 4, -1
    if k == 'rednode':
        if order == 2:
            slot = struct.unpack('<Q', s[:8])[0]
            state['events'].append(('swap', slot, skeys[0]))
            return 0, b'', [DK0] * 4, -1
        return -1, b'', [DK0] * 4, -1
    if k == 'pong':
        i = state.setdefault('pongs', 0)
        state['pongs'] += 1
        if state['pong_bad_at'] == i:
            return order + 2, s, [DK0] * 4, 0
        return order + 1, s, [DK0] * 4, 0
    if k == 'pagerstats':
        if order != 1:
            return -1, b'', [DK0] * 4, -1
        return state['served'], b'', [DK0] * 4, 0
    fail('CALL to unexpected key %r order %d' % (key, order))

def deliver(rc, s, mkeys, data, rbuf, rcap, rkeys):
    wmem(rbuf, s[:rcap])
    for i in range(4):
        if rkeys[i]:
            keys[rkeys[i]] = mkeys[i]
    setreg('a0', rc)
    setreg('a1', len(s))
    setreg('a2', data)
    setreg('pc', reg('pc') + 4)

def mmap_page(addr):
    """Run an mmap syscall in the guest to map a zero page at addr."""
    saved = {r: reg(r) for r in ['pc', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a7']}
    for r, v in [('a0', addr), ('a1', 4096), ('a2', 3), ('a3', 0x32), ('a4', MASK), ('a5', 0), ('a7', 222), ('pc', ecalls[0])]:
        setreg(r, v)
    gdb.execute('disable', to_string=True)
    r = gdb.execute('stepi', to_string=True)
    gdb.execute('enable', to_string=True)
    got = reg('a0')
    for r, v in saved.items():
        setreg(r, v)
    if got != addr:
        fail('mmap of 0x%x gave 0x%x' % (addr, got))

XN = ['zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 's0', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5',
      'a6', 'a7', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6']
def x(i):
    return 0 if i == 0 else reg(XN[i])
def sext(v, bits):
    return v - (1 << bits) if v >> (bits - 1) else v
def fault_addr(pc):
    ins = struct.unpack('<I', rmem(pc, 4))[0]
    if ins & 3 == 3:
        op = ins & 0x7f; rs1 = (ins >> 15) & 31
        if op == 0x03:
            imm = sext(ins >> 20, 12)
        elif op == 0x23:
            imm = sext(((ins >> 25) << 5) | ((ins >> 7) & 31), 12)
        elif op == 0x2f:
            imm = 0
        else:
            fail('fault on non-memory instruction 0x%x at 0x%x' % (ins, pc))
        return (x(rs1) + imm) & MASK
    c = ins & 0xffff
    if c & 3 == 0:
        f3 = c >> 13; rs1 = ((c >> 7) & 7) + 8
        base = ((c >> 10) & 7) << 3
        if f3 in (2, 6):
            imm = base | (((c >> 6) & 1) << 2) | (((c >> 5) & 1) << 6)
        elif f3 in (3, 7):
            imm = base | (((c >> 5) & 3) << 6)
        else:
            fail('fault on compressed 0x%x' % c)
        return (x(rs1) + imm) & MASK
    fail('fault on compressed 0x%x at 0x%x' % (c, pc))

# Entry: the loader's argument handoff.
if reg('pc') != int(gdb.parse_and_eval('(unsigned long)_start')):
    fail('not at _start')
sp = reg('sp')
setreg('a0', struct.unpack('<Q', rmem(sp, 8))[0])
setreg('a1', sp + 8)
for a in ecalls:
    gdb.execute('break *0x%x' % a, to_string=True)

replies = []
steps = 0
while True:
    steps += 1
    if SCEN == 'spinner' and out and ''.join(out).endswith('\n'):
        gdb.execute('delete', to_string=True)
        pcs = set()
        for i in range(3000):
            gdb.execute('stepi', to_string=True)
            if i >= 2000:
                pcs.add(reg('pc'))
        if len(pcs) > 3:
            fail('spinner loop is not tight')
        break
    try:
        gdb.execute('continue', to_string=True)
    except gdb.error as e:
        fail('continue: %s' % e)
    if not gdb.selected_inferior().pid:
        fail('program ended outside exit')
    pc = reg('pc')
    if pc in ecallset:
        desc = reg('a0'); order = sreg('a1')
        kr = desc & 15; typ = desc >> 8
        if desc & ~0x3ff:
            fail('bad descriptor %x' % desc)
        s = rmem(reg('a2'), reg('a3'))
        sk = [keys[(reg('a4') >> (4 * i)) & 15] for i in range(4)]
        rbuf, rcap = reg('a5'), reg('a6')
        rk = [(reg('a7') >> (4 * i)) & 15 for i in range(4)]
        key = keys[kr]
        if typ == 0:
            rc, rs, mk, data = service(key, order, s, sk)
            deliver(rc, rs, mk, data, rbuf, rcap, rk)
        elif typ == 1:
            if key == ('exit',):
                state['exit'] = order
                if s or reg('a4'):
                    fail('exit sent a string or keys')
                break
            if key[0] in ('resume', 'restart'):
                replies.append((key, order, s))
            elif key != DK0:
                fail('RETURN to %r' % (key,))
            else:
                replies.append(('wait',))
            if not queue:
                break
            m = queue.pop(0)
            deliver(m[0], m[1], m[2], m[3], rbuf, rcap, rk)
        else:
            fail('FORK')
    else:
        # A fault: find the address from the instruction's effect.
        addr = fault_addr(pc)
        page = addr & ~0xfff
        if 0x10000000 <= addr < 0x20000000:
            state['heapfaults'] += 1
        elif 0x20000000 <= addr < 0x20010000 and SCEN == 'pagertest':
            if (addr - 0x20000000) // 4096 >= 14:
                fail('fault beyond the mapping slots at 0x%x' % addr)
            state['served'] += 1
        else:
            fail('fault at 0x%x pc 0x%x' % (addr, pc))
        if page in state['mapped']:
            fail('second fault on page 0x%x pc 0x%x readable=%r' % (page, pc, rmem(page, 8)))
        state['mapped'].add(page)
        mmap_page(page)

qemu.kill()

def expect(what, got, want):
    if got != want:
        fail('%s: got %r, want %r' % (what, got, want))

console = ''.join(out)
EXPECT = {
    'hello': ('hello from keyfish\nargc=3\nargv[0]=%s\nargv[1]=one\nargv[2]=two\n' % ELF, 0),
    'ping': ('ping: 50 round trips ok\n', 0),
    'ping-bad': ('ping: round trip 7: got order 9, length 8, word 7\n', 1),
    'outgrow': ('outgrow: bank refused after 37 pages\n', 0),
    'compute': ('compute: checksum 0x9404766ec14ff640\n', 0),
    'pagertest': ('pagertest: 10 pages ok, pager served 10 faults\n', 0),
    'malloc': ('malloc: ok\n', 0),
    'spinner': ('spinner: start\n', None),
    'pong': ('', None),
    'pager': ('pager: cannot serve fault at 0x2000e000 (offset 0xe000, detail 1): offset beyond the mapping slots\n'
              'pager: cannot serve fault at 0x20001000 (offset 0x1000, detail 2): not a missing page\n', None),
}
want_console, want_exit = EXPECT[SCEN]
expect('console', console, want_console)
expect('exit status', state['exit'], want_exit)
if SCEN == 'pagertest':
    expect('pages mapped', len(state['mapped']), 10)
if SCEN == 'malloc':
    expect('heap pages over 1 MiB', state['heapfaults'] >= 256, True)
if SCEN == 'pong':
    expect('replies', [(r[0], r[1], r[2]) if len(r) > 1 else r for r in replies], [
        ('wait',),
        (('resume', 1), 6, b'hello'),
        (('resume', 2), -2, bytes(range(256)) * 16),
        ('wait',),
        (('resume', 3), 42, b''),
    ])
if SCEN == 'pager':
    expect('replies', [(r[0], r[1], r[2]) if len(r) > 1 else r for r in replies], [
        ('wait',),
        (('restart', 1), 0, b''),
        (('restart', 2), 0, b''),
        ('wait',),
        ('wait',),
        (('resume', 5), 2, b''),
        (('resume', 6), -1, b''),
    ])
    expect('kernel calls', state['events'], [
        ('clear', ('page', 1)), ('swap', 3, ('page', 1)),
        ('clear', ('page', 2)), ('swap', 13, ('page', 2)),
    ])
print('fakekernel: %s ok' % SCEN)
gdb.execute('quit 0')
