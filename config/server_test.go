package config

import (
	"fmt"
	"strings"
	"testing"
)

// TestOperatorToken: server.operator_token is read as a secret (here with
// env()), and its absence leaves the operator page off.
func TestOperatorToken(t *testing.T) {
	const token = "operator-0123456789abcdef"
	base := `confluence {
  url   = "https://confluence.example.com"
  token = "x"
}
%s`
	on := mustLoad(t, LoadOptions{Path: writeConfig(t, map[string]string{"main.hcl": fmt.Sprintf(base,
		"server {\n  operator_token = env(\"OPERATOR_TOKEN\")\n}\n")}), Getenv: func(string) string { return token }})
	if on.Server.OperatorToken.Reveal() != token {
		t.Errorf("operator_token = %q, want the environment's value", on.Server.OperatorToken.Reveal())
	}
	if s := fmt.Sprintf("%v %+v %#v", on.Server, on.Server, on.Server); strings.Contains(s, token) {
		t.Errorf("printing the server block shows the token: %s", s)
	}
	off := mustLoad(t, LoadOptions{Path: writeConfig(t, map[string]string{"main.hcl": fmt.Sprintf(base, "server {}\n")})})
	if off.Server.OperatorToken != "" {
		t.Errorf("operator_token without the attribute = %q", off.Server.OperatorToken.Reveal())
	}
}
