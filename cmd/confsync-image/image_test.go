package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildConfsync builds the real confsync binary the way make image does:
// static, trimmed paths.
func buildConfsync(t *testing.T, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build confsync: %v", err)
	}
	out := filepath.Join(dir, "confsync")
	cmd := exec.Command(goBin, "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w -buildid= -X main.version=image-test", "-o", out, "../confsync")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// caBundle is the machine's CA bundle, or one made up when it has none.
func caBundle(t *testing.T, dir string) string {
	t.Helper()
	if _, err := os.Stat(CAPath); err == nil {
		return CAPath
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestImage builds the image from a real confsync binary twice and
// compares the archives byte for byte, then unpacks one as a container
// runtime would (index.json -> manifest -> config and layer, every digest
// checked), and runs the entrypoint from the unpacked root filesystem:
// confsync serve answers the image's healthcheck.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds confsync")
	}
	dir := t.TempDir()
	opts := Options{
		Binary: buildConfsync(t, dir), CABundle: caBundle(t, dir), Arch: runtime.GOARCH,
		Version: "1.2.3", Revision: "0123abcd", Created: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
	}
	var archives [2][]byte
	var digests [2]string
	for i := range archives {
		img, err := Build(opts)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, fmt.Sprintf("image-%d.tar", i))
		if err := img.WriteArchive(path); err != nil {
			t.Fatal(err)
		}
		if archives[i], err = os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
		digests[i] = img.Digest
	}
	if digests[0] != digests[1] || !bytes.Equal(archives[0], archives[1]) {
		t.Fatalf("two builds differ: %s and %s", digests[0], digests[1])
	}
	t.Logf("image digest %s (%d bytes)", digests[0], len(archives[0]))
	// The time is part of the image: another one gives another digest.
	later := opts
	later.Created = later.Created.Add(time.Second)
	if img, err := Build(later); err != nil || img.Digest == digests[0] {
		t.Fatalf("a different time gave the same digest (%v)", err)
	}

	t.Run("skopeo", func(t *testing.T) { checkWithSkopeo(t, filepath.Join(dir, "image-0.tar"), digests[0], dir) })

	files := untar(t, archives[0])
	if string(files["oci-layout"]) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %q", files["oci-layout"])
	}
	blob := func(d Descriptor) []byte {
		t.Helper()
		b, ok := files["blobs/sha256/"+strings.TrimPrefix(d.Digest, "sha256:")]
		if !ok || digestOf(b) != d.Digest || int64(len(b)) != d.Size {
			t.Fatalf("blob %s missing or not matching its descriptor", d.Digest)
		}
		return b
	}
	var idx Index
	mustJSON(t, files["index.json"], &idx)
	if len(idx.Manifests) != 1 || idx.Manifests[0].Digest != digests[0] || idx.Manifests[0].Platform.OS != "linux" ||
		idx.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "1.2.3" {
		t.Fatalf("index.json: %s", files["index.json"])
	}
	var man Manifest
	mustJSON(t, blob(idx.Manifests[0]), &man)
	var cfg ImageConfig
	mustJSON(t, blob(man.Config), &cfg)
	rc := cfg.Config
	if rc.User != "65532:65532" || !slices.Equal(rc.Entrypoint, []string{"/confsync", "serve"}) ||
		len(rc.Volumes) != 1 || rc.Healthcheck == nil || !slices.Equal(rc.Healthcheck.Test, []string{"CMD", "/confsync", "healthcheck"}) ||
		cfg.Architecture != runtime.GOARCH || cfg.OS != "linux" || cfg.Created != "2026-12-01T00:00:00Z" {
		t.Fatalf("image config: %s", blob(man.Config))
	}
	if _, ok := rc.Volumes["/data"]; !ok {
		t.Errorf("no /data volume: %v", rc.Volumes)
	}
	// Docker's form of HEALTHCHECK: durations in nanoseconds.
	if !bytes.Contains(blob(man.Config), []byte(`"Healthcheck":{"Test":["CMD","/confsync","healthcheck"],"Interval":30000000000`)) {
		t.Errorf("healthcheck not recorded as Docker does: %s", blob(man.Config))
	}
	if len(man.Layers) != 1 {
		t.Fatalf("%d layers", len(man.Layers))
	}
	zr, err := gzip.NewReader(bytes.NewReader(blob(man.Layers[0])))
	if err != nil {
		t.Fatal(err)
	}
	layer, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if digestOf(layer) != cfg.RootFS.DiffIDs[0] {
		t.Fatal("the layer's diff_id does not match it")
	}

	root := filepath.Join(dir, "rootfs")
	extract(t, layer, root, opts.Created)
	bin := filepath.Join(root, "confsync")
	if err := checkStatic(bin); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "version").CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "confsync image-test\n") {
		t.Fatalf("confsync version from the image: %q %v", out, err)
	}
	runEntrypoint(t, root, dir, rc)
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
}

func untar(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			c, _ := io.ReadAll(tr)
			files[h.Name] = c
		}
	}
}

