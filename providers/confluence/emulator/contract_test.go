package emulator_test

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// observed collects, over every test of the package, the statuses the
// emulators answered per route; TestMain checks them against the
// responses the OpenAPI description documents.
var observed = struct {
	sync.Mutex
	status map[string]int
}{status: map[string]int{}}

func recordStats(statuses map[string]int) {
	observed.Lock()
	defer observed.Unlock()
	for k, v := range statuses {
		observed.status[k] += v
	}
}

// undocumented lists the statuses the emulator answers that the OpenAPI
// description leaves out, each with the reason it is expected.
var undocumented = map[string]string{
	"401":                                 "any call without valid credentials when anonymous access is off (authentication filter)",
	"429":                                 "rate limiting, before the resource runs",
	"500":                                 "injected fault",
	"502":                                 "injected fault",
	"503":                                 "injected fault",
	"GET /rest/api/user/list 400":         "non-numeric start or limit",
	"GET /rest/api/group/{groupName} 404": "missing group (relied on by public DC clients)",
	"GET /rest/api/group/{groupName}/member 404":             "missing group",
	"PUT /rest/api/admin/user/{username} 404":                "missing user",
	"PUT /rest/api/user/{username}/group/{groupName} 403":    "non-administrator",
	"PUT /rest/api/user/{username}/group/{groupName} 404":    "missing user or group",
	"DELETE /rest/api/user/{username}/group/{groupName} 404": "missing user or group",
	"GET /rest/api/user 400":                                 "neither username nor key",
	"GET /rest/api/user/memberof 400":                        "neither username nor key, or a non-numeric start or limit",
	"GET /rest/api/user/memberof 404":                        "missing user (as GET /rest/api/user documents)",
	"POST /rest/api/space 400":                               "invalid space key, missing name or a key already taken",
	"POST /rest/api/space 403":                               "non-administrator",
	"GET /rest/api/space 400":                                "non-numeric start or limit",
	"GET /rest/api/space 403":                                "anonymous caller",
	"GET /rest/api/space/{spaceKey}/permissions 404":         "missing space (the RestError of a real DC: No space with key)",
}

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && !testing.Short() && os.Getenv("EMULATOR_SKIP_CONTRACT") == "" {
		if msgs := checkObserved(); len(msgs) > 0 {
			fmt.Println("--- FAIL: statuses not documented by the OpenAPI description:")
			for _, m := range msgs {
				fmt.Println("    " + m)
			}
			code = 1
		}
	}
	os.Exit(code)
}

func checkObserved() []string {
	data, err := os.ReadFile("../testdata/confluence-dc-10.0.3-openapi.json")
	if err != nil {
		return []string{err.Error()}
	}
	var spec struct {
		Paths map[string]map[string]struct {
			Responses map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		return []string{err.Error()}
	}
	observed.Lock()
	defer observed.Unlock()
	var msgs []string
	for key := range observed.status {
		if strings.Contains(key, "(unknown route)") || strings.HasSuffix(key, "(answer lost)") {
			continue
		}
		i := strings.LastIndex(key, " ")
		route, status := key[:i], key[i+1:]
		if _, err := strconv.Atoi(status); err != nil {
			continue
		}
		method, path, _ := strings.Cut(route, " ")
		if _, ok := spec.Paths[path][strings.ToLower(method)].Responses[status]; ok {
			continue
		}
		if undocumented[status] != "" || undocumented[key] != "" {
			continue
		}
		if status == "405" {
			continue // a known path with a method it does not serve
		}
		msgs = append(msgs, key)
	}
	sort.Strings(msgs)
	return msgs
}
