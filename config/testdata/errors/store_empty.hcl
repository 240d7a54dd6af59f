store { # ERROR: Empty store block
}
