# A configuration split over several files, with mistakes in each: all are
# reported at once, each in its own file.
variable "token" {
  sensitive = true
  default   = "a-default-token"
}

variable "required" { # ERROR: No value for required variable
}
