package emulator

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestRoutesInOpenAPI checks that every route the emulator serves is a path
// and method of Atlassian's OpenAPI description of Confluence DC 10.0.3.
func TestRoutesInOpenAPI(t *testing.T) {
	spec := loadSpecPaths(t)
	for _, r := range allRoutes {
		for _, m := range r.methods {
			if !spec["/rest/api/"+r.template][strings.ToLower(m)] {
				t.Errorf("%s /rest/api/%s is not in the OpenAPI description", m, r.template)
			}
		}
	}
}

func loadSpecPaths(t *testing.T) map[string]map[string]bool {
	t.Helper()
	data, err := os.ReadFile("../testdata/confluence-dc-10.0.3-openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]bool{}
	for p, ops := range spec.Paths {
		out[p] = map[string]bool{}
		for m := range ops {
			out[p][m] = true
		}
	}
	return out
}
