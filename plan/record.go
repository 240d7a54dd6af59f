package plan

// recordedChange is the copy of a change kept in the audit log: what it
// changed, before and after, without its place in the plan.
func recordedChange(c *Change) *Change {
	rc := *c
	rc.DependsOn = nil
	return &rc
}
