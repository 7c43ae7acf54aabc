// Package linuxsim runs a static RV64 Linux ELF executable on the rv64
// interpreter by itself, with a minimal Linux system call shim: write to
// stdout and stderr, exit, exit_group and brk; every other system call
// returns -ENOSYS. It exists to compare the interpreter with qemu-riscv64 on
// the same binary (differential tests, benchmarks); it is not the kernel.
package linuxsim

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"

	"github.com/keyfish-os/keyfish/internal/mem"
	"github.com/keyfish-os/keyfish/internal/rv64"
)

// Linux RISC-V system call numbers handled by the shim.
const (
	sysWrite     = 64
	sysExit      = 93
	sysExitGroup = 94
	sysBrk       = 214
	enosys       = 38
	ebadf        = 9
	efault       = 14
)

// Memory layout of the simulated process.
const (
	stackTop  = 0x3f_ffff_f000 // one past the highest stack byte
	stackSize = 8 << 20
	brkLimit  = 1 << 30  // the heap may grow this far past the program
	maxImage  = 64 << 20 // total bytes of PT_LOAD segments accepted
)

// perm bits of a mapped page.
const (
	permR = 1 << iota
	permW
	permX
)

type page struct {
	p    *mem.Page
	perm uint8
}

// Memory is a simple address space: a map from virtual page number to page,
// plus read-write ranges whose pages are made (zero-filled) on first touch.
// It implements rv64.Translator.
type Memory struct {
	pages map[uint64]page
	lazy  []lazyRange
}

// lazyRange is [lo, hi) of demand-zero read-write memory.
type lazyRange struct{ lo, hi uint64 }

// NewMemory returns an empty address space.
func NewMemory() *Memory { return &Memory{pages: make(map[uint64]page)} }

// MapLazy makes [addr, addr+size) read-write memory whose pages are created
// zero-filled when first touched. It returns the range's index, for
// SetLazyEnd.
func (m *Memory) MapLazy(addr, size uint64) int {
	m.lazy = append(m.lazy, lazyRange{addr, addr + size})
	return len(m.lazy) - 1
}

// SetLazyEnd moves the end of lazy range i (pages already made stay).
func (m *Memory) SetLazyEnd(i int, end uint64) { m.lazy[i].hi = end }

// lookup returns the page holding vaddr, making it if a lazy range covers
// vaddr.
func (m *Memory) lookup(vaddr uint64) (page, bool) {
	vpn := vaddr >> mem.PageShift
	pg, ok := m.pages[vpn]
	if ok {
		return pg, true
	}
	for _, r := range m.lazy {
		if vaddr >= r.lo && vaddr < r.hi {
			pg = page{p: new(mem.Page), perm: permR | permW}
			m.pages[vpn] = pg
			return pg, true
		}
	}
	return pg, false
}

// Translate implements rv64.Translator.
func (m *Memory) Translate(vaddr uint64, acc rv64.Access) (*mem.Page, bool, bool) {
	pg, ok := m.lookup(vaddr)
	if !ok {
		return nil, false, false
	}
	w := pg.perm&permW != 0
	switch acc {
	case rv64.Read:
		ok = pg.perm&permR != 0
	case rv64.Write:
		ok = w
	case rv64.Exec:
		ok = pg.perm&permX != 0
	}
	return pg.p, w, ok
}

// Map makes the pages covering [addr, addr+size) present with at least perm
// (permissions of pages mapped already are widened), zero-filled when new.
func (m *Memory) Map(addr, size uint64, perm uint8) {
	if size == 0 {
		return
	}
	for vpn := addr >> mem.PageShift; vpn <= (addr+size-1)>>mem.PageShift; vpn++ {
		pg, ok := m.pages[vpn]
		if !ok {
			pg.p = new(mem.Page)
		}
		pg.perm |= perm
		m.pages[vpn] = pg
	}
}

// Write copies b to guest address addr, which must be mapped.
func (m *Memory) Write(addr uint64, b []byte) error {
	for len(b) > 0 {
		pg, ok := m.lookup(addr)
		if !ok {
			return fmt.Errorf("write to unmapped address %#x", addr)
		}
		n := pg.p.Write(addr&mem.PageMask, b)
		b = b[n:]
		addr += uint64(n)
	}
	return nil
}

// Read copies guest memory at addr into b; it fails on an unreadable page.
func (m *Memory) Read(addr uint64, b []byte) error {
	for len(b) > 0 {
		pg, ok := m.lookup(addr)
		if !ok || pg.perm&permR == 0 {
			return fmt.Errorf("read from unmapped address %#x", addr)
		}
		n := pg.p.Read(addr&mem.PageMask, b)
		b = b[n:]
		addr += uint64(n)
	}
	return nil
}