// extract unpacks the layer, checking it is sorted, stamped with one
// time, and owned by root except the data volume.
func extract(t *testing.T, layer []byte, root string, created time.Time) {
	t.Helper()
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(layer))
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if !h.ModTime.Equal(created) {
			t.Errorf("%s: time %s", h.Name, h.ModTime)
		}
		if owner := h.Uid; (h.Name == "data/") != (owner == UID) {
			t.Errorf("%s: owner %d", h.Name, owner)
		}
		p := filepath.Join(root, filepath.FromSlash(h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			c, _ := io.ReadAll(tr)
			if err := os.WriteFile(p, c, os.FileMode(h.Mode).Perm()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("layer entries not sorted: %v", names)
	}
	for _, want := range []string{"confsync", "data/", "etc/ssl/certs/ca-certificates.crt", "etc/passwd"} {
		if !slices.Contains(names, want) {
			t.Errorf("the layer has no %s", want)
		}
	}
}

// runEntrypoint runs the image's entrypoint from the unpacked root with
// the image's environment (its paths mapped into root; the configuration
// mounted at /etc/confsync is a directory of the test) and waits for the
// image's healthcheck to pass.
func runEntrypoint(t *testing.T, root, dir string, rc RuntimeConfig) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	conf := filepath.Join(dir, "conf")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	hcl := fmt.Sprintf("confluence {\n  url   = \"https://confluence.example.com\"\n  token = \"x\"\n}\n\nserver {\n  listen = %q\n}\n\nstore {\n  sqlite = %q\n}\n\nidp \"entra\" {\n  scim {}\n}\n",
		addr, filepath.Join(root, "data", "confsync.db"))
	if err := os.WriteFile(filepath.Join(conf, "main.hcl"), []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	mapPath := func(s string) string {
		if s == ConfigDir {
			return conf
		}
		if strings.HasPrefix(s, "/") {
			return filepath.Join(root, s)
		}
		return s
	}
	var env []string
	for _, kv := range rc.Env {
		k, v, _ := strings.Cut(kv, "=")
		env = append(env, k+"="+mapPath(v))
	}
	serve := exec.Command(mapPath(rc.Entrypoint[0]), rc.Entrypoint[1:]...)
	serve.Env, serve.Dir = env, mapPath(rc.WorkingDir)
	var logs bytes.Buffer
	serve.Stdout, serve.Stderr = &logs, &logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = serve.Process.Signal(syscall.SIGTERM)
		_ = serve.Wait()
	}()
	test := rc.Healthcheck.Test[1:] // after "CMD"
	deadline := time.Now().Add(30 * time.Second)
	for {
		hc := exec.Command(mapPath(test[0]), test[1:]...)
		hc.Env = env
		out, err := hc.CombinedOutput()
		if err == nil {
			t.Logf("healthcheck: %s", strings.TrimSpace(string(out)))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the healthcheck never passed: %v %s\nserve:\n%s", err, out, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(root, "data", "confsync.db")); err != nil {
		t.Errorf("serve made no store in the data volume: %v", err)
	}
}

// checkWithSkopeo has an independent implementation read the archive:
// skopeo inspects it (the same digest) and converts it to Docker's format,
// keeping the healthcheck as Docker records it. CI requires skopeo
// (CONFSYNC_REQUIRE_SKOPEO, .ci/run); elsewhere the check is skipped
// without it.
func checkWithSkopeo(t *testing.T, archive, digest, dir string) {
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		if os.Getenv("CONFSYNC_REQUIRE_SKOPEO") != "" {
			t.Fatalf("skopeo is required (CONFSYNC_REQUIRE_SKOPEO is set) but not found: %v", err)
		}
		t.Skip("skopeo not found (Debian package skopeo)")
	}
	out, err := exec.Command(skopeo, "inspect", "oci-archive:"+archive).Output()
	if err != nil {
		t.Fatalf("skopeo inspect: %v", err)
	}
	var info struct {
		Digest       string
		Architecture string
		Os           string
	}
	if err := json.Unmarshal(out, &info); err != nil || info.Digest != digest || info.Os != "linux" {
		t.Fatalf("skopeo inspect: %s (%v), want digest %s", out, err, digest)
	}
	docker := filepath.Join(dir, "docker.tar")
	if b, err := exec.Command(skopeo, "copy", "-q", "oci-archive:"+archive, "docker-archive:"+docker+":confsync:test").CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy to docker-archive: %v\n%s", err, b)
	}
	b, err := os.ReadFile(docker)
	if err != nil {
		t.Fatal(err)
	}
	files := untar(t, b)
	var man []struct{ Config string }
	if err := json.Unmarshal(files["manifest.json"], &man); err != nil || len(man) != 1 {
		t.Fatalf("docker-archive manifest.json: %s (%v)", files["manifest.json"], err)
	}
	var cfg struct {
		Config struct {
			User        string
			Healthcheck *Healthcheck
		} `json:"config"`
	}
	if err := json.Unmarshal(files[man[0].Config], &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != "65532:65532" || cfg.Config.Healthcheck == nil || !slices.Equal(cfg.Config.Healthcheck.Test, []string{"CMD", "/confsync", "healthcheck"}) ||
		cfg.Config.Healthcheck.Interval != 30*time.Second {
		t.Errorf("Docker's form of the image lost the user or the healthcheck: %s", files[man[0].Config])
	}
}
