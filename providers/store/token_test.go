package store

import "testing"

// TestTokenHash checks the one token hash against the published SHA-256
// test vector and what sha256sum prints, and that ParseTokenHash takes
// back exactly that form.
func TestTokenHash(t *testing.T) {
	const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" // FIPS 180-2, "abc"
	if got := TokenHash("abc"); got != abc {
		t.Fatalf("TokenHash(abc) = %s, want %s", got, abc)
	}
	sum := TokenSum("abc")
	b, ok := ParseTokenHash(abc)
	if !ok || string(b) != string(sum[:]) {
		t.Fatalf("ParseTokenHash(TokenHash) = %x, %v; want %x", b, ok, sum)
	}
	for _, bad := range []string{"", "abc", abc[:62], abc + "00", "zz" + abc[2:]} {
		if _, ok := ParseTokenHash(bad); ok {
			t.Errorf("ParseTokenHash(%q) accepted", bad)
		}
	}
}
