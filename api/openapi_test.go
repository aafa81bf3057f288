package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"switchboard/api"
)

// Every route Echo serves under /api/v1 is in the OpenAPI document, and
// every operation in the document is served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			echoPath := "/api/v1" + strings.NewReplacer("{id}", ":id", "{name}", ":name").Replace(path)
			documented = append(documented, strings.ToUpper(method)+" "+echoPath)
		}
	}
	h := newHarness(t, nil)
	var served []string
	for _, r := range h.echo.Routes() {
		if strings.HasPrefix(r.Path, "/api/v1/") && r.Method != "echo_route_not_found" {
			served = append(served, r.Method+" "+r.Path)
		}
	}
	slices.Sort(documented)
	slices.Sort(served)
	served = slices.Compact(served)
	for _, s := range served {
		if !slices.Contains(documented, s) {
			t.Errorf("served but not documented: %s", s)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("documented but not served: %s", d)
		}
	}
	r := h.do(t, "GET", "/api/v1/openapi.yaml", "", nil)
	if r.status != http.StatusOK || !strings.HasPrefix(r.body, "openapi: 3") {
		t.Fatalf("GET /api/v1/openapi.yaml: %d", r.status)
	}
}
