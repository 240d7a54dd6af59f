confluence {
  url   = "https://confluence.example.com"
  token = "t"
}

confluence { # ERROR: Duplicate confluence block
  url   = "https://other.example.com"
  token = "t"
}

store {
  sqlite = "a.db"
}

store { # ERROR: Duplicate store block
  sqlite = "b.db"
}

server {}
server {} # ERROR: Duplicate server block

safety {}
safety {} # ERROR: Duplicate safety block

idp "entra" {
  scim {}
  users {}
  users {} # ERROR: Duplicate users block
}
