package scim

import (
	"strings"
)

// Schema URNs.
const (
	UserSchema       = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupSchema      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

	listResponseSchema = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	patchOpSchema      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	searchSchema       = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	errorSchema        = "urn:ietf:params:scim:api:messages:2.0:Error"
	schemaSchema       = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	resourceTypeSchema = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	spConfigSchema     = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
)

// attrDef describes one attribute of a schema (RFC 7643 §7).
type attrDef struct {
	Name        string
	Type        string // string, boolean, complex, dateTime, reference, integer, decimal, binary
	Multi       bool
	CaseExact   bool
	Required    bool
	Mutability  string // readWrite (default), readOnly, immutable, writeOnly
	Returned    string // default (default), always, never, request
	Uniqueness  string // none (default), server, global
	RefTypes    []string
	Canonical   []string
	Description string
	Sub         []*attrDef
}

// schemaDef is a resource schema or extension.
type schemaDef struct {
	ID          string
	Name        string
	Description string
	Attrs       []*attrDef
}

func (s *schemaDef) attr(name string) *attrDef { return findAttr(s.Attrs, name) }

func findAttr(defs []*attrDef, name string) *attrDef {
	for _, d := range defs {
		if strings.EqualFold(d.Name, name) {
			return d
		}
	}
	return nil
}

func str(name, desc string) *attrDef { return &attrDef{Name: name, Type: "string", Description: desc} }

func multiValued(name, desc string, sub ...*attrDef) *attrDef {
	return &attrDef{Name: name, Type: "complex", Multi: true, Description: desc, Sub: sub}
}

func typedSubs(valueType string, canonical ...string) []*attrDef {
	return []*attrDef{
		{Name: "value", Type: valueType, Description: "The value."},
		str("display", "A human-readable name, primarily used for display purposes."),
		{Name: "type", Type: "string", Canonical: canonical, Description: "A label indicating the attribute's function."},
		{Name: "primary", Type: "boolean", Description: "Indicates the primary or preferred value."},
	}
}

var userSchemaDef = &schemaDef{
	ID:          UserSchema,
	Name:        "User",
	Description: "User Account",
	Attrs: []*attrDef{
		{Name: "userName", Type: "string", Required: true, Uniqueness: "server", Description: "Unique identifier for the User, typically used by the user to directly authenticate to the service provider. Unique per identity provider, case-insensitively."},
		{Name: "name", Type: "complex", Description: "The components of the user's real name.", Sub: []*attrDef{
			str("formatted", "The full name."),
			str("familyName", "The family name of the User."),
			str("givenName", "The given name of the User."),
			str("middleName", "The middle name(s) of the User."),
			str("honorificPrefix", "The honorific prefix(es) of the User."),
			str("honorificSuffix", "The honorific suffix(es) of the User."),
		}},
		str("displayName", "The name of the User, suitable for display to end-users."),
		str("nickName", "The casual way to address the user."),
		{Name: "profileUrl", Type: "reference", RefTypes: []string{"external"}, Description: "A fully qualified URL pointing to a page representing the User's online profile."},
		str("title", "The user's title, such as \"Vice President\"."),
		str("userType", "Used to identify the relationship between the organization and the user."),
		str("preferredLanguage", "Indicates the User's preferred written or spoken language."),
		str("locale", "Used to indicate the User's default location."),
		str("timezone", "The User's time zone in the 'Olson' time zone database format."),
		{Name: "active", Type: "boolean", Description: "A Boolean value indicating the User's administrative status."},
		{Name: "password", Type: "string", Mutability: "writeOnly", Returned: "never", Description: "Accepted and discarded: confsync never stores passwords."},
		multiValued("emails", "Email addresses for the user.", typedSubs("string", "work", "home", "other")...),
		multiValued("phoneNumbers", "Phone numbers for the User.", typedSubs("string", "work", "home", "mobile", "fax", "pager", "other")...),
		multiValued("ims", "Instant messaging addresses for the User.", typedSubs("string")...),
		multiValued("photos", "URLs of photos of the User.", typedSubs("reference", "photo", "thumbnail")...),
		multiValued("addresses", "A physical mailing address for this User.",
			str("formatted", "The full mailing address."),
			str("streetAddress", "The full street address component."),
			str("locality", "The city or locality component."),
			str("region", "The state or region component."),
			str("postalCode", "The zip code or postal code component."),
			str("country", "The country name component."),
			&attrDef{Name: "type", Type: "string", Canonical: []string{"work", "home", "other"}, Description: "A label indicating the attribute's function."},
			&attrDef{Name: "primary", Type: "boolean", Description: "Indicates the primary address."},
		),
		{Name: "groups", Type: "complex", Multi: true, Mutability: "readOnly", Description: "A list of groups to which the user belongs, computed from group memberships.", Sub: []*attrDef{
			{Name: "value", Type: "string", Mutability: "readOnly", CaseExact: true, Description: "The identifier of the User's group."},
			{Name: "$ref", Type: "reference", RefTypes: []string{"Group"}, Mutability: "readOnly", Description: "The URI of the corresponding Group resource."},
			{Name: "display", Type: "string", Mutability: "readOnly", Description: "The group's displayName."},
			{Name: "type", Type: "string", Mutability: "readOnly", Canonical: []string{"direct", "indirect"}, Description: "How the membership was derived."},
		}},
		multiValued("entitlements", "A list of entitlements for the User.", typedSubs("string")...),
		multiValued("roles", "A list of roles for the User.", typedSubs("string")...),
		multiValued("x509Certificates", "A list of certificates issued to the User.", typedSubs("binary")...),
	},
}

