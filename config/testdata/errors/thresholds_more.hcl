safety {
  max_deactivations       = "abc%" # ERROR: Invalid threshold
  max_membership_removals = 2.5    # ERROR: Invalid threshold
  max_deletions           = true   # ERROR: Invalid threshold
}
