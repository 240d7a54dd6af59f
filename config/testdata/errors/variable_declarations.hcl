variable "count" {
  type    = number
  default = "many" # ERROR: Invalid default value for variable
}

variable "count" { # ERROR: Duplicate variable declaration
  default = 1
}

variable "other" {
  default = var.count # ERROR: Variables not allowed
}

variable "flag" {
  sensitive = "maybe" # ERROR: Invalid sensitive flag
  default   = "x"
}
