package main

import (
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"switchboard/internal/redistest"
	"switchboard/metrics"
	"switchboard/queue"
	"switchboard/worker"
)

// The observability kit lives outside the Go code, so nothing else notices
// when it drifts from the code: these paths are relative to this package.
const (
	obsRoot       = "../.."
	obsDashboard  = obsRoot + "/deploy/grafana/switchboard.json"
	obsAlerts     = obsRoot + "/deploy/prometheus/alerts.yaml"
	obsAlertTests = obsRoot + "/deploy/prometheus/alerts_test.yaml"
	obsRunbook    = obsRoot + "/docs/operations.md"
	obsRunbookURL = "https://github.com/switchboard-cs/switchboard/blob/main/docs/operations.md#"
)

// Labels every scraped series carries besides its own: Prometheus adds
// instance and job at scrape time, histograms' buckets have le.
var obsTargetLabels = []string{"instance", "job", "le"}

// Every metric the Grafana dashboard and the Prometheus alerts query is
// defined in the code and really exported, with the labels they use, so
// renaming a metric or a label breaks this test rather than a dashboard
// nobody looks at until an incident.
func TestObservabilityDashboardAndAlertsMatchTheCode(t *testing.T) {
	defined := obsDefinedInSource(t)
	exported := obsExported(t)

	// Sanity of the two views of the code: whatever is exported is found
	// in the source scan, so "defined" below cannot miss a metric.
	for name := range exported {
		if !defined[name] {
			t.Errorf("%s is exported but no string literal in the module's Go files defines it: the source scan is incomplete", name)
		}
	}
	for _, name := range []string{"switchboard_webhook_requests_total", "switchboard_queue_scrape_ok", "switchboard_whatsmeow_held", "switchboard_pool_oldest_wait_seconds", "switchboard_sessions_active"} {
		if !defined[name] || exported[name] == nil {
			t.Fatalf("%s not found (defined %v, exported %v): the test's discovery is broken", name, defined[name], exported[name] != nil)
		}
	}

	exprs := map[string][]string{
		"deploy/grafana/switchboard.json": obsDashboardExprs(t),
		"deploy/prometheus/alerts.yaml":   nil,
	}
	for _, r := range obsAlertRules(t) {
		exprs["deploy/prometheus/alerts.yaml"] = append(exprs["deploy/prometheus/alerts.yaml"], r.Expr)
	}
	for file, list := range exprs {
		if len(list) < 10 {
			t.Fatalf("%s: only %d expressions found", file, len(list))
		}
		for _, expr := range list {
			obsCheckExpr(t, file, expr, defined, exported)
		}
	}
}

// obsCheckExpr checks one PromQL expression's metric names and label names.
func obsCheckExpr(t *testing.T, file, expr string, defined map[string]bool, exported map[string]map[string]bool) {
	t.Helper()
	names := obsMetricNames(expr)
	if len(names) == 0 {
		t.Errorf("%s: %q queries no switchboard_ metric", file, expr)
	}
	// Labels that may appear in by/on/without/ignoring clauses: those of any
	// metric of the expression.
	allowed := map[string]bool{}
	for _, l := range obsTargetLabels {
		allowed[l] = true
	}
	for _, raw := range names {
		name := obsBaseName(raw, defined)
		switch {
		case !defined[name]:
			t.Errorf("%s: %s is not defined in the code (expression %q)", file, raw, expr)
			continue
		case exported[name] == nil:
			t.Errorf("%s: %s is in the source but not exported by serve (expression %q)", file, raw, expr)
			continue
		}
		for l := range exported[name] {
			allowed[l] = true
		}
	}
	// Matchers belong to their metric.
	for _, m := range obsSelector.FindAllStringSubmatch(expr, -1) {
		name := obsBaseName(m[1], defined)
		labels := exported[name]
		if labels == nil {
			continue // reported above
		}
		for _, l := range obsMatcherLabels(m[2]) {
			if !labels[l] && !slices.Contains(obsTargetLabels, l) {
				t.Errorf("%s: %s has no label %q (expression %q); it has %v", file, m[1], l, expr, obsKeys(labels))
			}
		}
	}
	for _, m := range obsGrouping.FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(m[2], ",") {
			if l = strings.TrimSpace(l); l != "" && !allowed[l] {
				t.Errorf("%s: %s (%s) names a label none of its metrics has (expression %q)", file, m[1], l, expr)
			}
		}
	}
}

