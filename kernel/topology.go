package kernel

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/keyfish-os/keyfish/abi"
)

// ClusterSpec is one cluster of a topology: the CPU kinds its cores run
// and a core count.
type ClusterSpec struct {
	Kinds KindSet
	Cores int
}

// KindSet is a set of CPU kinds: the kinds of domain a cluster's cores
// run.
type KindSet uint64

// Kinds returns the set of the given kinds.
func Kinds(ks ...abi.Kind) KindSet {
	var s KindSet
	for _, k := range ks {
		if k >= 0 && k < 64 {
			s |= 1 << uint(k)
		}
	}
	return s
}

// Has reports whether k is in the set.
func (s KindSet) Has(k abi.Kind) bool { return k >= 0 && k < 64 && s&(1<<uint(k)) != 0 }

// String names the kinds in topology syntax: "rv64", "rv64+native".
func (s KindSet) String() string {
	var names []string
	for k := abi.Kind(0); k < 64; k++ {
		if s.Has(k) {
			names = append(names, KindName(k))
		}
	}
	return strings.Join(names, "+")
}

// MaxCores bounds a machine's cores.
const MaxCores = 1024

var kindNames = map[string]abi.Kind{"rv64": abi.KindRV64, "native": abi.KindNative}

// KindName returns the topology name of a CPU kind.
func KindName(k abi.Kind) string {
	for n, v := range kindNames {
		if v == k {
			return n
		}
	}
	return fmt.Sprintf("kind%d", k)
}

// ParseTopology parses a topology: clusters separated by commas, each
// [N*]KINDS[:CORES], where KINDS is rv64, native, or both joined by "+",
// CORES (default 1) the cores sharing that cluster's ready queue, and N a
// repeat count.
//
//	rv64:4,native        four rv64 cores in one cluster, one native core
//	4*rv64:1,native:1    four one-core rv64 clusters (a pure multikernel)
//	rv64+native          one core that runs domains of both kinds
func ParseTopology(s string) ([]ClusterSpec, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("topology: empty")
	}
	var out []ClusterSpec
	total := 0
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		rep := 1
		if i := strings.IndexByte(part, '*'); i >= 0 {
			n, err := strconv.Atoi(part[:i])
			if err != nil || n < 1 || n > MaxCores {
				return nil, fmt.Errorf("topology %q: bad repeat count in %q", s, part)
			}
			rep, part = n, part[i+1:]
		}
		name, cores := part, "1"
		if i := strings.IndexByte(part, ':'); i >= 0 {
			name, cores = part[:i], part[i+1:]
		}
		var kinds KindSet
		for _, kn := range strings.Split(name, "+") {
			kind, ok := kindNames[kn]
			if !ok {
				return nil, fmt.Errorf("topology %q: unknown CPU kind %q (want rv64 or native)", s, kn)
			}
			if kinds.Has(kind) {
				return nil, fmt.Errorf("topology %q: CPU kind %s twice in %q", s, kn, part)
			}
			kinds |= Kinds(kind)
		}
		n, err := strconv.Atoi(cores)
		if err != nil || n < 1 || n > MaxCores {
			return nil, fmt.Errorf("topology %q: bad core count %q in %q", s, cores, part)
		}
		for range rep {
			out = append(out, ClusterSpec{Kinds: kinds, Cores: n})
			total += n
			if total > MaxCores {
				return nil, fmt.Errorf("topology %q: more than %d cores", s, MaxCores)
			}
		}
	}
	return out, nil
}

// FormatTopology renders specs in ParseTopology's syntax.
func FormatTopology(specs []ClusterSpec) string {
	parts := make([]string, len(specs))
	for i, c := range specs {
		parts[i] = fmt.Sprintf("%s:%d", c.Kinds, c.Cores)
	}
	return strings.Join(parts, ",")
}
