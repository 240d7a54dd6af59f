package main

import "github.com/confsync/confsync/plan"

// permissions is the plan's permission reader: the target's, with the
// space permissions kept in the store between plans (plan.CachedPermissions)
// and read in full at most every server.reconcile_interval (an hour when
// unset). Nil leaves Compute to use the target as it is.
func (s *engineSession) permissions() plan.PermissionReader {
	cache, ok := s.store.(plan.SpacePermissionCache)
	reader, rok := s.target.(interface {
		plan.PermissionReader
		plan.SpacePermissionReader
	})
	if !ok || !rok {
		return nil
	}
	age := plan.DefaultPermissionCacheAge
	if s.cfg.Server.ReconcileInterval > 0 {
		age = s.cfg.Server.ReconcileInterval
	}
	cp := &plan.CachedPermissions{Reader: reader, Cache: cache, MaxAge: age}
	cp.FullRead = s.refreshPermissions
	return cp
}
