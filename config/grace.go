package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// maxDeleteAfter bounds users.delete_after: ten years.
const maxDeleteAfter = 10 * 365 * 24 * time.Hour

// decodeDeleteAfter decodes users.delete_after: a number of days ("30d")
// or a Go duration ("36h"), at least one hour.
func (l *loader) decodeDeleteAfter(attr *hcl.Attribute) (time.Duration, bool, hcl.Diagnostics) {
	s, ok, diags := l.str(attr)
	if !ok {
		return 0, false, diags
	}
	s = strings.TrimSpace(s)
	bad := func(detail string) (time.Duration, bool, hcl.Diagnostics) {
		return 0, false, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid grace period",
			Detail:   detail,
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(days))
		if err != nil {
			return bad(fmt.Sprintf("%q is not a number of days; write it as \"30d\" (days) or a duration such as \"36h\".", s))
		}
		d = time.Duration(n) * 24 * time.Hour
		if n > int(maxDeleteAfter/(24*time.Hour)) {
			d = maxDeleteAfter + 1
		}
	} else {
		var err error
		d, err = time.ParseDuration(s)
		if err != nil {
			return bad(fmt.Sprintf("%q is not a grace period; write it as \"30d\" (days) or a duration such as \"36h\".", s))
		}
	}
	if d < time.Hour || d > maxDeleteAfter {
		return bad(fmt.Sprintf("The grace period %q is out of range: it must be from 1 hour to 3650 days.", s))
	}
	return d, true, diags
}
