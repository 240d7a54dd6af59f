package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// What the image holds and how it runs.
const (
	// UID and GID of the user serve runs as: not root, and the number
	// distroless images use, so volume permissions carry over.
	UID = 65532
	GID = 65532
	// BinaryPath is where the binary is, the entrypoint's program.
	BinaryPath = "/confsync"
	// ConfigDir is where the configuration is mounted (CONFSYNC_CONFIG).
	ConfigDir = "/etc/confsync"
	// DataDir is the volume for SQLite (store { sqlite = "/data/confsync.db" }).
	DataDir = "/data"
	// CAPath is where Go's crypto/x509 looks first on Linux.
	CAPath = "/etc/ssl/certs/ca-certificates.crt"
)

// Media types of the OCI image specification.
const (
	mediaIndex    = "application/vnd.oci.image.index.v1+json"
	mediaManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaConfig   = "application/vnd.oci.image.config.v1+json"
	mediaLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// Options are the inputs of an image. The output depends on nothing else.
type Options struct {
	Binary   string // a static linux binary
	CABundle string // PEM
	Arch     string // GOARCH
	Version  string
	Revision string
	// Created is written as every timestamp (files, config, annotations);
	// the zero time means the Unix epoch.
	Created time.Time
}

// Descriptor is an OCI content descriptor.
type Descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *Platform         `json:"platform,omitempty"`
}

// Platform is an OCI platform.
type Platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

// Index is an OCI image index (index.json of the layout).
type Index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []Descriptor `json:"manifests"`
}

// Manifest is an OCI image manifest.
type Manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Config        Descriptor        `json:"config"`
	Layers        []Descriptor      `json:"layers"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// ImageConfig is the OCI image configuration.
type ImageConfig struct {
	Created      string        `json:"created"`
	Architecture string        `json:"architecture"`
	OS           string        `json:"os"`
	Config       RuntimeConfig `json:"config"`
	RootFS       struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
	History []History `json:"history"`
}

// RuntimeConfig is the config member of ImageConfig. Healthcheck is not
// in the OCI specification: it is Docker's extension, recorded where and
// how Docker records a Dockerfile HEALTHCHECK (durations in nanoseconds),
// so Docker and Podman (in docker format) run it; Kubernetes ignores it
// and uses its own probes.
type RuntimeConfig struct {
	User         string              `json:"User"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts"`
	Env          []string            `json:"Env"`
	Entrypoint   []string            `json:"Entrypoint"`
	Cmd          []string            `json:"Cmd,omitempty"`
	Volumes      map[string]struct{} `json:"Volumes"`
	WorkingDir   string              `json:"WorkingDir"`
	Labels       map[string]string   `json:"Labels"`
	Healthcheck  *Healthcheck        `json:"Healthcheck"`
}

// Healthcheck is Docker's HealthConfig.
type Healthcheck struct {
	Test        []string      `json:"Test"`
	Interval    time.Duration `json:"Interval"`
	Timeout     time.Duration `json:"Timeout"`
	StartPeriod time.Duration `json:"StartPeriod"`
	Retries     int           `json:"Retries"`
}

// History is one entry of ImageConfig.History.
type History struct {
	Created   string `json:"created"`
	CreatedBy string `json:"created_by"`
	Comment   string `json:"comment,omitempty"`
}

