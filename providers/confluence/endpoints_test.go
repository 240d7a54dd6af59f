package confluence

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// openAPI is the part of the OpenAPI description the contract test reads.
type openAPI struct {
	Paths map[string]map[string]struct {
		Parameters []struct {
			Name string `json:"name"`
			In   string `json:"in"`
		} `json:"parameters"`
	} `json:"paths"`
}

func loadSpec(t *testing.T) openAPI {
	t.Helper()
	data, err := os.ReadFile("testdata/confluence-dc-10.0.3-openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec openAPI
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestEndpointsMatchOpenAPI checks every (method, path) the client can send,
// and every query parameter and path parameter it fills, against Atlassian's
// description of Confluence DC 10.0.3. The spec's known defects (parameters
// listed twice, the groupName parameter typed as Group) do not matter here:
// only names and locations are compared.
func TestEndpointsMatchOpenAPI(t *testing.T) {
	spec := loadSpec(t)
	seen := map[string]bool{}
	for _, ep := range endpoints {
		key := ep.Method + " " + ep.Template
		if seen[key] {
			t.Errorf("%s listed twice", key)
		}
		seen[key] = true
		ops, ok := spec.Paths[ep.Template]
		if !ok {
			t.Errorf("%s: path not in the OpenAPI description", key)
			continue
		}
		op, ok := ops[strings.ToLower(ep.Method)]
		if !ok {
			t.Errorf("%s: method not in the OpenAPI description", key)
			continue
		}
		params := map[string]bool{}
		for _, p := range op.Parameters {
			params[p.In+":"+p.Name] = true
		}
		for _, q := range ep.Query {
			if !params["query:"+q] {
				t.Errorf("%s: query parameter %q not in the OpenAPI description", key, q)
			}
		}
		for _, seg := range strings.Split(ep.Template, "/") {
			if strings.HasPrefix(seg, "{") {
				name := strings.Trim(seg, "{}")
				// The spec omits path parameters on a few operations; the
				// template itself is then the reference.
				if len(op.Parameters) > 0 && !params["path:"+name] {
					t.Errorf("%s: path parameter %q not in the OpenAPI description", key, name)
				}
			}
		}
	}
}

func TestEndpointPathEscaping(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"jsmith", "devs"}, "/rest/api/user/jsmith/group/devs"},
		{[]string{"a b", "x/y"}, "/rest/api/user/a%20b/group/x%2Fy"},
		{[]string{"é?#", "%"}, "/rest/api/user/%C3%A9%3F%23/group/%25"},
	} {
		got, err := epAddMember.path(tc.args...)
		if err != nil || got != tc.want {
			t.Errorf("path(%q) = %q, %v; want %q", tc.args, got, err, tc.want)
		}
	}
	for _, bad := range [][]string{{"", "g"}, {"u", ".."}, {"."}, {"u", "g", "x"}} {
		if _, err := epAddMember.path(bad...); err == nil {
			t.Errorf("path(%q) accepted", bad)
		}
	}
}
