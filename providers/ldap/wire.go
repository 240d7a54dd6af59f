package ldap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
)

// wireConn is the small LDAPv3 client confsync reads directories with: a
// simple bind, StartTLS and searches, one request in flight at a time.
//
// go-ldap's Conn decodes every response into a tree of BER packets with a
// goroutine hand-off per message, which made reading 100,000 users four
// times slower than ldapsearch. wireConn keeps go-ldap for what it does
// once per search (filter compilation, controls, DN parsing, error types)
// and decodes responses in place: one message buffer, reused, and one
// copy per entry. Errors are *goldap.Error values so that they classify
// like go-ldap's.
type wireConn struct {
	nc      net.Conn
	r       *bufio.Reader
	timeout time.Duration
	nextID  int64
	buf     []byte
	names   map[string]string // interned attribute names
}

// maxMessage bounds one LDAP message; an entry larger than this is a
// broken or hostile server rather than a directory entry.
const maxMessage = 64 << 20

// BER tags of the LDAP messages wireConn sends and receives (RFC 4511).
const (
	tagSequence         = 0x30
	tagSet              = 0x31
	tagInteger          = 0x02
	tagOctetString      = 0x04
	tagEnumerated       = 0x0a
	tagBindResponse     = 0x61
	tagSearchEntry      = 0x64
	tagSearchDone       = 0x65
	tagSearchReference  = 0x73
	tagExtendedResponse = 0x78
	tagIntermediate     = 0x79
	tagControls         = 0xa0
	tagReferral         = 0xa3
)

func newWireConn(nc net.Conn, timeout time.Duration) *wireConn {
	return &wireConn{nc: nc, r: bufio.NewReaderSize(nc, 64<<10), timeout: timeout, nextID: 1, names: map[string]string{}}
}

// networkError wraps a transport failure the way go-ldap does, so that it
// classifies as ErrorNetwork.
func networkError(what string, err error) error {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		err = errors.New("the server closed the connection")
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = errors.New("no answer within the timeout")
	}
	return goldap.NewError(goldap.ErrorNetwork, fmt.Errorf("%s: %w", what, err))
}

func protocolError(format string, args ...any) error {
	return goldap.NewError(goldap.ErrorNetwork, fmt.Errorf("malformed LDAP response: "+format, args...))
}

// send writes one LDAPMessage and returns its message id. The connection
// deadline is renewed for every request, so timeout bounds each page.
func (c *wireConn) send(op *ber.Packet, controls []goldap.Control) (int64, error) {
	id := c.nextID
	c.nextID++
	msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
	msg.AppendChild(op)
	if len(controls) > 0 {
		cp := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "")
		for _, ctl := range controls {
			cp.AppendChild(ctl.Encode())
		}
		msg.AppendChild(cp)
	}
	if err := c.nc.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, networkError("set deadline", err)
	}
	if _, err := c.nc.Write(msg.Bytes()); err != nil {
		return 0, networkError("send request", err)
	}
	return id, nil
}