// Image is a built image: its blobs by digest and its index.
type Image struct {
	// Digest is the manifest's digest: the image's identity.
	Digest string
	Index  []byte
	Blobs  map[string][]byte // "sha256:..." -> content
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Build assembles the image in memory.
func Build(o Options) (*Image, error) {
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("read the binary: %w", err)
	}
	if err := checkStatic(o.Binary); err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(o.CABundle)
	if err != nil {
		return nil, fmt.Errorf("read the CA bundle: %w", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("the CA bundle %s holds no PEM certificate", o.CABundle)
	}
	if o.Arch == "" {
		return nil, errors.New("no architecture")
	}
	created := o.Created.UTC()
	if created.IsZero() {
		created = time.Unix(0, 0).UTC()
	}
	stamp := created.Format(time.RFC3339)

	layer, err := buildLayer(created, bin, ca)
	if err != nil {
		return nil, err
	}
	gz, err := gzipDeterministic(layer)
	if err != nil {
		return nil, err
	}
	img := &Image{Blobs: map[string][]byte{}}
	add := func(b []byte) string {
		d := digestOf(b)
		img.Blobs[d] = b
		return d
	}

	var cfg ImageConfig
	cfg.Created, cfg.Architecture, cfg.OS = stamp, o.Arch, "linux"
	cfg.Config = RuntimeConfig{
		User:         fmt.Sprintf("%d:%d", UID, GID),
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		Env:          []string{"CONFSYNC_CONFIG=" + ConfigDir, "SSL_CERT_FILE=" + CAPath},
		Entrypoint:   []string{BinaryPath, "serve"},
		Volumes:      map[string]struct{}{DataDir: {}},
		WorkingDir:   DataDir,
		Labels: map[string]string{
			"org.opencontainers.image.title":    "confsync",
			"org.opencontainers.image.version":  o.Version,
			"org.opencontainers.image.revision": o.Revision,
		},
		Healthcheck: &Healthcheck{
			Test:     []string{"CMD", BinaryPath, "healthcheck"},
			Interval: 30 * time.Second, Timeout: 5 * time.Second, StartPeriod: 10 * time.Second, Retries: 3,
		},
	}
	cfg.RootFS.Type = "layers"
	cfg.RootFS.DiffIDs = []string{digestOf(layer)}
	cfg.History = []History{{Created: stamp, CreatedBy: "confsync-image", Comment: "static confsync binary, CA certificates, user confsync (65532)"}}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	annotations := map[string]string{
		"org.opencontainers.image.created":  stamp,
		"org.opencontainers.image.version":  o.Version,
		"org.opencontainers.image.revision": o.Revision,
		"org.opencontainers.image.title":    "confsync",
	}
	man := Manifest{
		SchemaVersion: 2, MediaType: mediaManifest,
		Config:      Descriptor{MediaType: mediaConfig, Digest: add(cfgJSON), Size: int64(len(cfgJSON))},
		Layers:      []Descriptor{{MediaType: mediaLayer, Digest: add(gz), Size: int64(len(gz))}},
		Annotations: annotations,
	}
	manJSON, err := json.Marshal(man)
	if err != nil {
		return nil, err
	}
	img.Digest = add(manJSON)
	idx := Index{SchemaVersion: 2, MediaType: mediaIndex, Manifests: []Descriptor{{
		MediaType: mediaManifest, Digest: img.Digest, Size: int64(len(manJSON)),
		Annotations: map[string]string{"org.opencontainers.image.ref.name": o.Version},
		Platform:    &Platform{Architecture: o.Arch, OS: "linux"},
	}}}
	if img.Index, err = json.Marshal(idx); err != nil {
		return nil, err
	}
	return img, nil
}

// entry is one file of the layer.
type entry struct {
	name     string // without a leading slash; directories end in /
	mode     int64
	uid, gid int
	data     []byte
}

// buildLayer writes the root filesystem as an uncompressed tar: entries
// sorted by name, every timestamp the same, owners by number only.
func buildLayer(created time.Time, bin, ca []byte) ([]byte, error) {
	entries := []entry{
		{name: "confsync", mode: 0o755, data: bin},
		{name: "data/", mode: 0o750, uid: UID, gid: GID},
		{name: "etc/", mode: 0o755},
		{name: "etc/confsync/", mode: 0o755},
		{name: "etc/group", mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:\nconfsync:x:%d:\n", GID))},
		{name: "etc/passwd", mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nconfsync:x:%d:%d:confsync:%s:/sbin/nologin\n", UID, GID, DataDir))},
		{name: "etc/ssl/", mode: 0o755},
		{name: "etc/ssl/certs/", mode: 0o755},
		{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: ca},
		{name: "tmp/", mode: 0o1777},
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: created, Format: tar.FormatPAX}
		if e.name[len(e.name)-1] == '/' {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// gzipDeterministic compresses with no name and no time in the header.
func gzipDeterministic(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteArchive writes the image as an OCI layout in a tar archive
// (oci-layout, index.json, blobs/sha256/...), sorted, with fixed times:
// `skopeo copy oci-archive:FILE docker://...`, `podman load -i FILE` and
// `docker load -i FILE` (Docker 25 and later) read it.
func (img *Image) WriteArchive(path string) error {
	files := map[string][]byte{
		"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`),
		"index.json": img.Index,
	}
	for d, b := range img.Blobs {
		files["blobs/sha256/"+d[len("sha256:"):]] = b
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
	}
	for _, n := range names {
		b := files[n]
		if err := tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
