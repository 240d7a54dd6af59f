server {
  listen             = "localhost"  # ERROR: Invalid listen address
  debounce           = "2 seconds"  # ERROR: Invalid duration
  reconcile_interval = "10s"        # ERROR: Reconcile interval too short
  max_body_bytes     = 10           # ERROR: Value out of range
  auto_apply         = "sometimes"  # ERROR: Incorrect attribute value type
  operator_token     = "x1y2z3"     # ERROR: Operator token too short
}
