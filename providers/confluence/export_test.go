package confluence

// EndpointsForTest lists the endpoint table as "METHOD /template" for the
// external tests, which check every request sent against it.
func EndpointsForTest() []string {
	var out []string
	for _, ep := range endpoints {
		out = append(out, ep.Method+" "+ep.Template)
	}
	return out
}
