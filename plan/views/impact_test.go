package views

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/confsync/confsync/plan"
)

// impactPlan is samplePlan with what its removals take away: zoe's
// removal from devs, carol's disable, mallory's deletion and a read that
// failed.
func impactPlan() *plan.Plan {
	p := samplePlan()
	var many []string
	for i := range 14 {
		many = append(many, fmt.Sprintf("S%02d", i))
	}
	p.Impact = &plan.PermissionImpact{
		SpaceAccessLost: 17,
		Changes: []plan.ChangeImpact{
			{Change: 9, Object: "membership zoe -> devs", Losses: []plan.PermissionLoss{
				{Group: "devs", Permission: "space read", GrantedIn: 14, Spaces: many, Users: []string{"zoe"}},
				{Group: "devs", Permission: "page create", GrantedIn: 14, Spaces: many[:2], Users: []string{"zoe"}},
			}},
			{Change: 12, Object: "group old-team", Losses: []plan.PermissionLoss{
				{Group: "old-team", Permission: "space administer", GrantedIn: 1, Spaces: []string{"OLD"}, Users: []string{"ann", "ben", "cid"}},
				{Group: "old-team", Permission: "space create", Global: true, Users: []string{"ann", "ben", "cid"}},
			}},
		},
		Unknown: []string{"global permissions: confluence: GET /rest/api/permissions/group/old-team: 503"},
	}
	return p
}

func TestHumanImpactGolden(t *testing.T) {
	var b bytes.Buffer
	if err := Human(&b, impactPlan(), HumanOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "human-impact", b.Bytes())
}

func TestJSONImpactGolden(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, impactPlan()); err != nil {
		t.Fatal(err)
	}
	golden(t, "json-impact", b.Bytes())
}
