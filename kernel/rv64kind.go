package kernel

// rvRegs and rvCore are the rv64 kind's register file and per-core caches.
type rvRegs struct{}

type rvCore struct{}

func (r *rvCore) init(m *Machine) {}
