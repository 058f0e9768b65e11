// Command sluice-devkafka runs a Kafka-protocol cluster for development and
// tests: three brokers of franz-go's kfake on fixed loopback ports, with
// topic auto-creation, transactions and read_committed, and an optional data
// folder so topics survive a restart. It binds to 127.0.0.1 only.
//
//	sluice-devkafka -ports 19092,19093,19094 -data .services/kafka-data
//
// It runs until SIGINT or SIGTERM, then flushes and exits.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sluice-devkafka:", err)
		os.Exit(1)
	}
}

func parsePorts(s string) ([]int, error) {
	var ports []int
	for _, f := range strings.Split(s, ",") {
		p, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || p <= 0 || p > 65535 {
			return nil, fmt.Errorf("-ports: %q is not a port number (want a comma-separated list such as 19092,19093,19094)", f)
		}
		ports = append(ports, p)
	}
	return ports, nil
}

func run(args []string) error {
	fs := flag.NewFlagSet("sluice-devkafka", flag.ContinueOnError)
	portsFlag := fs.String("ports", "19092,19093,19094", "comma-separated loopback ports, one broker each")
	data := fs.String("data", "", "folder to persist topics and groups in (empty: memory only)")
	partitions := fs.Int("partitions", 3, "partitions of auto-created topics")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ports, err := parsePorts(*portsFlag)
	if err != nil {
		return err
	}
	opts := []kfake.Opt{
		kfake.Ports(ports...),
		kfake.NumBrokers(len(ports)),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(*partitions),
	}
	if *data != "" {
		opts = append(opts, kfake.DataDir(*data))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("starting brokers on 127.0.0.1 ports %v: %w (is another broker already running? try scripts/services.sh down)", ports, err)
	}
	fmt.Printf("sluice-devkafka: brokers listening on %s\n", strings.Join(c.ListenAddrs(), ","))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	c.Close()
	return nil
}
