package config

import "testing"

// TestLDAPDefaulted: the one place LDAP defaults are applied fills only
// what is empty, derives the group id attribute from the user's, and
// leaves the group member attribute empty when memberships are read from
// the user side.
func TestLDAPDefaulted(t *testing.T) {
	d := LDAPSource{}.Defaulted()
	want := LDAPSource{
		UserFilter: DefaultLDAPUserFilter, UserScope: DefaultLDAPScope, UserIDAttribute: DefaultLDAPUserIDAttribute,
		GroupFilter: DefaultLDAPGroupFilter, GroupScope: DefaultLDAPScope, GroupNameAttribute: DefaultLDAPGroupName,
		GroupIDAttribute: DefaultLDAPUserIDAttribute, GroupMemberAttribute: DefaultLDAPMemberAttribute,
		PageSize: DefaultLDAPPageSize, Timeout: DefaultLDAPTimeout,
	}
	if d != want {
		t.Errorf("Defaulted() = %+v\nwant %+v", d, want)
	}
	ad := LDAPSource{UserIDAttribute: "objectGUID", UserMemberOfAttribute: "memberOf", UserScope: "one", PageSize: 1000}.Defaulted()
	if ad.GroupIDAttribute != "objectGUID" || ad.GroupMemberAttribute != "" || ad.UserScope != "one" || ad.PageSize != 1000 {
		t.Errorf("Defaulted() overrode or missed settings: %+v", ad)
	}
}
