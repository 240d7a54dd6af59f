server {
  scim_requests_per_second = -1     # ERROR: Value out of range
  scim_request_burst       = 2.5    # ERROR: Invalid number
}