// Process is a loaded program: its memory, registers and heap break.
type Process struct {
	Mem  *Memory
	Regs rv64.Regs
	// Core runs the process; its caches persist across Step calls.
	Core *rv64.Core
	brk0 uint64 // initial break (end of the highest segment, page-rounded)
	brk  uint64
	heap int // the lazy range [brk0, brk)
}

// Load parses elfBytes, maps its PT_LOAD segments and builds the initial
// stack with args (args[0] is the program name) and an empty environment.
// A malformed ELF gives an error, never a panic.
func Load(elfBytes []byte, args []string) (p *Process, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("linuxsim: malformed ELF: %v", r)
		}
	}()
	f, err := elf.NewFile(bytesReaderAt(elfBytes))
	if err != nil {
		return nil, fmt.Errorf("linuxsim: %w", err)
	}
	if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB || f.Machine != elf.EM_RISCV {
		return nil, fmt.Errorf("linuxsim: not a little-endian RV64 ELF (class %v, data %v, machine %v)", f.Class, f.Data, f.Machine)
	}
	if f.Type != elf.ET_EXEC {
		return nil, fmt.Errorf("linuxsim: ELF type %v: only static executables (ET_EXEC) are supported", f.Type)
	}
	m := NewMemory()
	var end, phdr, total uint64
	for _, ph := range f.Progs {
		switch ph.Type {
		case elf.PT_INTERP, elf.PT_DYNAMIC:
			return nil, errors.New("linuxsim: dynamically linked ELF")
		case elf.PT_PHDR:
			phdr = ph.Vaddr
		}
		if ph.Type != elf.PT_LOAD || ph.Memsz == 0 {
			continue
		}
		if ph.Filesz > ph.Memsz || ph.Vaddr+ph.Memsz < ph.Vaddr || ph.Vaddr+ph.Memsz > stackTop-stackSize {
			return nil, fmt.Errorf("linuxsim: bad PT_LOAD segment at %#x (filesz %#x, memsz %#x)", ph.Vaddr, ph.Filesz, ph.Memsz)
		}
		if total += ph.Memsz; total > maxImage {
			return nil, errors.New("linuxsim: PT_LOAD segments too large")
		}
		if ph.Off+ph.Filesz < ph.Off || ph.Off+ph.Filesz > uint64(len(elfBytes)) {
			return nil, fmt.Errorf("linuxsim: PT_LOAD segment at %#x lies outside the file", ph.Vaddr)
		}
		perm := uint8(0)
		if ph.Flags&elf.PF_R != 0 {
			perm |= permR
		}
		if ph.Flags&elf.PF_W != 0 {
			perm |= permW | permR
		}
		if ph.Flags&elf.PF_X != 0 {
			perm |= permX
		}
		m.Map(ph.Vaddr, ph.Memsz, perm)
		if err := m.Write(ph.Vaddr, elfBytes[ph.Off:ph.Off+ph.Filesz]); err != nil {
			return nil, fmt.Errorf("linuxsim: %w", err)
		}
		if ph.Off == 0 && phdr == 0 {
			phdr = ph.Vaddr + 64 // program headers follow the ELF header
		}
		end = max(end, ph.Vaddr+ph.Memsz)
	}
	if end == 0 {
		return nil, errors.New("linuxsim: no PT_LOAD segment")
	}
	p = &Process{Mem: m, Core: rv64.NewCore()}
	p.brk0 = (end + mem.PageMask) &^ mem.PageMask
	p.brk = p.brk0
	p.heap = m.MapLazy(p.brk0, 0)
	p.Regs.PC = f.Entry
	if err := p.buildStack(args, f, phdr); err != nil {
		return nil, err
	}
	return p, nil
}

// Auxiliary vector keys.
const (
	atNull   = 0
	atPhdr   = 3
	atPhent  = 4
	atPhnum  = 5
	atPagesz = 6
	atEntry  = 9
	atUID    = 11
	atEUID   = 12
	atGID    = 13
	atEGID   = 14
	atRandom = 25
)

func (p *Process) buildStack(args []string, f *elf.File, phdr uint64) error {
	m := p.Mem
	m.MapLazy(stackTop-stackSize, stackSize)
	sp := uint64(stackTop)
	put := func(b []byte) uint64 {
		sp -= uint64(len(b))
		_ = m.Write(sp, b) // the stack is mapped
		return sp
	}
	var strs []uint64
	for _, a := range args {
		strs = append(strs, put(append([]byte(a), 0)))
	}
	random := put([]byte("keyfish-rv64-rnd"))
	sp &^= 15
	var words []uint64
	words = append(words, uint64(len(args)))
	words = append(words, strs...)
	words = append(words, 0) // argv end
	words = append(words, 0) // envp end
	words = append(words,
		atPhdr, phdr, atPhent, 56, atPhnum, uint64(len(f.Progs)),
		atPagesz, mem.PageSize, atEntry, f.Entry,
		atUID, 0, atEUID, 0, atGID, 0, atEGID, 0,
		atRandom, random, atNull, 0)
	if len(words)*8 > stackSize/2 {
		return errors.New("linuxsim: arguments too large")
	}
	sp -= uint64(len(words)) * 8
	sp &^= 15
	buf := make([]byte, 8*len(words))
	for i, w := range words {
		for j := range 8 {
			buf[8*i+j] = byte(w >> (8 * j))
		}
	}
	if err := m.Write(sp, buf); err != nil {
		return err
	}
	p.Regs.X[2] = sp
	return nil
}

