// Package ldaptest runs a throwaway OpenLDAP slapd for tests: a temporary
// slapd.conf and database, LDIF loaded with slapadd before start, a free
// loopback port, and shutdown when the test ends. It works as root and as
// an ordinary user. Tests are skipped when slapd is not installed, unless
// CONFSYNC_REQUIRE_SLAPD is set (CI sets it), in which case they fail.
package ldaptest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Default directory settings of a Server.
const (
	DefaultSuffix   = "dc=example,dc=com"
	RootPassword    = "rootsecret"
	defaultSchemaDr = "/etc/ldap/schema"
)

// Config describes the directory to start.
type Config struct {
	// Suffix is the naming context (default DefaultSuffix).
	Suffix string
	// Schemas are extra schema files (slapd.conf syntax) to include after
	// core, cosine, inetorgperson and nis.
	Schemas []string
	// LDIF files are loaded with slapadd before slapd starts.
	LDIF []string
	// DatabaseConfig is appended to the database section of slapd.conf:
	// limits, access rules, indexes.
	DatabaseConfig string
	// TLS gives slapd a certificate for 127.0.0.1 from a throwaway CA,
	// enabling StartTLS, and listens on an ldaps:// port too.
	TLS bool
}

// Server is a running slapd.
type Server struct {
	// URL is ldap://127.0.0.1:PORT.
	URL string
	// Addr is 127.0.0.1:PORT.
	Addr string
	// Suffix is the naming context.
	Suffix string
	// RootDN binds with RootPassword and bypasses every limit.
	RootDN string
	// LDAPSURL is ldaps://127.0.0.1:PORT and CAFile the PEM file of the CA
	// that signed the server's certificate, with Config.TLS.
	LDAPSURL string
	CAFile   string

	dir     string
	conf    string
	tlsConf string
	cmd     *exec.Cmd
	done    chan struct{}
	mu      sync.Mutex
	logs    bytes.Buffer
}

// Binaries returns the paths of slapd and slapadd, or skips (or fails,
// under CONFSYNC_REQUIRE_SLAPD) the test when they are missing.
func Binaries(t testing.TB) (slapd, slapadd string) {
	t.Helper()
	find := func(name string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/local/libexec", "/usr/libexec"} {
			p := filepath.Join(dir, name)
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
		return ""
	}
	slapd, slapadd = find("slapd"), find("slapadd")
	if slapd == "" || slapadd == "" {
		if os.Getenv("CONFSYNC_REQUIRE_SLAPD") != "" {
			t.Fatal("slapd and slapadd are required (install Debian's slapd package)")
		}
		t.Skip("slapd is not installed")
	}
	return slapd, slapadd
}

// Start writes a slapd configuration for cfg in a temporary directory,
// loads cfg.LDIF, starts slapd on a free loopback port, waits until it
// answers and stops it when the test ends.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	slapd, slapadd := Binaries(t)
	if cfg.Suffix == "" {
		cfg.Suffix = DefaultSuffix
	}
	dir := t.TempDir()
	s := &Server{dir: dir, Suffix: cfg.Suffix, RootDN: "cn=admin," + cfg.Suffix}
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	if cfg.TLS {
		var err error
		if s.CAFile, s.tlsConf, err = writeCertificates(dir); err != nil {
			t.Fatal(err)
		}
	}
	s.conf = filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(s.conf, []byte(s.config(cfg)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ldif := range cfg.LDIF {
		out, err := exec.Command(slapadd, "-f", s.conf, "-q", "-l", ldif).CombinedOutput()
		if err != nil {
			t.Fatalf("slapadd %s: %v\n%s", ldif, err, out)
		}
	}

	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		if lastErr = s.start(slapd); lastErr == nil {
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("start slapd: %v", lastErr)
	return nil
}

func (s *Server) config(cfg Config) string {
	var b strings.Builder
	for _, sch := range []string{"core", "cosine", "inetorgperson", "nis"} {
		fmt.Fprintf(&b, "include %s\n", filepath.Join(defaultSchemaDr, sch+".schema"))
	}
	for _, sch := range cfg.Schemas {
		abs, _ := filepath.Abs(sch)
		fmt.Fprintf(&b, "include %s\n", abs)
	}
	b.WriteString(s.tlsConf)
	modules := "/usr/lib/ldap"
	if _, err := os.Stat(filepath.Join(modules, "back_mdb.la")); err == nil {
		fmt.Fprintf(&b, "modulepath %s\nmoduleload back_mdb\n", modules)
	}
	fmt.Fprintf(&b, "pidfile %s\nargsfile %s\n", filepath.Join(s.dir, "slapd.pid"), filepath.Join(s.dir, "slapd.args"))
	fmt.Fprintf(&b, "database mdb\nmaxsize 4294967296\nsuffix %q\nrootdn %q\nrootpw %s\ndirectory %s\n",
		cfg.Suffix, s.RootDN, RootPassword, filepath.Join(s.dir, "db"))
	b.WriteString("index objectClass eq\n")
	b.WriteString(cfg.DatabaseConfig)
	b.WriteString("\n")
	return b.String()
}

// start runs slapd on a port that was free a moment ago; a lost race for
// the port is reported as an error so that Start can try another.
func (s *Server) start(slapd string) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.Addr = l.Addr().String()
	l.Close()
	s.URL = "ldap://" + s.Addr
	listen := s.URL + "/"
	if s.tlsConf != "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		s.LDAPSURL = "ldaps://" + l.Addr().String()
		l.Close()
		listen += " " + s.LDAPSURL + "/"
	}
	s.mu.Lock()
	s.logs.Reset()
	s.mu.Unlock()
	cmd := exec.Command(slapd, "-f", s.conf, "-h", listen, "-d", "0")
	w := &lockedWriter{s: s}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("slapd exited: %s", s.Logs())
		default:
		}
		if answers(s.Addr) {
			s.cmd, s.done = cmd, done
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Kill()
	<-done
	return fmt.Errorf("slapd did not answer on %s within 60s: %s", s.Addr, s.Logs())
}

// answers reports whether an LDAP server answers an anonymous root DSE
// search on addr. It speaks just enough BER to avoid importing a client.
func answers(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	// An anonymous simple bind request, message id 1.
	if _, err := c.Write([]byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00}); err != nil {
		return false
	}
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(c, buf, 2)
	return err == nil && n >= 2 && buf[0] == 0x30
}

// Logs returns what slapd wrote so far.
func (s *Server) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

type lockedWriter struct{ s *Server }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if w.s.logs.Len() < 1<<20 {
		w.s.logs.Write(p)
	}
	return len(p), nil
}

// Stop terminates slapd and waits for it. It is safe to call twice.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Dir is the server's temporary directory, for files a test writes beside
// it.
func (s *Server) Dir() string { return s.dir }

// CutProxy forwards connections on a new loopback port to target and
// closes each connection, both ways, once it has forwarded after bytes
// from the server to the client: a directory that drops the connection in
// the middle of a search. It returns the proxy's address.
func CutProxy(t testing.TB, target string, after int64) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer client.Close()
				server, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer server.Close()
				stop := context.AfterFunc(ctx, func() { client.Close(); server.Close() })
				defer stop()
				go func() { io.Copy(server, client); server.Close() }()
				io.CopyN(client, server, after)
			}()
		}
	}()
	return l.Addr().String()
}