// readMessage reads one LDAPMessage for request id. op and controls alias
// the connection's buffer and are valid until the next read.
func (c *wireConn) readMessage(id int64) (opTag byte, op, controls []byte, err error) {
	tag, err := c.r.ReadByte()
	if err != nil {
		return 0, nil, nil, networkError("read response", err)
	}
	if tag != tagSequence {
		return 0, nil, nil, protocolError("message tag 0x%02x", tag)
	}
	n, err := readLength(c.r)
	if err != nil {
		return 0, nil, nil, err
	}
	if n > maxMessage {
		return 0, nil, nil, protocolError("message of %d bytes", n)
	}
	if cap(c.buf) < n {
		c.buf = make([]byte, n, max(n, 2*cap(c.buf)))
	}
	body := c.buf[:n]
	if _, err := io.ReadFull(c.r, body); err != nil {
		return 0, nil, nil, networkError("read response", err)
	}
	t, v, rest, err := tlv(body)
	if err != nil || t != tagInteger {
		return 0, nil, nil, protocolError("no message id")
	}
	mid, err := parseInt(v)
	if err != nil {
		return 0, nil, nil, err
	}
	opTag, op, rest, err = tlv(rest)
	if err != nil {
		return 0, nil, nil, err
	}
	if len(rest) > 0 {
		t, v, _, err := tlv(rest)
		if err != nil {
			return 0, nil, nil, err
		}
		if t == tagControls {
			controls = v
		}
	}
	if mid == 0 && opTag == tagExtendedResponse {
		// A notice of disconnection (RFC 4511 4.4.1).
		_, diag, _, _ := ldapResult(op)
		return 0, nil, nil, goldap.NewError(goldap.ErrorNetwork, fmt.Errorf("the server is closing the connection: %s", diag))
	}
	if mid != id {
		return 0, nil, nil, protocolError("answer to message %d while waiting for %d", mid, id)
	}
	return opTag, op, controls, nil
}

// readLength reads a BER definite length.
func readLength(r *bufio.Reader) (int, error) {
	b, err := r.ReadByte()
	if err != nil {
		return 0, networkError("read response", err)
	}
	if b < 0x80 {
		return int(b), nil
	}
	k := int(b & 0x7f)
	if k == 0 || k > 4 {
		return 0, protocolError("length of %d bytes", k)
	}
	n := 0
	for range k {
		b, err := r.ReadByte()
		if err != nil {
			return 0, networkError("read response", err)
		}
		n = n<<8 | int(b)
	}
	return n, nil
}

// tlv splits the first BER element off b. LDAP uses only low tag numbers
// and definite lengths.
func tlv(b []byte) (tag byte, val, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, protocolError("truncated element")
	}
	tag = b[0]
	if tag&0x1f == 0x1f {
		return 0, nil, nil, protocolError("high tag number")
	}
	n, i := int(b[1]), 2
	if n >= 0x80 {
		k := n & 0x7f
		if k == 0 || k > 4 || len(b) < 2+k {
			return 0, nil, nil, protocolError("bad length")
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		i = 2 + k
	}
	if n < 0 || n > len(b)-i {
		return 0, nil, nil, protocolError("element of %d bytes in %d", n, len(b)-i)
	}
	return tag, b[i : i+n], b[i+n:], nil
}

// parseInt decodes a BER INTEGER or ENUMERATED of at most 8 bytes.
func parseInt(v []byte) (int64, error) {
	if len(v) == 0 || len(v) > 8 {
		return 0, protocolError("integer of %d bytes", len(v))
	}
	n := int64(int8(v[0]))
	for _, c := range v[1:] {
		n = n<<8 | int64(c)
	}
	return n, nil
}

// ldapResult decodes the LDAPResult at the start of a response.
func ldapResult(op []byte) (code uint16, diag string, referrals []string, err error) {
	t, v, rest, err := tlv(op)
	if err != nil || t != tagEnumerated {
		return 0, "", nil, protocolError("no result code")
	}
	n, err := parseInt(v)
	if err != nil || n < 0 || n > 0xffff {
		return 0, "", nil, protocolError("result code")
	}
	if _, _, rest, err = tlv(rest); err != nil { // matchedDN
		return 0, "", nil, err
	}
	t, v, rest, err = tlv(rest)
	if err != nil || t != tagOctetString {
		return 0, "", nil, protocolError("no diagnostic message")
	}
	diag = string(v)
	if len(rest) > 0 {
		if t, v, _, err := tlv(rest); err == nil && t == tagReferral {
			for len(v) > 0 {
				var uri []byte
				if _, uri, v, err = tlv(v); err != nil {
					break
				}
				referrals = append(referrals, string(uri))
			}
		}
	}
	return uint16(n), diag, referrals, nil
}

