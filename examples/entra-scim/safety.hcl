# Stop a plan that would do more damage than a normal day's changes: a
# misconfigured provisioning scope in Entra ID must not deactivate half
# the company. A count, or a percentage of the users confsync manages.
safety {
  max_deactivations       = "5%"
  max_membership_removals = 200
  max_deletions           = 0
}
