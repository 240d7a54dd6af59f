package scim

import (
	"net/http"
	"net/url"
	"strings"
)

// serviceProviderConfig answers GET /ServiceProviderConfig (RFC 7643 §5).
func (s *Server) serviceProviderConfig(r *request) map[string]any {
	return map[string]any{
		"schemas":          []string{spConfigSchema},
		"documentationUri": "https://github.com/confsync/confsync/blob/main/docs/scim.md",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": MaxPageSize},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": false},
		"etag":             map[string]any{"supported": true},
		"authenticationSchemes": []any{map[string]any{
			"type":        "oauthbearertoken",
			"name":        "OAuth Bearer Token",
			"description": "A bearer token created with `confsync token create`, or configured by its SHA-256 hash.",
			"primary":     true,
		}},
		"meta": map[string]any{
			"resourceType": "ServiceProviderConfig",
			"location":     r.base + "/ServiceProviderConfig",
		},
	}
}

func (s *Server) resourceType(r *request, k *resourceKind) map[string]any {
	rt := map[string]any{
		"schemas":     []string{resourceTypeSchema},
		"id":          k.name,
		"name":        k.name,
		"endpoint":    "/" + k.endpoint,
		"description": k.core.Description,
		"schema":      k.core.ID,
		"meta": map[string]any{
			"resourceType": "ResourceType",
			"location":     r.base + "/ResourceTypes/" + k.name,
		},
	}
	if len(k.extensions) > 0 {
		var exts []any
		for _, e := range k.extensions {
			exts = append(exts, map[string]any{"schema": e.ID, "required": false})
		}
		rt["schemaExtensions"] = exts
	}
	return rt
}

// resourceTypes answers GET /ResourceTypes and /ResourceTypes/{name}.
func (s *Server) resourceTypes(w http.ResponseWriter, r *request, rest []string) error {
	kinds := []*resourceKind{userKind, groupKind}
	if len(rest) == 1 {
		for _, k := range kinds {
			if strings.EqualFold(rest[0], k.name) {
				return writeJSON(w, http.StatusOK, s.resourceType(r, k))
			}
		}
		return errorf(http.StatusNotFound, "", "no resource type %q", rest[0])
	}
	if len(rest) > 1 {
		return errorf(http.StatusNotFound, "", "no SCIM endpoint at this path")
	}
	var res []any
	for _, k := range kinds {
		res = append(res, s.resourceType(r, k))
	}
	return writeJSON(w, http.StatusOK, listResponse{Schemas: []string{listResponseSchema}, TotalResults: len(res), StartIndex: 1, ItemsPerPage: len(res), Resources: res})
}

var allSchemas = []*schemaDef{userSchemaDef, enterpriseSchemaDef, groupSchemaDef}

func attrJSON(d *attrDef) map[string]any {
	m := map[string]any{
		"name":        d.Name,
		"type":        d.Type,
		"multiValued": d.Multi,
		"description": d.Description,
		"required":    d.Required,
		"caseExact":   d.CaseExact,
		"mutability":  or(d.Mutability, "readWrite"),
		"returned":    or(d.Returned, "default"),
		"uniqueness":  or(d.Uniqueness, "none"),
	}
	if d.Type == "reference" {
		m["referenceTypes"] = or2(d.RefTypes, []string{"external"})
	}
	if len(d.Canonical) > 0 {
		m["canonicalValues"] = d.Canonical
	}
	if len(d.Sub) > 0 {
		var subs []any
		for _, sd := range d.Sub {
			subs = append(subs, attrJSON(sd))
		}
		m["subAttributes"] = subs
	}
	return m
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func or2(s, def []string) []string {
	if len(s) == 0 {
		return def
	}
	return s
}

func (s *Server) schemaJSON(r *request, sd *schemaDef) map[string]any {
	var attrs []any
	for _, d := range sd.Attrs {
		attrs = append(attrs, attrJSON(d))
	}
	return map[string]any{
		"schemas":     []string{schemaSchema},
		"id":          sd.ID,
		"name":        sd.Name,
		"description": sd.Description,
		"attributes":  attrs,
		"meta": map[string]any{
			"resourceType": "Schema",
			"location":     r.base + "/Schemas/" + sd.ID,
		},
	}
}

// schemas answers GET /Schemas and /Schemas/{urn}.
func (s *Server) schemas(w http.ResponseWriter, r *request, rest []string) error {
	if len(rest) >= 1 {
		id, err := url.PathUnescape(strings.Join(rest, "/"))
		if err != nil {
			id = strings.Join(rest, "/")
		}
		for _, sd := range allSchemas {
			if strings.EqualFold(sd.ID, id) {
				return writeJSON(w, http.StatusOK, s.schemaJSON(r, sd))
			}
		}
		return errorf(http.StatusNotFound, "", "no schema %q", id)
	}
	var res []any
	for _, sd := range allSchemas {
		res = append(res, s.schemaJSON(r, sd))
	}
	return writeJSON(w, http.StatusOK, listResponse{Schemas: []string{listResponseSchema}, TotalResults: len(res), StartIndex: 1, ItemsPerPage: len(res), Resources: res})
}