// ExitError reports a guest that stopped on a trap the shim does not handle
// (as Linux would deliver a fatal signal), or that ran out of instructions.
type ExitError struct {
	Exit rv64.Exit
	PC   uint64
}

// Error describes the trap and where it happened.
func (e *ExitError) Error() string {
	switch e.Exit.Reason {
	case rv64.Budget:
		return fmt.Sprintf("linuxsim: instruction limit reached at pc %#x", e.PC)
	case rv64.Illegal:
		return fmt.Sprintf("linuxsim: illegal instruction %#x at pc %#x", e.Exit.Insn, e.PC)
	case rv64.Fault, rv64.Misaligned:
		return fmt.Sprintf("linuxsim: %v %v at %#x, pc %#x", e.Exit.Reason, e.Exit.Access, e.Exit.Addr, e.PC)
	}
	return fmt.Sprintf("linuxsim: %v at pc %#x", e.Exit.Reason, e.PC)
}

// Execute runs the process until it exits, traps or has executed maxInsns
// instructions (0 means no limit). Output to fd 1 and 2 goes to stdout.
func (p *Process) Execute(stdout io.Writer, maxInsns uint64) (exitCode int, insns uint64, err error) {
	const slice = 1 << 26
	r := &p.Regs
	start := r.Instret
	for {
		budget := uint64(slice)
		if maxInsns != 0 {
			left := maxInsns - (r.Instret - start)
			if left == 0 {
				return 0, r.Instret - start, &ExitError{Exit: rv64.Exit{Cause: rv64.Cause{Reason: rv64.Budget}}, PC: r.PC}
			}
			budget = min(budget, left)
		}
		ex := p.Core.Run(r, p.Mem, 1, budget)
		switch ex.Reason {
		case rv64.Budget:
			continue
		case rv64.Ecall:
			r.Instret++ // the ecall retires once the call completes
			done, code, err := p.syscall(stdout)
			if err != nil || done {
				return code, r.Instret - start, err
			}
			r.PC += 4
		default:
			return 0, r.Instret - start, &ExitError{Exit: ex, PC: r.PC}
		}
	}
}

// syscall performs the system call in a7 with arguments in a0..a5.
func (p *Process) syscall(stdout io.Writer) (exited bool, code int, err error) {
	r := &p.Regs
	a0, a1, a2 := r.X[10], r.X[11], r.X[12]
	ret := uint64(0)
	switch r.X[17] {
	case sysWrite:
		if a0 != 1 && a0 != 2 {
			ret = negErr(ebadf)
			break
		}
		if a2 > 1<<24 {
			a2 = 1 << 24
		}
		buf := make([]byte, a2)
		if err := p.Mem.Read(a1, buf); err != nil {
			ret = negErr(efault)
			break
		}
		if _, err := stdout.Write(buf); err != nil {
			return true, 0, fmt.Errorf("linuxsim: writing output: %w", err)
		}
		ret = a2
	case sysExit, sysExitGroup:
		return true, int(a0 & 0xff), nil
	case sysBrk:
		ret = p.setBrk(a0)
	default:
		ret = negErr(enosys)
	}
	r.X[10] = ret
	return false, 0, nil
}

// setBrk moves the break to want when that is within bounds, and returns
// the break.
func (p *Process) setBrk(want uint64) uint64 {
	if want < p.brk0 || want > p.brk0+brkLimit {
		return p.brk
	}
	p.brk = want
	p.Mem.SetLazyEnd(p.heap, (want+mem.PageMask)&^mem.PageMask)
	return p.brk
}

// Run loads a static RV64 Linux ELF and runs it with args, writing what it
// writes to fd 1 and 2 to stdout, until it exits or has executed maxInsns
// instructions (0: no limit). It returns the exit status (0..255), the count
// of instructions executed and an error if the ELF is malformed or the
// program stopped other than by exit or exit_group.
func Run(elfBytes []byte, args []string, stdout io.Writer, maxInsns uint64) (exitCode int, insns uint64, err error) {
	p, err := Load(elfBytes, args)
	if err != nil {
		return 0, 0, err
	}
	return p.Execute(stdout, maxInsns)
}

// bytesReaderAt reads an ELF held in memory.
type bytesReaderAt []byte

// ReadAt implements io.ReaderAt over the byte slice.
func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// negErr returns -errno as a register value.
func negErr(errno int64) uint64 { return uint64(-errno) }
