package graph

// AlwaysSaveCursor makes s save its delta state after every round, even
// one that changed nothing and kept its links (the emulator's deltaLinks
// do not change when nothing did; Graph's do).
func AlwaysSaveCursor(s *Source) { s.alwaysSave = true }
