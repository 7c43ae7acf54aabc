package kernel

import "fmt"

// Event is one kernel event, as Config.Trace receives it. In deterministic
// mode the sequence of events is a function of the seed alone.
type Event struct {
	Core   int      // the core that handled it
	Domain ObjectID // the domain it concerned
	What   string   // "invoke", "trap", "slice", "deliver", ...
	Arg    int64    // the order code, trap code or similar
}

// String formats the event on one line, as traces are compared and printed.
func (e Event) String() string {
	return fmt.Sprintf("core%d dom%d %s %d", e.Core, e.Domain.index(), e.What, e.Arg)
}

// trace reports an event to Config.Trace. (Small enough to inline: the
// test is made at every event.)
func (c *Core) trace(d *Domain, what string, arg int64) {
	if c.m.tracing {
		c.traceEvent(d, what, arg)
	}
}

func (c *Core) traceEvent(d *Domain, what string, arg int64) {
	if t := c.m.cfg.Trace; t != nil {
		var id ObjectID
		if d != nil {
			id = d.id
		}
		t(Event{Core: c.index, Domain: id, What: what, Arg: arg})
	}
}
