safety {
  max_space_access_lost = "5%" # ERROR: Invalid threshold
}
