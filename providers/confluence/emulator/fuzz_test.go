package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/confsync/confsync/providers/confluence/emulator"
)

// FuzzRequestBodies sends arbitrary bodies to the calls that read one: the
// emulator must answer with a documented status and a RestError, never a
// 5xx or a panic.
func FuzzRequestBodies(f *testing.F) {
	for _, s := range []string{
		`{"userName":"a","fullName":"A","email":"a@example.com","notifyViaEmail":true}`,
		`{"userName":"a","fullName":"A","email":"a@example.com","password":"p","notifyViaEmail":"false"}`,
		`{"type":"group","name":"g"}`, `{"type":1}`, `{"fullName":"x","email":"x@y"}`, `[]`, `null`, `{`,
		`{"key":"K","name":"K"}`, `[{"targetType":"space","operationKey":"read"}]`, `[{"targetType":1}]`,
	} {
		f.Add(s)
	}
	s, err := emulator.New(emulator.Options{AdminToken: "t", Seats: 5})
	if err != nil {
		f.Fatal(err)
	}
	if err := s.SeedSpaces(emulator.Space{Key: "FZ", Name: "Fuzz"}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, target := range []struct{ method, path string }{
			{"POST", "/rest/api/admin/user"},
			{"POST", "/rest/api/admin/group"},
			{"PUT", "/rest/api/admin/user/admin"},
			{"POST", "/rest/api/space"},
			{"PUT", "/rest/api/space/FZ/permissions/group/confluence-users/grant"},
			{"PUT", "/rest/api/space/FZ/permissions/group/confluence-users/revoke"},
			{"PUT", "/rest/api/permissions/group/confluence-users/grant"},
		} {
			req := httptest.NewRequest(target.method, target.path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer t")
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			switch rec.Code {
			case http.StatusOK, http.StatusCreated, http.StatusNoContent:
			case http.StatusBadRequest, http.StatusConflict, http.StatusPaymentRequired:
				if !json.Valid(rec.Body.Bytes()) {
					t.Fatalf("%s %s: %d with a non-JSON body", target.method, target.path, rec.Code)
				}
			default:
				t.Fatalf("%s %s with %q: status %d", target.method, target.path, body, rec.Code)
			}
		}
	})
}
