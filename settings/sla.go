package settings

import (
	"fmt"
	"time"
)

// Targets are a query type's service-level targets: how soon a person
// first answers its conversations and how soon they are closed. Either
// left out has no target.
type Targets struct {
	FirstResponse *time.Duration `yaml:"first_response"`
	Resolution    *time.Duration `yaml:"resolution"`
	// OnBreach is what a missed first-response target does besides
	// being recorded, announced and counted: notify (the default) or
	// reassign (see SLA.Reassign).
	OnBreach string `yaml:"on_breach"`
}

// What a missed target does (targets.on_breach).
const (
	OnBreachNotify   = "notify"
	OnBreachReassign = "reassign"
)

// SLA is a query type's compiled targets; a zero duration has none.
type SLA struct {
	FirstResponse time.Duration
	Resolution    time.Duration
	// Reassign moves an assigned conversation still unanswered at its
	// first-response target to another eligible operator. A missed
	// resolution target is only announced: the conversation has been
	// answered, and taking it from the person working on it would start
	// the customer over with someone new.
	Reassign bool
}

// Any reports whether the type has a target at all.
func (t SLA) Any() bool { return t.FirstResponse > 0 || t.Resolution > 0 }

// compileSLA validates the query types' targets and returns those of
// the types that have any, by type id.
func compileSLA(doc *Document) (map[string]SLA, []error) {
	var errs []error
	out := map[string]SLA{}
	for i, qt := range doc.QueryTypes {
		if qt.Targets == nil {
			continue
		}
		key := fmt.Sprintf("query_types[%d].targets", i)
		var t SLA
		for _, d := range []struct {
			name string
			v    *time.Duration
			to   *time.Duration
		}{{"first_response", qt.Targets.FirstResponse, &t.FirstResponse}, {"resolution", qt.Targets.Resolution, &t.Resolution}} {
			if d.v == nil {
				continue
			}
			if *d.v <= 0 {
				errs = append(errs, fmt.Errorf("%s.%s: must be a positive duration like 5m or 8h, got %s", key, d.name, *d.v))
				continue
			}
			*d.to = *d.v
		}
		switch qt.Targets.OnBreach {
		case "", OnBreachNotify:
		case OnBreachReassign:
			t.Reassign = true
			if qt.Targets.FirstResponse == nil {
				errs = append(errs, fmt.Errorf("%s.on_breach: reassign acts on a missed first_response target, and there is none", key))
			}
		default:
			errs = append(errs, fmt.Errorf("%s.on_breach: must be notify or reassign, got %q", key, qt.Targets.OnBreach))
		}
		if t.Any() {
			out[qt.ID] = t
		}
	}
	return out, errs
}

// Targets returns the targets of a query type (none for an unknown type).
func (c *Compiled) Targets(queryType string) SLA {
	if c == nil {
		return SLA{}
	}
	return c.SLA[queryType]
}
