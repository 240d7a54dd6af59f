// Package plan is confsync's engine: it builds the desired Confluence state
// from identity sources and mappings, diffs it against what Confluence holds
// and what confsync owns, and applies the result. Computing a plan never
// prints; views render it.
//
// The package declares the small interfaces it consumes (Source, Target,
// StateStore) and never imports a concrete provider.
package plan
