package ldap

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"slices"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
)

// scriptedConn is a net.Conn whose server side is canned bytes; what the
// client writes is discarded.
type scriptedConn struct {
	net.Conn
	r *bytes.Reader
}

func (c *scriptedConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *scriptedConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *scriptedConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptedConn) Close() error                     { return nil }
func (c *scriptedConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptedConn) SetWriteDeadline(time.Time) error { return nil }
func (c *scriptedConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *scriptedConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func newScripted(server []byte) *wireConn {
	c := newWireConn(&scriptedConn{r: bytes.NewReader(server)}, time.Second)
	c.r = bufio.NewReader(c.nc)
	return c
}

// message encodes an LDAPMessage with id 1 as a server would send it.
func message(op *ber.Packet, controls ...*ber.Packet) []byte {
	msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 1, ""))
	msg.AppendChild(op)
	if len(controls) > 0 {
		cp := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "")
		for _, c := range controls {
			cp.AppendChild(c)
		}
		msg.AppendChild(cp)
	}
	return msg.Bytes()
}

func entryMessage(dn string, attrs map[string][]string) []byte {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 4, nil, "")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, ""))
	list := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range attrs {
			if !yield(k) {
				return
			}
		}
	}) {
		a := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
		a.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, name, ""))
		set := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "")
		for _, v := range attrs[name] {
			set.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, ""))
		}
		a.AppendChild(set)
		list.AppendChild(a)
	}
	op.AppendChild(list)
	return message(op)
}

func doneMessage(code int, diag string, cookie string) []byte {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 5, nil, "")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, code, ""))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", ""))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, diag, ""))
	paging := goldap.NewControlPaging(500)
	paging.SetCookie([]byte(cookie))
	return message(op, paging.Encode())
}

func searchReq() *goldap.SearchRequest {
	return goldap.NewSearchRequest("dc=x", goldap.ScopeWholeSubtree, 0, 0, 0, false, "(objectClass=*)", []string{"cn"}, nil)
}

func TestWireSearch(t *testing.T) {
	var server []byte
	server = append(server, entryMessage("cn=a,dc=x", map[string][]string{"cn": {"a"}, "member": {"cn=b,dc=x", "cn=c,dc=x"}})...)
	server = append(server, entryMessage("cn=empty,dc=x", nil)...)
	server = append(server, doneMessage(0, "", "next")...)
	res, err := newScripted(server).Search(searchReq())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != 2 || res.Entries[0].DN != "cn=a,dc=x" {
		t.Fatalf("entries = %+v", res.Entries)
	}
	if got := res.Entries[0].GetAttributeValues("member"); !slices.Equal(got, []string{"cn=b,dc=x", "cn=c,dc=x"}) {
		t.Errorf("member = %v", got)
	}
	if got := res.Entries[0].GetRawAttributeValue("cn"); string(got) != "a" {
		t.Errorf("raw cn = %q", got)
	}
	p, ok := goldap.FindControl(res.Controls, goldap.ControlTypePaging).(*goldap.ControlPaging)
	if !ok || string(p.Cookie) != "next" {
		t.Errorf("controls = %v", res.Controls)
	}

	t.Run("result code", func(t *testing.T) {
		server := append(entryMessage("cn=a,dc=x", nil), doneMessage(4, "size limit exceeded", "")...)
		res, err := newScripted(server).Search(searchReq())
		if !goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) || len(res.Entries) != 1 {
			t.Fatalf("Search = %v, %v", res, err)
		}
	})
	t.Run("cut short", func(t *testing.T) {
		full := append(entryMessage("cn=a,dc=x", nil), doneMessage(0, "", "")...)
		for n := range len(full) - 1 {
			_, err := newScripted(full[:n]).Search(searchReq())
			if !goldap.IsErrorWithCode(err, goldap.ErrorNetwork) {
				t.Fatalf("Search of %d of %d bytes = %v, want a network error", n, len(full), err)
			}
		}
	})
	t.Run("notice of disconnection", func(t *testing.T) {
		op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 24, nil, "")
		op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, 52, ""))
		op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", ""))
		op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "shutting down", ""))
		msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
		msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 0, ""))
		msg.AppendChild(op)
		_, err := newScripted(msg.Bytes()).Search(searchReq())
		var le *goldap.Error
		if !errors.As(err, &le) || le.ResultCode != goldap.ErrorNetwork {
			t.Fatalf("err = %v", err)
		}
	})
}

// FuzzSearchResponse feeds arbitrary server bytes to a search: the client
// must return an error or a result, never panic or hang.
func FuzzSearchResponse(f *testing.F) {
	f.Add(append(entryMessage("cn=a,dc=x", map[string][]string{"cn": {"a"}}), doneMessage(0, "", "c")...))
	f.Add(doneMessage(10, "referral", ""))
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, server []byte) {
		res, err := newScripted(server).Search(searchReq())
		if err == nil && res == nil {
			t.Fatal("no result and no error")
		}
	})
}
