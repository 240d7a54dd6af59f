package ldap_test

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
)

// adNameProxy stands in front of the AD-shaped slapd and resolves bind
// names the way Active Directory does: a user principal name or a
// down-level logon name is bound as the account it names. Everything else
// passes through unchanged, so slapd answers for it.
type adNameProxy struct {
	upstream string
	accounts map[string]string // lower-cased bind name -> DN

	mu    sync.Mutex
	binds []string // the names clients bound with, as sent
}

func startADNameProxy(t *testing.T, upstream string, accounts map[string]string) (*adNameProxy, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	p := &adNameProxy{upstream: upstream, accounts: accounts}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.serve(t, c)
		}
	}()
	return p, "ldap://" + l.Addr().String()
}

func (p *adNameProxy) serve(t *testing.T, client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.upstream)
	if err != nil {
		t.Errorf("proxy: %v", err)
		return
	}
	defer server.Close()
	go func() {
		io.Copy(client, server)
		client.Close()
	}()
	for {
		packet, err := ber.ReadPacket(client)
		if err != nil {
			return
		}
		if len(packet.Children) >= 2 && packet.Children[1].ClassType == ber.ClassApplication &&
			packet.Children[1].Tag == goldap.ApplicationBindRequest {
			packet = p.resolve(packet)
		}
		if _, err := server.Write(packet.Bytes()); err != nil {
			return
		}
	}
}

// resolve rewrites a simple bind request's name to the DN it names.
func (p *adNameProxy) resolve(packet *ber.Packet) *ber.Packet {
	bind := packet.Children[1]
	if len(bind.Children) < 3 {
		return packet
	}
	name, _ := bind.Children[1].Value.(string)
	p.mu.Lock()
	p.binds = append(p.binds, name)
	p.mu.Unlock()
	dn, ok := p.accounts[strings.ToLower(name)]
	if !ok {
		return packet
	}
	out := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Request")
	out.AppendChild(packet.Children[0])
	req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, goldap.ApplicationBindRequest, nil, "Bind Request")
	req.AppendChild(bind.Children[0])
	req.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, "User Name"))
	req.AppendChild(bind.Children[2])
	out.AppendChild(req)
	for _, c := range packet.Children[2:] {
		out.AppendChild(c)
	}
	return out
}

func (p *adNameProxy) boundAs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.binds...)
}

// Every bind name config accepts binds: a DN against slapd, and Active
// Directory's user principal and down-level logon names against a
// directory that resolves them as AD does. config.ValidBindName is the
// only rule; the source sends the name as written.
func TestBindNamesConfigAccepts(t *testing.T) {
	srv := startAD(t)
	const dn = "CN=svc-confsync,OU=Service Accounts," + suffix
	proxy, url := startADNameProxy(t, strings.TrimPrefix(srv.URL, "ldap://"), map[string]string{
		"svc-confsync@example.com": dn,
		`example\svc-confsync`:     dn,
	})
	for _, name := range []string{dn, "svc-confsync@example.com", `EXAMPLE\svc-confsync`} {
		t.Run(name, func(t *testing.T) {
			if !config.ValidBindName(name) {
				t.Fatalf("config refuses %q; the test names only what config accepts", name)
			}
			cfg := adConfig(srv)
			cfg.URL, cfg.BindDN = url, name
			snap := read(t, cfg, "sAMAccountName")
			if len(snap.Users) != len(adGUIDs) {
				t.Fatalf("read %d users, want %d", len(snap.Users), len(adGUIDs))
			}
			if got := proxy.boundAs(); len(got) == 0 || got[len(got)-1] != name {
				t.Fatalf("bound as %q, want %q sent as written", got, name)
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		cfg := adConfig(srv)
		cfg.URL, cfg.BindDN, cfg.BindPassword = url, "svc-confsync@example.com", "not-the-password"
		_, err := newSource(t, cfg).Read(context.Background(), plan.ReadRequest{Attributes: []string{"sAMAccountName"}})
		if err == nil || !strings.Contains(err.Error(), "invalid credentials") {
			t.Fatalf("Read = %v, want invalid credentials", err)
		}
	})
	t.Run("a UPN at a server that takes only DNs", func(t *testing.T) {
		cfg := adConfig(srv)
		cfg.BindDN = "svc-confsync@example.com"
		_, err := newSource(t, cfg).Read(context.Background(), plan.ReadRequest{Attributes: []string{"sAMAccountName"}})
		if err == nil || !strings.Contains(err.Error(), "use the account's DN") {
			t.Fatalf("Read = %v, want the hint to bind with a DN", err)
		}
	})
}
