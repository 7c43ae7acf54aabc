// Package loader builds rv64 domains from ELF images: it checks the image,
// buys the pages and nodes of its address segment from a bank, copies the
// loadable segments in (text read-only, bss zeroed), sets up the heap and
// stack as demand-zero windows served by the zero keeper, writes the
// argument block and sets the registers. It uses only keys: everything is
// paid for by the bank it is given.
package loader

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/internal/mem"
	"github.com/keyfish-os/keyfish/kernel"
)

// Options says what a loaded program gets.
type Options struct {
	// Name names the program in errors.
	Name string
	// Bank pays for the domain and its address segment, and the zero
	// keeper buys its heap and stack pages from it.
	Bank kernel.Key
	// Meter pays for its CPU time.
	Meter kernel.Key
	// Keeper is its domain keeper (a start key), or the zero Key for none.
	Keeper kernel.Key
	// Zero is a start key to the zero keeper; without it the heap and
	// stack have no keeper and only the argument page is mapped.
	Zero kernel.Key
	// Args are argv; Args[0] is the program name by convention.
	Args []string
	// Keys are the initial key registers (register 0 stays DK(0)).
	Keys [16]kernel.Key
	// Mounts are extra segments, each at the start of a free 256 MiB
	// region (abi.LayoutRegionSize) of the address space.
	Mounts []Mount
}

// Mount is a segment placed in a region of a program's address space.
type Mount struct {
	At      uint64     // a multiple of 256 MiB, below 4 GiB
	Segment kernel.Key // a segment or page key of size at most 4
}

// Program is a loaded program.
type Program struct {
	// Domain is a domain key to it. It is stopped: make it run with
	// kernel.Machine.RunDomain.
	Domain kernel.Key
	// Entry is its entry point.
	Entry uint64
	// ImagePages is the number of pages its image occupies.
	ImagePages int
}

// ErrNoSpace is wrapped by Load when the bank refuses to pay.
var ErrNoSpace = errors.New("the bank refused: too small for the program")

// segment is a checked PT_LOAD segment.
type segment struct {
	vaddr, memsz uint64
	data         []byte
	write        bool
}

// Image is a checked ELF image.
type Image struct {
	Entry    uint64
	segments []segment
}

// Parse checks an ELF image and returns what Load needs. The error names
// what is wrong; no input makes it panic.
func Parse(name string, img []byte) (im *Image, err error) {
	defer func() {
		// debug/elf is robust, but an image is outside input: never panic.
		if r := recover(); r != nil {
			im, err = nil, fmt.Errorf("%s: malformed ELF file (%v)", name, r)
		}
	}()
	if len(img) == 0 {
		return nil, fmt.Errorf("%s: empty file, not an ELF image", name)
	}
	f, err := elf.NewFile(bytes.NewReader(img))
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("%s: truncated ELF file (%d bytes)", name, len(img))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid ELF file: %v", name, err)
	}
	defer f.Close()
	switch {
	case f.Class != elf.ELFCLASS64:
		return nil, fmt.Errorf("%s: %v, want a 64-bit ELF file", name, f.Class)
	case f.Data != elf.ELFDATA2LSB:
		return nil, fmt.Errorf("%s: %v, want little-endian", name, f.Data)
	case f.Machine != elf.EM_RISCV:
		return nil, fmt.Errorf("%s: built for %v, want RISC-V (EM_RISCV)", name, f.Machine)
	case f.Type != elf.ET_EXEC:
		return nil, fmt.Errorf("%s: ELF type %v, want a static executable (ET_EXEC)", name, f.Type)
	}
	im = &Image{Entry: f.Entry}
	pages := map[uint64]bool{} // page → writable
	entryOK := false
	for i, p := range f.Progs {
		switch p.Type {
		case elf.PT_LOAD:
		case elf.PT_DYNAMIC, elf.PT_INTERP:
			return nil, fmt.Errorf("%s: program header %d is %v: dynamic linking is not supported", name, i, p.Type)
		default:
			continue
		}
		if p.Memsz == 0 {
			continue
		}
		if p.Filesz > p.Memsz {
			return nil, fmt.Errorf("%s: segment %d has file size %#x larger than its memory size %#x", name, i, p.Filesz, p.Memsz)
		}
		end := p.Vaddr + p.Memsz
		if end < p.Vaddr || end > uint64(abi.LayoutImageEnd) {
			return nil, fmt.Errorf("%s: segment %d (%#x..%#x) extends past %#x, where the image must end", name, i, p.Vaddr, end, abi.LayoutImageEnd)
		}
		if p.Off+p.Filesz < p.Off || p.Off+p.Filesz > uint64(len(img)) {
			return nil, fmt.Errorf("%s: segment %d's file data (%#x bytes at %#x) runs past the end of the file", name, i, p.Filesz, p.Off)
		}
		if p.Flags&elf.PF_W != 0 && p.Flags&elf.PF_X != 0 {
			return nil, fmt.Errorf("%s: segment %d is both writable and executable", name, i)
		}
		write := p.Flags&elf.PF_W != 0
		for pg := p.Vaddr &^ mem.PageMask; pg < end; pg += mem.PageSize {
			if _, dup := pages[pg]; dup {
				return nil, fmt.Errorf("%s: segments share the page at %#x; text and data must lie on separate pages", name, pg)
			}
			pages[pg] = write
		}
		if p.Flags&elf.PF_X != 0 && f.Entry >= p.Vaddr && f.Entry < end {
			entryOK = true
		}
		im.segments = append(im.segments, segment{vaddr: p.Vaddr, memsz: p.Memsz, data: img[p.Off : p.Off+p.Filesz], write: write})
	}
	if len(im.segments) == 0 {
		return nil, fmt.Errorf("%s: no loadable segments", name)
	}
	if !entryOK {
		return nil, fmt.Errorf("%s: entry point %#x is not in an executable segment", name, f.Entry)
	}
	return im, nil
}

