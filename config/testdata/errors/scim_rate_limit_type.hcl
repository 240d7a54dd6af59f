server {
  scim_requests_per_second = "fast" # ERROR: Incorrect attribute value type
  scim_request_burst       = 0      # ERROR: Value out of range
}
