// Package kernel is the Keyfish kernel: the objects (pages, nodes, domains,
// space banks, meters), the keys that name them, invocation, and the CPU
// drivers that run domains on the cores of a machine.
//
// # Objects and keys
//
// Every object has a stable object id and an allocation count. A Key names an
// object by header pointer and allocation count; selling the object or
// destroying its bank voids every key to it at once (see header.valid). Keys
// live only in kernel memory: node slots, domain root slots, key registers.
//
// # Ownership
//
// The machine is a set of clusters, each a set of cores of one CPU kind
// sharing a ready queue. Each core runs a CPU driver (driver.go) that handles
// one event at a time and keeps no stack between events. Who may touch what:
//
//   - A domain's fields belong to whoever holds its ownership token
//     (Domain.own): the core running it, the queue it sits in, or a core that
//     took the token of an idle domain to operate on it. Idle domains
//     (available, waiting, stopped) hold no token.
//   - A domain's place in its home cluster's ready queue and its stall queue
//     belong to its home cluster, under Cluster.mu.
//   - Nodes, banks and meters are shared between cores and guarded by their
//     own locks; page bytes are memory, shared as on real hardware.
//   - Freed objects are reused only after a grace period in which every core
//     has passed an event boundary (epoch.go), so an operation that checked a
//     key inside an event can finish safely, and a mapping removed by a
//     completed operation is in no core's TLB.
//
// Inside a cluster a CALL or RETURN switches directly to its target on
// the same core. The common case, a start key of an available domain or
// a resume key of a waiting one, is done in one step by the invocation
// fast path (fastpath.go), which checks every condition before it changes
// anything; everything else takes the general path (invoke.go). The two
// must agree event for event, and Config.GeneralPath turns the fast path
// off to compare them.
//
// Invocations between clusters travel as messages: the sender's outbox,
// which is part of the sending domain and charged to its bank, is linked
// into the target cluster's inbox. A domain has at most one message
// outstanding, so no queue can hold more entries than there are domains.
package kernel