// resultError turns a non-success LDAPResult into a *goldap.Error.
func resultError(code uint16, diag string) error {
	if code == goldap.LDAPResultSuccess {
		return nil
	}
	return goldap.NewError(code, errors.New(diag))
}

// simpleRequest sends op and reads its single response, which must have
// tag want, returning the LDAPResult as an error.
func (c *wireConn) simpleRequest(op *ber.Packet, want byte) error {
	id, err := c.send(op, nil)
	if err != nil {
		return err
	}
	tag, body, _, err := c.readMessage(id)
	if err != nil {
		return err
	}
	if tag != want {
		return protocolError("response 0x%02x, want 0x%02x", tag, want)
	}
	code, diag, _, err := ldapResult(body)
	if err != nil {
		return err
	}
	return resultError(code, diag)
}

// bind performs a simple bind.
func (c *wireConn) bind(dn, password string) error {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 0, nil, "")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 3, ""))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, ""))
	op.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, password, ""))
	return c.simpleRequest(op, tagBindResponse)
}

// startTLS asks the server to switch to TLS (RFC 4511 4.14). The caller
// performs the handshake on the raw connection afterwards.
func (c *wireConn) startTLS() error {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 23, nil, "")
	op.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, "1.3.6.1.4.1.1466.20037", ""))
	if err := c.simpleRequest(op, tagExtendedResponse); err != nil {
		return err
	}
	if c.r.Buffered() > 0 {
		return protocolError("data after the StartTLS response")
	}
	return nil
}

// useConn switches to nc (the TLS connection after StartTLS).
func (c *wireConn) useConn(nc net.Conn) {
	c.nc = nc
	c.r = bufio.NewReaderSize(nc, 64<<10)
}

// unbind tells the server we are done; failures do not matter.
func (c *wireConn) unbind() {
	op := ber.Encode(ber.ClassApplication, ber.TypePrimitive, 2, nil, "")
	c.nc.SetDeadline(time.Now().Add(time.Second))
	msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, c.nextID, ""))
	msg.AppendChild(op)
	c.nc.Write(msg.Bytes())
}

// Search runs one search request and returns its entries, referrals and
// response controls. A result code other than success is returned as a
// *goldap.Error together with what arrived before it.
func (c *wireConn) Search(req *goldap.SearchRequest) (*goldap.SearchResult, error) {
	filter, err := goldap.CompileFilter(req.Filter)
	if err != nil {
		return nil, err
	}
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 3, nil, "")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, req.BaseDN, ""))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, uint64(req.Scope), ""))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, uint64(req.DerefAliases), ""))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, uint64(req.SizeLimit), ""))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, uint64(req.TimeLimit), ""))
	op.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, req.TypesOnly, ""))
	op.AppendChild(filter)
	attrs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	for _, a := range req.Attributes {
		attrs.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a, ""))
	}
	op.AppendChild(attrs)
	id, err := c.send(op, req.Controls)
	if err != nil {
		return nil, err
	}

	res := &goldap.SearchResult{}
	for {
		tag, body, controls, err := c.readMessage(id)
		if err != nil {
			return res, err
		}
		switch tag {
		case tagSearchEntry:
			e, err := c.parseEntry(body)
			if err != nil {
				return res, err
			}
			res.Entries = append(res.Entries, e)
		case tagSearchReference:
			for len(body) > 0 {
				var uri []byte
				if _, uri, body, err = tlv(body); err != nil {
					return res, err
				}
				res.Referrals = append(res.Referrals, string(uri))
			}
		case tagSearchDone:
			code, diag, refs, err := ldapResult(body)
			if err != nil {
				return res, err
			}
			res.Referrals = append(res.Referrals, refs...)
			if res.Controls, err = parseControls(controls); err != nil {
				return res, err
			}
			return res, resultError(code, diag)
		case tagIntermediate:
			// Not asked for; nothing in a plain search depends on it.
		default:
			return res, protocolError("unexpected response 0x%02x to a search", tag)
		}
	}
}

