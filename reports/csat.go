package reports

import (
	"slices"
	"strings"
)

// CSATStats are the satisfaction survey's figures over some conversations.
type CSATStats struct {
	// Asked counts the conversations surveyed; Answered those rated.
	Asked    int `json:"asked"`
	Answered int `json:"answered"`
	// AverageScore is the mean rating (1 to 5) and SatisfiedShare the
	// share of ratings that are 4 or 5, 0 to 1; null without ratings.
	AverageScore   *float64 `json:"average_score"`
	SatisfiedShare *float64 `json:"satisfied_share"`
}

// CSATGroup is the survey's figures of one operator or query type.
type CSATGroup struct {
	// Operator is who handled the conversations ("" for nobody); set in
	// CSATReport.ByOperator.
	Operator string `json:"operator,omitempty"`
	// QueryType is set in CSATReport.ByQueryType.
	QueryType string `json:"query_type,omitempty"`
	CSATStats
}

// CSATReport is the survey's figures in total, per operator (who handled
// the conversation) and per query type, over the conversations surveyed;
// groups are sorted by id, and a group without a surveyed conversation
// is left out.
type CSATReport struct {
	Totals      CSATStats   `json:"totals"`
	ByOperator  []CSATGroup `json:"by_operator"`
	ByQueryType []CSATGroup `json:"by_query_type"`
}

// csatAcc accumulates CSATStats.
type csatAcc struct{ asked, answered, sum, satisfied int }

func (a *csatAcc) add(r *Row) {
	if !r.CSATRequested {
		return
	}
	a.asked++
	if r.CSATScore > 0 {
		a.answered++
		a.sum += r.CSATScore
		if r.CSATScore >= 4 {
			a.satisfied++
		}
	}
}

func (a *csatAcc) stats() CSATStats {
	s := CSATStats{Asked: a.asked, Answered: a.answered}
	if a.answered > 0 {
		avg, share := float64(a.sum)/float64(a.answered), float64(a.satisfied)/float64(a.answered)
		s.AverageScore, s.SatisfiedShare = &avg, &share
	}
	return s
}

// csatReport accumulates a CSATReport.
type csatReport struct {
	total        csatAcc
	byOp, byType map[string]*csatAcc
}

func newCSATReport() *csatReport {
	return &csatReport{byOp: map[string]*csatAcc{}, byType: map[string]*csatAcc{}}
}

func (c *csatReport) add(r *Row) {
	if !r.CSATRequested {
		return
	}
	c.total.add(r)
	for _, g := range []struct {
		m   map[string]*csatAcc
		key string
	}{{c.byOp, r.Assignee}, {c.byType, r.QueryType}} {
		a := g.m[g.key]
		if a == nil {
			a = &csatAcc{}
			g.m[g.key] = a
		}
		a.add(r)
	}
}

func (c *csatReport) report() CSATReport {
	out := CSATReport{Totals: c.total.stats(), ByOperator: []CSATGroup{}, ByQueryType: []CSATGroup{}}
	for _, k := range sortedKeys(c.byOp) {
		out.ByOperator = append(out.ByOperator, CSATGroup{Operator: k, CSATStats: c.byOp[k].stats()})
	}
	for _, k := range sortedKeys(c.byType) {
		out.ByQueryType = append(out.ByQueryType, CSATGroup{QueryType: k, CSATStats: c.byType[k].stats()})
	}
	return out
}

func sortedKeys(m map[string]*csatAcc) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare)
	return keys
}
