// Command fastcopy-go-demo copies one file through the Go package and
// prints the report and the process metrics:
//
//	fastcopy-go-demo [-reflink auto|always|never] [-overwrite] SOURCE TARGET
//
// On Btrfs or XFS the report shows method "reflink": the target shares the
// source's blocks (see `filefrag -v TARGET`, whose extents say "shared").
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/fastcopy/fastcopy/bindings/go/fastcopy"
)

func main() {
	reflink := flag.String("reflink", "auto", "auto, always or never")
	overwrite := flag.Bool("overwrite", false, "replace an existing target")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: fastcopy-go-demo [-reflink auto|always|never] [-overwrite] SOURCE TARGET")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 {
		flag.Usage()
		os.Exit(2)
	}
	opts := fastcopy.DefaultOptions()
	opts.Overwrite = *overwrite
	opts.CreateParents = true
	switch *reflink {
	case "auto":
		opts.Reflink = fastcopy.ReflinkAuto
	case "always":
		opts.Reflink = fastcopy.ReflinkAlways
	case "never":
		opts.Reflink = fastcopy.ReflinkNever
	default:
		fmt.Fprintf(os.Stderr, "fastcopy-go-demo: invalid -reflink %q\n", *reflink)
		os.Exit(2)
	}

	source, target := flag.Arg(0), flag.Arg(1)
	report, err := fastcopy.CopyFileWithOptions(source, target, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fastcopy-go-demo:", err)
		os.Exit(1)
	}
	fmt.Printf("copied %s -> %s\n", source, report.Destination)
	fmt.Printf("method=%s cloned=%t bytes=%d elapsed=%s fallbacks=%d warnings=%q\n",
		report.Method, report.Cloned, report.Bytes, report.Elapsed, len(report.Fallbacks), report.Warnings)
	for _, f := range report.Fallbacks {
		fmt.Printf("fallback: %s at offset %d: %v\n", f.Method, f.Offset, f.Err)
	}
	m := fastcopy.Metrics()
	fmt.Printf("metrics: files=%d failures=%d bytes=%d fallback_rate=%.2f per_method=%v\n",
		m.Files, m.Failures, m.Bytes, m.FallbackRate(), m.PerMethod)
}