var enterpriseSchemaDef = &schemaDef{
	ID:          EnterpriseSchema,
	Name:        "EnterpriseUser",
	Description: "Enterprise User",
	Attrs: []*attrDef{
		str("employeeNumber", "Numeric or alphanumeric identifier assigned to a person."),
		str("costCenter", "Identifies the name of a cost center."),
		str("organization", "Identifies the name of an organization."),
		str("division", "Identifies the name of a division."),
		str("department", "Identifies the name of a department."),
		{Name: "manager", Type: "complex", Description: "The User's manager.", Sub: []*attrDef{
			{Name: "value", Type: "string", CaseExact: true, Description: "The id of the SCIM resource representing the User's manager."},
			{Name: "$ref", Type: "reference", RefTypes: []string{"User"}, Description: "The URI of the SCIM resource representing the User's manager."},
			{Name: "displayName", Type: "string", Mutability: "readOnly", Description: "The displayName of the User's manager."},
		}},
	},
}

var groupSchemaDef = &schemaDef{
	ID:          GroupSchema,
	Name:        "Group",
	Description: "Group",
	Attrs: []*attrDef{
		{Name: "displayName", Type: "string", Required: true, Uniqueness: "server", Description: "A human-readable name for the Group; unique per identity provider, case-insensitively."},
		{Name: "members", Type: "complex", Multi: true, Description: "A list of members of the Group, kept as rows.", Sub: []*attrDef{
			{Name: "value", Type: "string", Mutability: "immutable", CaseExact: true, Description: "Identifier of the member of this Group."},
			{Name: "$ref", Type: "reference", RefTypes: []string{"User", "Group"}, Mutability: "immutable", Description: "The URI of the member resource."},
			{Name: "type", Type: "string", Mutability: "immutable", Canonical: []string{"User", "Group"}, Description: "The type of the member."},
			{Name: "display", Type: "string", Mutability: "readOnly", Description: "A human-readable name of the member."},
		}},
	},
}

// commonAttrs are the attributes every resource has (RFC 7643 §3.1).
var commonAttrs = []*attrDef{
	{Name: "id", Type: "string", CaseExact: true, Mutability: "readOnly", Returned: "always", Uniqueness: "server", Description: "Unique identifier assigned by confsync."},
	{Name: "externalId", Type: "string", CaseExact: true, Description: "Identifier assigned by the identity provider."},
	{Name: "meta", Type: "complex", Mutability: "readOnly", Description: "Resource metadata.", Sub: []*attrDef{
		{Name: "resourceType", Type: "string", CaseExact: true, Mutability: "readOnly"},
		{Name: "created", Type: "dateTime", Mutability: "readOnly"},
		{Name: "lastModified", Type: "dateTime", Mutability: "readOnly"},
		{Name: "location", Type: "reference", CaseExact: true, Mutability: "readOnly"},
		{Name: "version", Type: "string", CaseExact: true, Mutability: "readOnly"},
	}},
}

// resourceKind is Users or Groups.
type resourceKind struct {
	name       string // "User" / "Group"
	endpoint   string // "Users" / "Groups"
	core       *schemaDef
	extensions []*schemaDef
}

var (
	userKind  = &resourceKind{name: "User", endpoint: "Users", core: userSchemaDef, extensions: []*schemaDef{enterpriseSchemaDef}}
	groupKind = &resourceKind{name: "Group", endpoint: "Groups", core: groupSchemaDef}
)

// extension returns the extension schema whose URN is urn, or nil.
func (k *resourceKind) extension(urn string) *schemaDef {
	for _, e := range k.extensions {
		if strings.EqualFold(e.ID, urn) {
			return e
		}
	}
	return nil
}

// def returns the definition of a top-level attribute, looking in the
// common attributes, the core schema and (when urn is set) an extension.
func (k *resourceKind) def(urn, name string) *attrDef {
	if urn != "" && !strings.EqualFold(urn, k.core.ID) {
		if e := k.extension(urn); e != nil {
			return e.attr(name)
		}
		return nil
	}
	if d := findAttr(commonAttrs, name); d != nil {
		return d
	}
	return k.core.attr(name)
}

// caseExact implements filter.CaseExactFunc for the kind.
func (k *resourceKind) caseExact(urn, name, sub string) bool {
	d := k.def(urn, name)
	if d == nil {
		return false
	}
	if sub == "" {
		return d.CaseExact
	}
	if sd := findAttr(d.Sub, sub); sd != nil {
		return sd.CaseExact
	}
	return false
}

// extensionOf returns the extension that defines an attribute the core
// schema does not, for unqualified names in legacy Entra requests
// ("manager", "department" without their URN).
func (k *resourceKind) extensionOf(name string) *schemaDef {
	if k.def("", name) != nil {
		return nil
	}
	for _, e := range k.extensions {
		if e.attr(name) != nil {
			return e
		}
	}
	return nil
}
