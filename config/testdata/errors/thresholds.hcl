safety {
  max_deactivations       = "150%" # ERROR: Invalid threshold
  max_membership_removals = -1     # ERROR: Invalid threshold
  max_deletions           = "five" # ERROR: Invalid threshold
}
