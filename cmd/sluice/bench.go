package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/sluicehq/sluice/benchsuite"
)

type benchFlags struct {
	workloads []string
	events    int64
	json      bool
	dir       string
	cpuProf   string
	memProf   string
}

// parseBenchFlags reads `sluice bench WORKLOAD... [flags]`: workload
// names and flags in any order.
func parseBenchFlags(args []string, stderr io.Writer) (benchFlags, error) {
	var f benchFlags
	fs := flag.NewFlagSet("sluice bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Int64Var(&f.events, "events", 0, "input events per workload (0: each workload's default)")
	fs.BoolVar(&f.json, "json", false, "print one JSON object per workload instead of a table")
	fs.StringVar(&f.cpuProf, "cpuprofile", "", "write a pprof CPU profile of the whole run to this file")
	fs.StringVar(&f.memProf, "memprofile", "", "write a pprof allocation profile (all allocations since start) to this file at the end")
	fs.StringVar(&f.dir, "dir", "", "scratch folder for checkpoints and output (default: a temporary folder, removed afterwards)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: sluice bench WORKLOAD... [flags]\n\nRuns streaming benchmarks as Sluice queries, each beside a hand-written baseline\nwhere one exists, and prints wall and CPU time, events/s, events/s per core, peak\nRSS and a result checksum. WORKLOAD is one of: %s, or all.\n\nflags:\n",
			strings.Join(benchsuite.Names(), ", "))
		fs.PrintDefaults()
	}
	for {
		if err := fs.Parse(args); err != nil {
			return f, errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		f.workloads = append(f.workloads, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(f.workloads) == 0 {
		fmt.Fprintln(stderr, "sluice bench: name a workload, or all")
		fs.Usage()
		return f, errUsage
	}
	if f.events < 0 {
		return f, fmt.Errorf("bench: --events is %d: give a positive number, or 0 for each workload's default", f.events)
	}
	return f, nil
}

// benchWorkloads resolves names ("all" is every registered workload) to
// workloads, in the order given, each once.
func benchWorkloads(names []string) ([]benchsuite.Workload, error) {
	var out []benchsuite.Workload
	seen := map[string]bool{}
	add := func(name string) error {
		if seen[name] {
			return nil
		}
		w, ok := benchsuite.Lookup(name)
		if !ok {
			return fmt.Errorf("bench: unknown workload %q; the workloads are %s, or all", name, strings.Join(benchsuite.Names(), ", "))
		}
		seen[name] = true
		out = append(out, w)
		return nil
	}
	for _, n := range names {
		if n == "all" {
			for _, a := range benchsuite.Names() {
				if err := add(a); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err := add(n); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// runBench runs the workloads named in args one after the other and
// prints the results of those that succeeded as one table or as JSON
// lines. A failed workload is reported on stderr and the others still
// run; the error then names every failure.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseBenchFlags(args, stderr)
	if err != nil {
		return err
	}
	ws, err := benchWorkloads(f.workloads)
	if err != nil {
		return err
	}
	dir := f.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "sluice-bench-"); err != nil {
			return fmt.Errorf("bench: scratch folder: %w; give one with --dir", err)
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: --dir %s: %w", dir, err)
	}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", a...) }
	stopProf, err := startBenchProfiles(f)
	if err != nil {
		return err
	}
	defer stopProf()
	var results []benchsuite.Result
	var failed []string
	for _, w := range ws {
		if err := ctx.Err(); err != nil {
			failed = append(failed, w.Name+" (not run: "+err.Error()+")")
			continue
		}
		r, err := w.Run(ctx, benchsuite.Config{Events: f.events, Dir: dir, Logf: logf})
		if err != nil {
			fmt.Fprintf(stderr, "sluice bench: workload %s failed: %v\n", w.Name, err)
			failed = append(failed, w.Name)
			continue
		}
		if r.Workload == "" {
			r.Workload = w.Name
		}
		results = append(results, r)
	}
	if len(results) > 0 {
		write := benchsuite.WriteTable
		if f.json {
			write = benchsuite.WriteJSON
		}
		if err := write(stdout, results); err != nil {
			return fmt.Errorf("bench: writing results: %w", err)
		}
	}
	if len(failed) > 0 {
		return errors.New("bench: failed: " + strings.Join(failed, ", "))
	}
	return nil
}

// startBenchProfiles starts the CPU profile --cpuprofile asks for and
// returns the function that stops it and writes the --memprofile
// allocation profile, reporting failures on stderr of the process.
func startBenchProfiles(f benchFlags) (func(), error) {
	var cpu *os.File
	if f.cpuProf != "" {
		var err error
		if cpu, err = os.Create(f.cpuProf); err != nil {
			return nil, fmt.Errorf("bench: --cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			cpu.Close()
			return nil, fmt.Errorf("bench: --cpuprofile %s: %w", f.cpuProf, err)
		}
	}
	return func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			if err := cpu.Close(); err != nil {
				fmt.Fprintf(os.Stderr, "sluice bench: --cpuprofile %s: %v\n", f.cpuProf, err)
			}
		}
		if f.memProf != "" {
			if err := writeAllocProfile(f.memProf); err != nil {
				fmt.Fprintf(os.Stderr, "sluice bench: --memprofile: %v\n", err)
			}
		}
	}, nil
}

// writeAllocProfile writes the heap profile (with its allocation counts
// since the start of the process) to path.
func writeAllocProfile(path string) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(out, 0); err != nil {
		out.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return out.Close()
}
