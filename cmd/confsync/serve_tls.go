package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

// certReloader serves the TLS certificate and key from their files and
// loads them again on SIGHUP. Only handshakes read the certificate
// (tls.Config.GetCertificate), so connections already open keep theirs
// and nothing is dropped; a reload that fails (a half-written file, a key
// that does not match) keeps the certificate in use and logs why.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	cur               atomic.Pointer[tls.Certificate]
}

func newCertReloader(certFile, keyFile string, logger *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: logger}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *certReloader) load() error {
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("load server.tls_cert and server.tls_key: %w", err)
	}
	if cert.Leaf == nil && len(cert.Certificate) > 0 {
		cert.Leaf, _ = x509.ParseCertificate(cert.Certificate[0])
	}
	r.cur.Store(&cert)
	return nil
}

// GetCertificate is tls.Config.GetCertificate.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cur.Load(), nil
}

// reload loads the files again, logging the outcome.
func (r *certReloader) reload() {
	if err := r.load(); err != nil {
		r.log.Error("SIGHUP: the TLS certificate was not reloaded; serving the previous one", "error", err.Error())
		return
	}
	attrs := []any{"cert", r.certFile}
	if leaf := r.cur.Load().Leaf; leaf != nil {
		attrs = append(attrs, "subject", leaf.Subject.String(), "not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	r.log.Info("SIGHUP: reloaded the TLS certificate", attrs...)
}

// watch reloads on every SIGHUP until ctx is done. It returns once the
// signal is subscribed, so a SIGHUP sent after it returns never kills the
// process.
func (r *certReloader) watch(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				r.reload()
			}
		}
	}()
}