// Load builds a stopped domain running img. On failure nothing it bought
// is kept: it is sold back.
func Load(m *kernel.Machine, img []byte, opt Options) (*Program, error) {
	if opt.Name == "" {
		opt.Name = "program"
	}
	im, err := Parse(opt.Name, img)
	if err != nil {
		return nil, err
	}
	b := &builder{m: m, bank: opt.Bank, name: opt.Name}
	p, err := b.load(im, opt)
	if err != nil {
		b.undo()
		return nil, err
	}
	return p, nil
}

// builder buys through a bank and remembers what, to sell it back on
// failure.
type builder struct {
	m      *kernel.Machine
	bank   kernel.Key
	name   string
	bought []kernel.Key
	pages  int
}

func (b *builder) call(k kernel.Key, order abi.OC, data []byte, keys ...kernel.Key) (kernel.Reply, error) {
	r, err := b.m.Call(k, int64(order), data, keys...)
	if err != nil {
		return r, fmt.Errorf("%s: %w", b.name, err)
	}
	switch abi.RC(r.RC) {
	case abi.RCOk:
		return r, nil
	case abi.RCNoSpace:
		return r, fmt.Errorf("%s: %w (after %d pages)", b.name, ErrNoSpace, b.pages)
	}
	return r, fmt.Errorf("%s: order %d: return code %d", b.name, order, r.RC)
}

func (b *builder) buy(order abi.OC, data []byte) (kernel.Key, error) {
	r, err := b.call(b.bank, order, data)
	if err != nil {
		return kernel.Key{}, err
	}
	b.bought = append(b.bought, r.Keys[0])
	if order == abi.OCBankBuyPage {
		b.pages++
	}
	return r.Keys[0], nil
}

func (b *builder) undo() {
	for i := len(b.bought) - 1; i >= 0; i-- {
		b.m.Call(b.bank, int64(abi.OCBankSell), nil, b.bought[i])
	}
}

