package config

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// safetySchema is the body of the safety block.
var safetySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "max_deactivations"},
		{Name: "max_membership_removals"},
		{Name: "max_deletions"},
		{Name: "max_space_access_lost"},
	},
}

// decodeSafety decodes the safety block.
func (l *loader) decodeSafety(block *hcl.Block) (*Safety, hcl.Diagnostics) {
	s := &Safety{}
	content, diags := block.Body.Content(safetySchema)
	for _, f := range []struct {
		name string
		dst  *Threshold
	}{
		{"max_deactivations", &s.MaxDeactivations},
		{"max_membership_removals", &s.MaxMembershipRemovals},
		{"max_deletions", &s.MaxDeletions},
	} {
		name, dst := f.name, f.dst
		attr, ok := content.Attributes[name]
		if !ok {
			continue
		}
		t, d := l.decodeThreshold(attr)
		diags = append(diags, d...)
		if t != nil {
			*dst = *t
		}
	}
	if attr, ok := content.Attributes["max_space_access_lost"]; ok {
		t, d := l.decodeThreshold(attr)
		diags = append(diags, d...)
		switch {
		case t != nil && t.IsPercent:
			diags = append(diags, attrError(attr, "Invalid threshold",
				"max_space_access_lost is a count of (user, space) pairs that lose access, such as 50; a percentage has nothing to be a percentage of."))
		case t != nil:
			s.MaxSpaceAccessLost = *t
		}
	}
	return s, diags
}

// decodeThreshold decodes a count (5) or a percentage ("5%").
func (l *loader) decodeThreshold(attr *hcl.Attribute) (*Threshold, hcl.Diagnostics) {
	v, diags := l.eval(attr.Expr)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		return nil, diags
	}
	bad := func(detail string) (*Threshold, hcl.Diagnostics) {
		return nil, append(diags, attrError(attr, "Invalid threshold", detail))
	}
	if v.IsMarked() {
		return bad("A threshold cannot come from a sensitive variable.")
	}
	if v.IsNull() {
		return bad(fmt.Sprintf("The %s attribute must be a count such as 10 or a percentage such as \"5%%\".", attr.Name))
	}
	switch v.Type() {
	case cty.Number:
		return countThreshold(v.AsBigFloat(), attr, bad, diags)
	case cty.String:
		s := strings.TrimSpace(v.AsString())
		if p, ok := strings.CutSuffix(s, "%"); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return bad(fmt.Sprintf("%q is not a percentage; write a number followed by %%, such as \"5%%\".", s))
			}
			if f < 0 || f > 100 {
				return bad(fmt.Sprintf("The percentage %s is out of range: it must be from 0%% to 100%%.", s))
			}
			return &Threshold{Set: true, Percent: f, IsPercent: true}, diags
		}
		bf, _, err := big.ParseFloat(s, 10, 64, big.ToNearestEven)
		if err != nil {
			return bad(fmt.Sprintf("%q is neither a count such as 10 nor a percentage such as \"5%%\".", s))
		}
		return countThreshold(bf, attr, bad, diags)
	default:
		return bad(fmt.Sprintf("The %s attribute must be a count such as 10 or a percentage such as \"5%%\".", attr.Name))
	}
}

func countThreshold(bf *big.Float, attr *hcl.Attribute, bad func(string) (*Threshold, hcl.Diagnostics), diags hcl.Diagnostics) (*Threshold, hcl.Diagnostics) {
	if bf.Sign() < 0 {
		return bad(fmt.Sprintf("The %s attribute must not be negative.", attr.Name))
	}
	n, acc := bf.Int64()
	if !bf.IsInt() || acc != big.Exact || n > math.MaxInt32 {
		return bad(fmt.Sprintf("The %s attribute must be a whole number of objects or a percentage such as \"5%%\".", attr.Name))
	}
	return &Threshold{Set: true, Count: int(n)}, diags
}
