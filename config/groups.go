package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// groupsSchema is the body of an idp's groups block.
var groupsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "mode"},
		{Name: "create_missing"},
		{Name: "default_groups_new"},
		{Name: "default_groups_all"},
		{Name: "keep_existing"},
		{Name: "include"},
		{Name: "exclude"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "rename"},
		{Type: "map", LabelNames: []string{"idp_group"}},
	},
}

// mapSchema is the body of a map "IDP GROUP" block.
var mapSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "to", Required: true},
	},
}

func defaultGroupSync() GroupSync {
	return GroupSync{Mode: GroupModeManual, KeepExisting: true}
}

// decodeGroups decodes an idp's groups block.
func (l *loader) decodeGroups(block *hcl.Block, idp string) (*GroupSync, hcl.Diagnostics) {
	g := defaultGroupSync()
	content, diags := block.Body.Content(groupsSchema)
	a := content.Attributes
	if attr, ok := a["mode"]; ok {
		s, ok, d := l.str(attr)
		diags = append(diags, d...)
		if ok {
			if s != GroupModeManual && s != GroupModeOnTheFly {
				diags = append(diags, attrError(attr, "Invalid group mode",
					fmt.Sprintf("The mode is %q (only the map blocks count) or %q (an IdP group maps to the Confluence group of the same name).", GroupModeManual, GroupModeOnTheFly)))
			} else {
				g.Mode = s
			}
		}
	}
	for _, f := range []struct {
		name string
		dst  *bool
	}{
		{"create_missing", &g.CreateMissing},
		{"keep_existing", &g.KeepExisting},
	} {
		if attr, ok := a[f.name]; ok {
			b, ok, d := l.boolean(attr)
			diags = append(diags, d...)
			if ok {
				*f.dst = b
			}
		}
	}
	for _, f := range []struct {
		name string
		dst  *[]string
	}{
		{"default_groups_new", &g.DefaultGroupsNew},
		{"default_groups_all", &g.DefaultGroupsAll},
	} {
		if attr, ok := a[f.name]; ok {
			names, d := l.groupTargets(attr, f.name, f.name, idp)
			diags = append(diags, d...)
			*f.dst = names
		}
	}
	for _, name := range []string{"include", "exclude"} {
		attr, ok := a[name]
		if !ok {
			continue
		}
		items, _, d := l.strList(attr)
		diags = append(diags, d...)
		for _, it := range items {
			re, d := compileRegexp(it, name)
			diags = append(diags, d...)
			if re == nil {
				continue
			}
			if name == "include" {
				g.Include = append(g.Include, re)
			} else {
				g.Exclude = append(g.Exclude, re)
			}
		}
	}

	var firstRename *hcl.Block
	maps := map[string]*hcl.Block{}
	for _, b := range content.Blocks {
		switch b.Type {
		case "rename":
			if firstRename != nil {
				diags = append(diags, duplicateBlock(b, firstRename))
				continue
			}
			firstRename = b
			r, d := l.decodeRewrite(b)
			diags = append(diags, d...)
			g.Rename = r
		case "map":
			from := b.Labels[0]
			// IdP group names match case-insensitively.
			key := strings.ToLower(from)
			if prev, ok := maps[key]; ok {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Duplicate map block",
					Detail:   fmt.Sprintf("The IdP group %q is already mapped at %s (IdP group names match regardless of case); list every target in one map block's to.", from, at(prev.DefRange)),
					Subject:  b.LabelRanges[0].Ptr(),
				})
				continue
			}
			maps[key] = b
			m, d := l.decodeMap(b, idp)
			diags = append(diags, d...)
			if m != nil {
				g.Map = append(g.Map, *m)
			}
		}
	}
	if attr, ok := a["create_missing"]; ok && g.CreateMissing && g.Mode == GroupModeManual {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "create_missing has no effect in manual mode",
			Detail:   `create_missing lets mode = "on_the_fly" create Confluence groups; in manual mode the groups named by map blocks are created when missing anyway.`,
			Subject:  attr.NameRange.Ptr(),
		})
	}
	if g.Rename != nil && g.Mode == GroupModeManual {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "rename has no effect in manual mode",
			Detail:   `A rename block rewrites IdP group names for mode = "on_the_fly"; in manual mode only the map blocks count.`,
			Subject:  firstRename.DefRange.Ptr(),
		})
	}
	return &g, diags
}

// decodeMap decodes a map "IDP GROUP" { to = [...] } block.
func (l *loader) decodeMap(block *hcl.Block, idp string) (*GroupMap, hcl.Diagnostics) {
	m := &GroupMap{From: block.Labels[0], DeclRange: block.DefRange}
	content, diags := block.Body.Content(mapSchema)
	if m.From == "" {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Empty IdP group name",
			Detail:   `A map block is labelled with the IdP group's name: map "Engineering" { to = ["confluence-users"] }.`,
			Subject:  block.LabelRanges[0].Ptr(),
		})
	}
	attr, ok := content.Attributes["to"]
	if !ok {
		return nil, diags
	}
	names, d := l.groupTargets(attr, "to", fmt.Sprintf("its map %q block", m.From), idp)
	diags = append(diags, d...)
	if len(names) == 0 && !d.HasErrors() {
		diags = append(diags, attrError(attr, "Empty mapping", "A map block's to lists at least one Confluence group."))
	}
	m.To = names
	if diags.HasErrors() {
		return nil, diags
	}
	return m, diags
}

// groupTargets decodes a list of Confluence groups a mapping writes to and
// remembers them for the protected-group check.
func (l *loader) groupTargets(attr *hcl.Attribute, what, via, idp string) ([]string, hcl.Diagnostics) {
	items, _, diags := l.strList(attr)
	names, d := l.names(items, what, "group name", ValidGroupName)
	diags = append(diags, d...)
	for _, it := range items {
		l.groupRefs = append(l.groupRefs, groupRef{name: lowerName(it.Value), what: via, idp: idp, rng: it.Range})
	}
	return names, diags
}