// install puts page at offset off of the tree whose root is node (of the
// given size), buying nodes on the way.
func (b *builder) install(node kernel.Key, size int, off uint64, page kernel.Key) error {
	for ; size > 1; size-- {
		slot := off >> (mem.PageShift + 4*(size-1)) & 15
		r, err := b.call(node, abi.OCNodeFetch, kernel.Words(slot))
		if err != nil {
			return err
		}
		child := r.Keys[0]
		if child.IsNull() {
			if child, err = b.buy(abi.OCBankBuyNode, nil); err != nil {
				return err
			}
			if _, err := b.call(node, abi.OCNodeSwap, kernel.Words(slot), child); err != nil {
				return err
			}
		}
		node = child
	}
	_, err := b.call(node, abi.OCNodeSwap, kernel.Words(off>>mem.PageShift&15), page)
	return err
}

// window builds a red window of the given size served by the zero keeper,
// paid by the builder's bank, and returns its segment key and tree root.
func (b *builder) window(size int, zero kernel.Key) (seg, tree kernel.Key, err error) {
	red, err := b.buy(abi.OCBankBuyNode, nil)
	if err != nil {
		return
	}
	if tree, err = b.buy(abi.OCBankBuyNode, nil); err != nil {
		return
	}
	format := uint64(size) | 0<<uint(abi.RedSlotsShift) | uint64(abi.ZeroKeeperSlot)<<uint(abi.RedKeeperShift)
	steps := []struct {
		slot uint64
		key  kernel.Key
	}{
		{uint64(abi.ZeroTreeSlot), tree},
		{uint64(abi.ZeroBankSlot), b.bank},
		{uint64(abi.ZeroKeeperSlot), zero},
		{uint64(abi.RedFormatSlot), kernel.DK(format)},
	}
	for _, s := range steps {
		if _, err = b.call(red, abi.OCNodeSwap, kernel.Words(s.slot), s.key); err != nil {
			return
		}
	}
	r, err := b.call(red, abi.OCNodeMakeSegment, kernel.Words(uint64(size), uint64(abi.FlagRed)))
	return r.Keys[0], tree, err
}

func (b *builder) load(im *Image, opt Options) (*Program, error) {
	root, err := b.buy(abi.OCBankBuyNode, nil)
	if err != nil {
		return nil, err
	}
	image, err := b.buy(abi.OCBankBuyNode, nil)
	if err != nil {
		return nil, err
	}
	if _, err := b.call(root, abi.OCNodeSwap, kernel.Words(0), image); err != nil {
		return nil, err
	}
	region := int(abi.LayoutRegionSize)
	// The image: every page of every segment, present from the start.
	for _, s := range im.segments {
		for pg := s.vaddr &^ mem.PageMask; pg < s.vaddr+s.memsz; pg += mem.PageSize {
			page, err := b.buy(abi.OCBankBuyPage, nil)
			if err != nil {
				return nil, err
			}
			if err := b.fill(page, pg, s); err != nil {
				return nil, err
			}
			if !s.write {
				r, err := b.call(page, abi.OCPageWeaken, nil)
				if err != nil {
					return nil, err
				}
				page = r.Keys[0]
			}
			if err := b.install(image, region, pg, page); err != nil {
				return nil, err
			}
		}
	}
	imagePages := b.pages
	heap, _, err := b.window(region, opt.Zero)
	if err != nil {
		return nil, err
	}
	stack, stackTree, err := b.window(region, opt.Zero)
	if err != nil {
		return nil, err
	}
	regionBytes := uint64(1) << (mem.PageShift + 4*region)
	for _, r := range []struct {
		at  abi.Layout
		seg kernel.Key
	}{{abi.LayoutHeap, heap}, {abi.LayoutStackBase, stack}} {
		if _, err := b.call(root, abi.OCNodeSwap, kernel.Words(uint64(r.at)/regionBytes), r.seg); err != nil {
			return nil, err
		}
	}
	for _, mt := range opt.Mounts {
		slot := mt.At / regionBytes
		if mt.At%regionBytes != 0 || slot >= 16 || slot == 0 || mt.At == uint64(abi.LayoutHeap) || mt.At == uint64(abi.LayoutStackBase) {
			return nil, fmt.Errorf("%s: cannot mount a segment at %#x: not a free 256 MiB region", b.name, mt.At)
		}
		if _, err := b.call(root, abi.OCNodeSwap, kernel.Words(slot), mt.Segment); err != nil {
			return nil, err
		}
	}
	// The argument block on the top page of the stack.
	argPage, err := b.buy(abi.OCBankBuyPage, nil)
	if err != nil {
		return nil, err
	}
	sp, argv, err := b.args(argPage, opt.Args)
	if err != nil {
		return nil, err
	}
	top := uint64(abi.LayoutStackTop) - mem.PageSize
	if err := b.install(stackTree, region, top-uint64(abi.LayoutStackBase), argPage); err != nil {
		return nil, err
	}
	space, err := b.call(root, abi.OCNodeMakeSegment, kernel.Words(uint64(abi.LayoutRootSize), 0))
	if err != nil {
		return nil, err
	}

	dom, err := b.buy(abi.OCBankBuyDomain, kernel.Words(uint64(abi.KindRV64)))
	if err != nil {
		return nil, err
	}
	slots := []struct {
		slot abi.Slot
		key  kernel.Key
	}{{abi.SlotMeter, opt.Meter}, {abi.SlotKeeper, opt.Keeper}, {abi.SlotSpace, space.Keys[0]}}
	for _, s := range slots {
		if _, err := b.call(dom, abi.OCDomainSetSlot, kernel.Words(uint64(s.slot)), s.key); err != nil {
			return nil, err
		}
	}
	for i := 1; i < 16; i++ {
		if !opt.Keys[i].IsNull() {
			if _, err := b.call(dom, abi.OCDomainSetKeyReg, kernel.Words(uint64(i)), opt.Keys[i]); err != nil {
				return nil, err
			}
		}
	}
	regs := make([]uint64, abi.RegsWords)
	regs[abi.RegsPC] = im.Entry
	regs[abi.RegsX1+1] = sp // x2
	regs[abi.RegsX1+9] = uint64(len(opt.Args))
	regs[abi.RegsX1+10] = argv
	if _, err := b.call(dom, abi.OCDomainSetRegs, kernel.Words(regs...)); err != nil {
		return nil, err
	}
	return &Program{Domain: dom, Entry: im.Entry, ImagePages: imagePages}, nil
}