var (
	obsMetricName = regexp.MustCompile(`switchboard_[a-z_]+`)
	obsSelector   = regexp.MustCompile(`(switchboard_[a-z_]+)\s*\{([^}]*)\}`)
	obsGrouping   = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	obsMatcher    = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"`)
)

func obsMetricNames(expr string) []string {
	var out []string
	for _, n := range obsMetricName.FindAllString(expr, -1) {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func obsMatcherLabels(matchers string) []string {
	var out []string
	for _, m := range obsMatcher.FindAllStringSubmatch(matchers, -1) {
		out = append(out, m[1])
	}
	return out
}

// obsBaseName maps a histogram's series (_bucket, _sum, _count) to the
// metric's name.
func obsBaseName(name string, defined map[string]bool) string {
	if defined[name] {
		return name
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && defined[base] {
			return base
		}
	}
	return name
}

func obsKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// obsDefinedInSource finds every metric name defined in the module: string
// literals of the form switchboard_... in non-test Go files.
func obsDefinedInSource(t *testing.T) map[string]bool {
	t.Helper()
	whole := regexp.MustCompile(`^switchboard_[a-z_]+$`)
	defined := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(obsRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != obsRoot && (strings.HasPrefix(n, ".") || n == "testdata" || n == "vendor" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && whole.MatchString(s) {
					defined[s] = true
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return defined
}

// obsExported returns every switchboard_ metric serve exports, with its
// label names: the descriptors of the metrics and collectors (which
// include vectors that have no series yet), and what /metrics of a
// running server with every channel kind prints after some traffic.
func obsExported(t *testing.T) map[string]map[string]bool {
	t.Helper()
	exported := map[string]map[string]bool{}
	add := func(name string, labels ...string) {
		if !strings.HasPrefix(name, "switchboard_") {
			return
		}
		if exported[name] == nil {
			exported[name] = map[string]bool{}
		}
		for _, l := range labels {
			exported[name][l] = true
		}
	}

	// Descriptors.
	rec := &obsRegisterer{}
	metrics.New(rec)
	logger := slog.New(slog.DiscardHandler)
	collectors := append(rec.collectors,
		queue.NewCollector(nil, logger),
		metrics.NewLinkedCollector(nil, nil),
		worker.NewRoutingCollector(nil, logger))
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	varLabels := regexp.MustCompile(`variableLabels: \{([^}]*)\}`)
	for _, c := range collectors {
		ch := make(chan *prometheus.Desc, 32)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			s := d.String()
			name := fqName.FindStringSubmatch(s)
			if name == nil {
				t.Fatalf("cannot read a descriptor: %s", s)
			}
			var labels []string
			if v := varLabels.FindStringSubmatch(s); v != nil && v[1] != "" {
				for _, l := range strings.Split(v[1], ",") {
					labels = append(labels, strings.TrimSuffix(strings.TrimPrefix(l, "c("), ")"))
				}
			}
			add(name[1], labels...)
		}
	}

	// A running server: every channel kind, a webhook accepted and one
	// refused, processed by the worker.
	rdb := redistest.Client(t)
	var tg, tw, site recorder
	tgAPI := tg.server(t, func(string) string { return `{"ok":true,"result":{"message_id":1,"chat":{"id":5213748901}}}` })
	twAPI := tw.server(t, func(string) string { return `{"sid":"SM00000000000000000000000000000009","status":"queued"}` })
	siteSrv := site.server(t, func(string) string { return `{"id":"site-1"}` })
	base, _, _ := start(t, everyChannelYAML(redistest.URL(rdb), tgAPI.URL, twAPI.URL, siteSrv.URL, filepath.Join(t.TempDir(), "wa.db")), nil, roleAll)
	update := []byte(`{"update_id":910001,"message":{"message_id":1,"from":{"id":5213748901,"is_bot":false,"first_name":"Ana"},"chat":{"id":5213748901,"first_name":"Ana","type":"private"},"date":` + nowTS() + `,"text":"hola"}}`)
	if code := send(t, "POST", base+"/webhooks/tg-support", http.Header{"X-Telegram-Bot-Api-Secret-Token": {tgSecret}, "Content-Type": {"application/json"}}, update); code != 200 {
		t.Fatalf("telegram webhook: %d", code)
	}
	if code := send(t, "POST", base+"/webhooks/tg-support", http.Header{"X-Telegram-Bot-Api-Secret-Token": {"wrong"}}, update); code != 401 {
		t.Fatalf("telegram webhook with a wrong secret: %d, want 401", code)
	}
	var body string
	eventually(t, "the message processed and the linked channel reported", func() bool {
		_, body = get(t, base+"/metrics")
		return strings.Contains(body, `switchboard_inbound_messages_total{`) && strings.Contains(body, `switchboard_whatsmeow_held{`)
	})
	for name, labels := range obsParseExposition(t, body) {
		add(name, labels...)
	}
	return exported
}

// obsRegisterer records the collectors metrics.New registers.
type obsRegisterer struct{ collectors []prometheus.Collector }

func (r *obsRegisterer) Register(c prometheus.Collector) error {
	r.collectors = append(r.collectors, c)
	return nil
}

func (r *obsRegisterer) MustRegister(cs ...prometheus.Collector) {
	r.collectors = append(r.collectors, cs...)
}

func (r *obsRegisterer) Unregister(prometheus.Collector) bool { return false }

// obsParseExposition reads Prometheus's text format: every family named by
// a # HELP line (with or without samples), and the label names of every
// sample, under the family's name (histogram series fold into it).
func obsParseExposition(t *testing.T, body string) map[string][]string {
	t.Helper()
	families := map[string][]string{}
	var current string
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, "# HELP "); ok {
			current, _, _ = strings.Cut(rest, " ")
			if _, ok := families[current]; !ok {
				families[current] = nil
			}
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, hasLabels := strings.Cut(line, "{")
		if !hasLabels {
			name, _, _ = strings.Cut(line, " ")
		}
		family := name
		if current != "" && strings.HasPrefix(name, current) {
			family = current
		}
		if hasLabels {
			labels, err := obsLabelNames(rest)
			if err != nil {
				t.Fatalf("/metrics line %q: %v", line, err)
			}
			for _, l := range labels {
				if !slices.Contains(families[family], l) {
					families[family] = append(families[family], l)
				}
			}
		} else if _, ok := families[family]; !ok {
			families[family] = nil
		}
	}
	return families
}

// obsLabelNames reads `a="x",b="y\"z"} 1` up to the closing brace.
func obsLabelNames(s string) ([]string, error) {
	var names []string
	for {
		s = strings.TrimLeft(s, " ,")
		if strings.HasPrefix(s, "}") {
			return names, nil
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || len(s) < eq+2 || s[eq+1] != '"' {
			return nil, errBadLabels
		}
		names = append(names, s[:eq])
		s = s[eq+2:]
		end := -1
		for i := 0; i < len(s); i++ {
			if s[i] == '\\' {
				i++
				continue
			}
			if s[i] == '"' {
				end = i
				break
			}
		}
		if end < 0 {
			return nil, errBadLabels
		}
		s = s[end+1:]
	}
}

var errBadLabels = errors.New("malformed labels")

// obsDashboardExprs returns the expr of every target of every panel,
// wherever it is nested (rows, collapsed rows).
func obsDashboardExprs(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(obsDashboard)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		SchemaVersion int                             `json:"schemaVersion"`
		Templating    struct{ List []map[string]any } `json:"templating"`
		Panels        []map[string]any                `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("%s: %v", obsDashboard, err)
	}
	if dash.SchemaVersion != 39 {
		t.Errorf("dashboard schemaVersion = %d, want 39", dash.SchemaVersion)
	}
	vars := map[string]map[string]any{}
	for _, v := range dash.Templating.List {
		name, _ := v["name"].(string)
		vars[name] = v
	}
	if v := vars["datasource"]; v == nil || v["type"] != "datasource" || v["query"] != "prometheus" {
		t.Errorf("dashboard: want a datasource variable of type datasource, query prometheus; got %v", v)
	}
	if v := vars["channel"]; v == nil || v["definition"] != "label_values(switchboard_webhook_requests_total, channel)" {
		t.Errorf("dashboard: want a channel variable from label_values(switchboard_webhook_requests_total, channel); got %v", v)
	}

	var exprs []string
	ids := map[float64]bool{}
	var walkPanels func(panels []any)
	walkPanels = func(panels []any) {
		for _, p := range panels {
			panel, _ := p.(map[string]any)
			if id, ok := panel["id"].(float64); ok {
				if ids[id] {
					t.Errorf("dashboard: panel id %v used twice", id)
				}
				ids[id] = true
			}
			targets, _ := panel["targets"].([]any)
			if panel["type"] != "row" && len(targets) == 0 {
				t.Errorf("dashboard: panel %q has no targets", panel["title"])
			}
			for _, tg := range targets {
				target, _ := tg.(map[string]any)
				expr, _ := target["expr"].(string)
				if expr == "" {
					t.Errorf("dashboard: panel %q has a target without expr", panel["title"])
					continue
				}
				exprs = append(exprs, expr)
			}
			if ds, _ := panel["datasource"].(map[string]any); panel["type"] != "row" && (ds == nil || ds["uid"] != "${datasource}") {
				t.Errorf("dashboard: panel %q does not use the datasource variable: %v", panel["title"], panel["datasource"])
			}
			nested, _ := panel["panels"].([]any)
			walkPanels(nested)
		}
	}
	top := make([]any, len(dash.Panels))
	for i, p := range dash.Panels {
		top[i] = p
	}
	walkPanels(top)
	return exprs
}

type obsRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// obsAlertRules reads the alert rules and checks their shape: a for, a
// severity, the three annotations, a runbook link to a section that exists.
func obsAlertRules(t *testing.T) []obsRule {
	t.Helper()
	raw, err := os.ReadFile(obsAlerts)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string    `yaml:"name"`
			Rules []obsRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatalf("%s: %v", obsAlerts, err)
	}
	anchors := obsRunbookAnchors(t)
	var rules []obsRule
	seen := map[string]bool{}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" {
				t.Errorf("group %s: a rule without alert or expr: %+v", g.Name, r)
				continue
			}
			if seen[r.Alert] {
				t.Errorf("alert %s defined twice", r.Alert)
			}
			seen[r.Alert] = true
			if r.For == "" {
				t.Errorf("alert %s has no for", r.Alert)
			}
			if s := r.Labels["severity"]; s != "page" && s != "ticket" {
				t.Errorf("alert %s: severity %q, want page or ticket", r.Alert, s)
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if r.Annotations[a] == "" {
					t.Errorf("alert %s has no %s", r.Alert, a)
				}
			}
			anchor, ok := strings.CutPrefix(r.Annotations["runbook_url"], obsRunbookURL)
			if !ok || !anchors[anchor] {
				t.Errorf("alert %s: runbook_url %q does not point to a section of docs/operations.md", r.Alert, r.Annotations["runbook_url"])
			}
			rules = append(rules, r)
		}
	}
	obsCheckAlertTests(t, rules)
	return rules
}

// obsCheckAlertTests checks that promtool's unit tests fire every alert at
// least once, and check some healthy series that fire nothing.
func obsCheckAlertTests(t *testing.T, rules []obsRule) {
	t.Helper()
	raw, err := os.ReadFile(obsAlertTests)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		RuleFiles []string `yaml:"rule_files"`
		Tests     []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatalf("%s: %v", obsAlertTests, err)
	}
	if !slices.Contains(file.RuleFiles, "alerts.yaml") {
		t.Errorf("%s does not test alerts.yaml: rule_files %v", obsAlertTests, file.RuleFiles)
	}
	fired := map[string]bool{}
	quiet := 0
	for _, tc := range file.Tests {
		for _, a := range tc.AlertRuleTest {
			if !slices.ContainsFunc(rules, func(r obsRule) bool { return r.Alert == a.Alertname }) {
				t.Errorf("%s tests %s, which alerts.yaml does not define", obsAlertTests, a.Alertname)
			}
			if len(a.ExpAlerts) > 0 {
				fired[a.Alertname] = true
			} else {
				quiet++
			}
		}
	}
	for _, r := range rules {
		if !fired[r.Alert] {
			t.Errorf("no test in %s makes %s fire", obsAlertTests, r.Alert)
		}
	}
	if quiet < 3 {
		t.Errorf("%s has %d cases that must not fire, want at least 3", obsAlertTests, quiet)
	}
}

// obsRunbookAnchors returns the GitHub anchors of docs/operations.md's
// headings.
func obsRunbookAnchors(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(obsRunbook)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	inCode := false
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if inCode || !strings.HasPrefix(line, "#") {
			continue
		}
		heading := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(heading) {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		anchors[b.String()] = true
	}
	return anchors
}
