// Command confsync-image builds the confsync container image without a
// container daemon: it writes an OCI image layout, as a tar archive
// (oci-archive), holding one layer with the static confsync binary, CA
// certificates and a non-root user. The same inputs give the same bytes,
// so the same commit gives the same image digest. make image runs it.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

func main() {
	var (
		o     Options
		out   string
		epoch string
	)
	flag.StringVar(&o.Binary, "binary", "", "the static confsync binary (CGO_ENABLED=0) to put in the image")
	flag.StringVar(&o.CABundle, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "PEM file of the CA certificates to put in the image")
	flag.StringVar(&o.Arch, "arch", runtime.GOARCH, "the binary's GOARCH, recorded as the image's architecture")
	flag.StringVar(&o.Version, "version", "dev", "the version, recorded in the annotations and as the image's ref name")
	flag.StringVar(&o.Revision, "revision", "", "the source revision (git commit), recorded in the annotations")
	flag.StringVar(&epoch, "epoch", os.Getenv("SOURCE_DATE_EPOCH"), "the time recorded everywhere, in seconds since 1970 (default $SOURCE_DATE_EPOCH, else 0)")
	flag.StringVar(&out, "out", "", "write the OCI layout as a tar archive to this file")
	flag.Parse()
	if o.Binary == "" || out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: confsync-image -binary FILE -out IMAGE.tar [-ca-bundle PEM] [-arch GOARCH] [-version V] [-revision SHA] [-epoch SECONDS]")
		os.Exit(2)
	}
	if epoch != "" {
		s, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "confsync-image: -epoch %q: not a number of seconds\n", epoch)
			os.Exit(2)
		}
		o.Created = time.Unix(s, 0).UTC()
	}
	img, err := Build(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "confsync-image:", err)
		os.Exit(1)
	}
	if err := img.WriteArchive(out); err != nil {
		fmt.Fprintln(os.Stderr, "confsync-image:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s: %s (linux/%s, version %s)\n", out, img.Digest, o.Arch, o.Version)
}