// fill writes the bytes of segment s that fall in the page at pg.
func (b *builder) fill(page kernel.Key, pg uint64, s segment) error {
	lo := max(pg, s.vaddr)
	hi := min(pg+mem.PageSize, s.vaddr+uint64(len(s.data)))
	const chunk = 2048
	for a := lo; a < hi; a += chunk {
		e := min(a+chunk, hi)
		msg := append(kernel.Words(a-pg), s.data[a-s.vaddr:e-s.vaddr]...)
		if _, err := b.call(page, abi.OCPageWrite, msg); err != nil {
			return err
		}
	}
	return nil
}

// args lays out argv on the top stack page: the strings at the top, the
// pointer array (NULL-terminated) below them, sp 16-aligned below that.
func (b *builder) args(page kernel.Key, args []string) (sp, argv uint64, err error) {
	var buf [mem.PageSize]byte
	base := uint64(abi.LayoutStackTop) - mem.PageSize
	at := uint64(mem.PageSize)
	ptrs := make([]uint64, 0, len(args)+1)
	for _, a := range args {
		need := uint64(len(a) + 1)
		if need+8*uint64(len(args)+1)+64 > at {
			return 0, 0, fmt.Errorf("%s: arguments too long (they must fit in %d bytes)", b.name, mem.PageSize-64)
		}
		at -= need
		copy(buf[at:], a)
		ptrs = append(ptrs, base+at)
	}
	ptrs = append(ptrs, 0)
	at = (at - 8*uint64(len(ptrs))) &^ 15
	for i, p := range ptrs {
		for j := range 8 {
			buf[at+uint64(8*i+j)] = byte(p >> (8 * j))
		}
	}
	used := buf[at:]
	for off := 0; off < len(used); off += 2048 {
		e := min(off+2048, len(used))
		msg := append(kernel.Words(at+uint64(off)), used[off:e]...)
		if _, err := b.call(page, abi.OCPageWrite, msg); err != nil {
			return 0, 0, err
		}
	}
	return base + at - 16, base + at, nil
}
