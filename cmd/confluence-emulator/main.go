// Command confluence-emulator serves an emulated Confluence Data Center user
// and group REST API for tests and demos. See docs/confluence.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/confsync/confsync/providers/confluence/emulator"
)

// options are the command's flags.
type options struct {
	listen          string
	contextPath     string
	dataFile        string
	adminToken      string
	adminPassword   string
	anonymousAccess bool
	seats           int
	pageLimit       int
	hideEmail       bool
	latency         time.Duration
	rateLimit       string
	errorRate       float64
	seed            uint64
	verbose         bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "confluence-emulator:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("confluence-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8090", "address to listen on (port 0 picks a free port)")
	fs.StringVar(&o.contextPath, "context-path", "", `context path to serve under, e.g. "/confluence"`)
	fs.StringVar(&o.dataFile, "data", "", "file the state is saved to after every change and read on start (default: memory only)")
	fs.StringVar(&o.adminToken, "admin-token", "", "personal access token of the admin user (default $CONFLUENCE_EMULATOR_ADMIN_TOKEN)")
	fs.StringVar(&o.adminPassword, "admin-password", "", "password of the admin user for basic auth (default $CONFLUENCE_EMULATOR_ADMIN_PASSWORD)")
	fs.BoolVar(&o.anonymousAccess, "anonymous-access", false, "run requests without valid credentials as the anonymous user instead of answering 401")
	fs.IntVar(&o.seats, "seats", 0, "licensed seats; creating a user beyond them answers 402 (0: unlimited)")
	fs.IntVar(&o.pageLimit, "page-limit", 200, "largest page size served")
	fs.BoolVar(&o.hideEmail, "hide-email", false, "leave email addresses out of user representations")
	fs.DurationVar(&o.latency, "latency", 0, "delay added to every answer")
	fs.StringVar(&o.rateLimit, "rate-limit", "", "token-bucket rate limit RATE[/BURST] in requests per second, e.g. 100/200 (default: none)")
	fs.Float64Var(&o.errorRate, "error-rate", 0, "fraction of requests answered with a 5xx (0..1)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the fault generator")
	fs.BoolVar(&o.verbose, "v", false, "log every request")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if o.adminToken == "" {
		o.adminToken = os.Getenv("CONFLUENCE_EMULATOR_ADMIN_TOKEN")
	}
	if o.adminPassword == "" {
		o.adminPassword = os.Getenv("CONFLUENCE_EMULATOR_ADMIN_PASSWORD")
	}
	if o.adminToken == "" && o.adminPassword == "" {
		return o, errors.New("give --admin-token or --admin-password (or their environment variables): the emulator has no default credentials")
	}
	return o, nil
}

func parseRate(s string) (float64, int, error) {
	if s == "" {
		return 0, 0, nil
	}
	r, b, hasBurst := strings.Cut(s, "/")
	rate, err := strconv.ParseFloat(r, 64)
	if err != nil || rate <= 0 {
		return 0, 0, fmt.Errorf("--rate-limit %q: the rate must be a positive number", s)
	}
	burst := 0
	if hasBurst {
		if burst, err = strconv.Atoi(b); err != nil || burst <= 0 {
			return 0, 0, fmt.Errorf("--rate-limit %q: the burst must be a positive integer", s)
		}
	}
	return rate, burst, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil // -h or --help: the usage is printed, which is not an error
	}
	if err != nil {
		return err
	}
	rate, burst, err := parseRate(o.rateLimit)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	srv, err := emulator.New(emulator.Options{
		ContextPath:     o.contextPath,
		AdminToken:      o.adminToken,
		AdminPassword:   o.adminPassword,
		AnonymousAccess: o.anonymousAccess,
		Seats:           o.seats,
		PageLimit:       o.pageLimit,
		HideEmail:       o.hideEmail,
		DataFile:        o.dataFile,
		Latency:         o.latency,
		RateLimit:       rate,
		RateBurst:       burst,
		ErrorRate:       o.errorRate,
		Seed:            o.seed,
		Logger:          logger,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "http://%s%s\n", ln.Addr(), srv.ContextPath())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutCtx); err != nil {
		return err
	}
	return srv.Close(shutCtx)
}
