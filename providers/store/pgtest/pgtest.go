// Package pgtest starts throwaway PostgreSQL clusters for tests: initdb and
// pg_ctl from the newest /usr/lib/postgresql/*/bin, a data directory and
// unix socket in a temporary directory, TCP on a free loopback port, and a
// fresh database for each test. Durability settings (fsync,
// synchronous_commit) keep their defaults, so benchmarks measure what
// production gets.
//
// PostgreSQL refuses to run as root; when the tests do (CI does), the
// cluster runs as the postgres system user through runuser(1).
//
// Use Main from TestMain to share one cluster across a test binary:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// Without it, Start starts a cluster for each test.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// BinEnv overrides the directory holding initdb and pg_ctl.
const BinEnv = "CONFSYNC_PG_BIN"

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	dir   string // temporary directory: data/, the socket, the log
	bin   string
	port  int
	runAs *user.User // nil: run as the current user
	admin *sql.DB
	seq   atomic.Int64
}

var shared struct {
	mu      sync.Mutex
	inMain  bool
	cluster *Cluster
	err     error
}

// Main runs the tests of a package with one cluster shared by all of them,
// started when a test first asks for a database and stopped after the last
// test. Call it from TestMain; it does not return.
func Main(m *testing.M) {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	if shared.cluster != nil {
		if err := shared.cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	shared.mu.Unlock()
	os.Exit(code)
}

// Start returns the DSN of a new, empty database for this test (or
// benchmark). It fails the test with instructions when PostgreSQL is not
// installed.
func Start(tb testing.TB) string {
	tb.Helper()
	c := clusterFor(tb)
	dsn, err := c.CreateDatabase(context.Background())
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return dsn
}

func clusterFor(tb testing.TB) *Cluster {
	tb.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		c, err := StartCluster(context.Background())
		if err != nil {
			tb.Fatalf("pgtest: %v", err)
		}
		tb.Cleanup(func() {
			if err := c.Stop(); err != nil {
				tb.Errorf("pgtest: %v", err)
			}
		})
		return c
	}
	if shared.cluster == nil && shared.err == nil {
		shared.cluster, shared.err = StartCluster(context.Background())
	}
	if shared.err != nil {
		tb.Fatalf("pgtest: %v", shared.err)
	}
	return shared.cluster
}

// FindBin returns the directory of the newest installed PostgreSQL's
// programs: $CONFSYNC_PG_BIN, else /usr/lib/postgresql/N/bin with the
// highest N, else the directory of initdb on PATH.
func FindBin() (string, error) {
	if d := os.Getenv(BinEnv); d != "" {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			return "", fmt.Errorf("%s=%s: no initdb there", BinEnv, d)
		}
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dirs[i])), 64)
		vj, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dirs[j])), 64)
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL server programs not found (no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH): " +
		"install them (Debian: apt-get install postgresql) or set " + BinEnv)
}

// StartCluster initialises and starts a new cluster.
func StartCluster(ctx context.Context) (*Cluster, error) {
	bin, err := FindBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "confsync-pgtest-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		// initdb and postgres refuse root: run them as postgres, owning the
		// directory.
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root and there is no postgres user to run PostgreSQL as: %w", err)
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			os.RemoveAll(dir)
			return nil, errors.New("running as root and runuser(1) is missing: cannot run PostgreSQL as postgres")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		c.runAs = u
	}
	if out, err := c.run(ctx, "initdb", "-D", c.dataDir(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		c.port = port
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200", port, dir)
		out, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-l", filepath.Join(dir, "server.log"), "-w", "-t", "120", "-o", opts, "start")
		if err == nil {
			lastErr = nil
			break
		}
		logText, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		lastErr = fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, logText)
	}
	if lastErr != nil {
		os.RemoveAll(dir)
		return nil, lastErr
	}
	c.admin, err = sql.Open("pgx", c.DSN("postgres"))
	if err != nil {
		c.Stop()
		return nil, err
	}
	if err := c.admin.PingContext(ctx); err != nil {
		c.Stop()
		return nil, fmt.Errorf("connect to the new cluster: %w", err)
	}
	return c, nil
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }

// run runs one of PostgreSQL's programs, as postgres when we are root.
func (c *Cluster) run(ctx context.Context, prog string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, prog)
	var cmd *exec.Cmd
	if c.runAs != nil {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.runAs.Username, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	return cmd.CombinedOutput()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// DSN is the URL of a database of the cluster, as the superuser.
func (c *Cluster) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// CreateDatabase creates a new empty database and returns its DSN.
func (c *Cluster) CreateDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("test_%d_%d", os.Getpid(), c.seq.Add(1))
	if _, err := c.admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	return c.DSN(name), nil
}

// Crash kills the server and all its processes with SIGKILL, as a lost
// machine or the OOM killer would, and waits until they are gone.
func (c *Cluster) Crash() error {
	b, err := os.ReadFile(filepath.Join(c.dataDir(), "postmaster.pid"))
	if err != nil {
		return fmt.Errorf("crash postgres: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		return fmt.Errorf("crash postgres: bad postmaster.pid: %w", err)
	}
	// Freeze the postmaster so that it forks no new backend, then find its
	// children (once it is dead they are no longer its children) and kill
	// them all at once.
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("crash postgres: %w", err)
	}
	out, _ := exec.Command("pgrep", "-P", strconv.Itoa(pid)).Output()
	pids := []int{}
	for _, f := range strings.Fields(string(out)) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	pids = append(pids, pid)
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, p := range pids {
		for alive(p) {
			if time.Now().After(deadline) {
				return fmt.Errorf("crash postgres: process %d survives SIGKILL", p)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// A zombie postmaster (when init does not reap orphans, as in some
	// containers) would make the restart believe the server still runs:
	// remove its pid file, as a reboot after a real crash would make it
	// stale.
	// The same goes for the socket's lock file.
	stale, _ := filepath.Glob(filepath.Join(c.dir, ".s.PGSQL.*"))
	stale = append(stale, filepath.Join(c.dataDir(), "postmaster.pid"))
	for _, f := range stale {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("crash postgres: %w", err)
		}
	}
	return nil
}

// alive reports whether a process exists and is not a zombie (a zombie
// holds no resources; whether it is reaped depends on the init process).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no /proc: trust kill(0)
	}
	// The state follows the parenthesised command name.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}

// Restart starts a crashed or stopped server again on the same port; after
// a crash, PostgreSQL replays its WAL first.
func (c *Cluster) Restart(ctx context.Context) error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200", c.port, c.dir)
	if out, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-l", filepath.Join(c.dir, "server.log"), "-w", "-t", "120", "-o", opts, "start"); err != nil {
		logText, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, logText)
	}
	return nil
}

// Stop stops the server and removes its files.
func (c *Cluster) Stop() error {
	if c.admin != nil {
		c.admin.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-m", "fast", "-w", "stop")
	if rmErr := os.RemoveAll(c.dir); rmErr != nil && err == nil {
		err = rmErr
	}
	if err != nil {
		return fmt.Errorf("stop postgres: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}