// parseEntry decodes a SearchResultEntry. The entry owns one copy of the
// message; raw values are slices of it.
func (c *wireConn) parseEntry(body []byte) (*goldap.Entry, error) {
	own := bytes.Clone(body)
	t, dn, rest, err := tlv(own)
	if err != nil || t != tagOctetString {
		return nil, protocolError("entry without a name")
	}
	t, list, _, err := tlv(rest)
	if err != nil || t != tagSequence {
		return nil, protocolError("entry %q without attributes", dn)
	}
	// Count first, so that each slice is allocated once.
	nattrs, nvals := 0, 0
	for l := list; len(l) > 0; {
		var attr []byte
		if t, attr, l, err = tlv(l); err != nil || t != tagSequence {
			return nil, protocolError("attribute of entry %q", dn)
		}
		_, _, vals, err := tlv(attr)
		if err != nil {
			return nil, err
		}
		_, set, _, err := tlv(vals)
		if err != nil {
			return nil, err
		}
		for len(set) > 0 {
			if _, _, set, err = tlv(set); err != nil {
				return nil, err
			}
			nvals++
		}
		nattrs++
	}
	e := &goldap.Entry{DN: string(dn), Attributes: make([]*goldap.EntryAttribute, nattrs)}
	attrs := make([]goldap.EntryAttribute, nattrs)
	strs := make([]string, nvals)
	raws := make([][]byte, nvals)
	k := 0
	for i := 0; len(list) > 0; i++ {
		var attr []byte
		_, attr, list, _ = tlv(list)
		_, name, vals, _ := tlv(attr)
		_, set, _, _ := tlv(vals)
		a := &attrs[i]
		a.Name = c.intern(name)
		start := k
		for len(set) > 0 {
			var v []byte
			_, v, set, _ = tlv(set)
			raws[k] = v
			strs[k] = string(v)
			k++
		}
		a.Values = strs[start:k:k]
		a.ByteValues = raws[start:k:k]
		e.Attributes[i] = a
	}
	return e, nil
}

// intern returns a shared string for an attribute name: every entry of a
// search carries the same few names.
func (c *wireConn) intern(b []byte) string {
	if s, ok := c.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(c.names) < 1024 {
		c.names[s] = s
	}
	return s
}

// parseControls decodes response controls; only the paged results
// control matters to confsync, others are kept as their type.
func parseControls(b []byte) ([]goldap.Control, error) {
	var out []goldap.Control
	for len(b) > 0 {
		t, ctl, rest, err := tlv(b)
		if err != nil || t != tagSequence {
			return nil, protocolError("control")
		}
		b = rest
		t, oid, ctl, err := tlv(ctl)
		if err != nil || t != tagOctetString {
			return nil, protocolError("control type")
		}
		var value []byte
		for len(ctl) > 0 {
			var v []byte
			if t, v, ctl, err = tlv(ctl); err != nil {
				return nil, err
			}
			if t == tagOctetString {
				value = v
			}
		}
		if string(oid) != goldap.ControlTypePaging {
			out = append(out, &goldap.ControlString{ControlType: string(oid)})
			continue
		}
		t, seq, _, err := tlv(value)
		if err != nil || t != tagSequence {
			return nil, protocolError("paged results control value")
		}
		t, size, seq, err := tlv(seq)
		if err != nil || t != tagInteger {
			return nil, protocolError("paged results size")
		}
		n, err := parseInt(size)
		if err != nil {
			return nil, err
		}
		t, cookie, _, err := tlv(seq)
		if err != nil || t != tagOctetString {
			return nil, protocolError("paged results cookie")
		}
		out = append(out, &goldap.ControlPaging{PagingSize: uint32(n), Cookie: bytes.Clone(cookie)})
	}
	return out, nil
}
