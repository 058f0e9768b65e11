package testservices

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Images used by the docker provider.
const (
	minioImage = "minio/minio"
	kafkaImage = "apache/kafka"

	dockerMinIOUser     = "sluiceadmin"
	dockerMinIOPassword = "sluiceadmin-secret"
)

// dockerStartTimeout bounds pulling an image and starting its container.
const dockerStartTimeout = 5 * time.Minute

// dockerHealthy reports whether a Docker engine answers within timeout.
func dockerHealthy(timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	done := make(chan bool, 1)
	go func() {
		defer func() {
			if recover() != nil { // the client panics on some broken setups
				done <- false
			}
		}()
		p, err := testcontainers.NewDockerProvider()
		if err != nil {
			done <- false
			return
		}
		done <- p.Health(ctx) == nil // Health closes p
	}()
	select {
	case ok := <-done:
		return ok
	case <-ctx.Done():
		return false
	}
}

// daemonHost returns the host on which the engine publishes ports.
func daemonHost(ctx context.Context) (string, error) {
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		return "", err
	}
	defer p.Close()
	return p.DaemonHost(ctx)
}

// freePort returns a TCP port that is free on this machine now. Containers
// publish on a fixed host port chosen this way, so that Kafka can advertise
// it and a restarted container keeps its address.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// publish binds the container's port to the same-numbered or given host port.
func publish(containerPort string, hostPort int) func(*container.HostConfig) {
	return func(hc *container.HostConfig) {
		if hc.PortBindings == nil {
			hc.PortBindings = network.PortMap{}
		}
		hc.PortBindings[network.MustParsePort(containerPort)] = []network.PortBinding{{HostPort: strconv.Itoa(hostPort)}}
	}
}

var dockerMinIOState struct {
	once sync.Once
	ctr  testcontainers.Container
	ep   S3Endpoint
	err  error
}

func dockerMinIO() (S3Endpoint, error) {
	s := &dockerMinIOState
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), dockerStartTimeout)
		defer cancel()
		s.ep, s.ctr, s.err = startMinIOContainer(ctx)
	})
	return s.ep, s.err
}

func startMinIOContainer(ctx context.Context) (S3Endpoint, testcontainers.Container, error) {
	host, err := daemonHost(ctx)
	if err != nil {
		return S3Endpoint{}, nil, fmt.Errorf("docker host: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return S3Endpoint{}, nil, err
	}
	ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:        minioImage,
			Cmd:          []string{"server", "/data"},
			ExposedPorts: []string{"9000/tcp"},
			Env: map[string]string{
				"MINIO_ROOT_USER":     dockerMinIOUser,
				"MINIO_ROOT_PASSWORD": dockerMinIOPassword,
				"MINIO_BROWSER":       "off",
			},
			HostConfigModifier: publish("9000/tcp", port),
			WaitingFor:         wait.ForHTTP("/minio/health/ready").WithPort("9000/tcp").WithStartupTimeout(2 * time.Minute),
		},
		Started: true,
	})
	if err != nil {
		return S3Endpoint{}, ctr, fmt.Errorf("start %s container: %w", minioImage, err)
	}
	ep := S3Endpoint{
		Endpoint:  net.JoinHostPort(host, strconv.Itoa(port)),
		AccessKey: dockerMinIOUser,
		SecretKey: dockerMinIOPassword,
		Region:    "us-east-1",
	}
	if err := waitMinIOReady(ctx, ep); err != nil {
		return S3Endpoint{}, ctr, err
	}
	return ep, ctr, nil
}

func dockerRestartMinIO() error {
	ep, err := dockerMinIO()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), dockerStartTimeout)
	defer cancel()
	ctr := dockerMinIOState.ctr
	grace := 10 * time.Second
	if err := ctr.Stop(ctx, &grace); err != nil {
		return fmt.Errorf("stop %s container: %w", minioImage, err)
	}
	if err := ctr.Start(ctx); err != nil {
		return fmt.Errorf("start %s container again: %w", minioImage, err)
	}
	return waitMinIOReady(ctx, ep)
}

var dockerKafkaState struct {
	once    sync.Once
	brokers []string
	err     error
}

func dockerKafka() ([]string, error) {
	s := &dockerKafkaState
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), dockerStartTimeout)
		defer cancel()
		s.brokers, s.err = startKafkaContainer(ctx)
	})
	return s.brokers, s.err
}

// startKafkaContainer runs a single KRaft node that is broker and
// controller. Its client listener uses the same port number inside and
// outside the container, so the advertised address is the published one.
func startKafkaContainer(ctx context.Context) ([]string, error) {
	host, err := daemonHost(ctx)
	if err != nil {
		return nil, fmt.Errorf("docker host: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p := strconv.Itoa(port)
	addr := net.JoinHostPort(host, p)
	_, err = testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:        kafkaImage,
			ExposedPorts: []string{p + "/tcp"},
			Env: map[string]string{
				"CLUSTER_ID":                                     "c2x1aWNlLXRlc3RzLTAwMQ",
				"KAFKA_NODE_ID":                                  "1",
				"KAFKA_PROCESS_ROLES":                            "broker,controller",
				"KAFKA_LISTENERS":                                "PLAINTEXT://0.0.0.0:" + p + ",CONTROLLER://localhost:9093",
				"KAFKA_ADVERTISED_LISTENERS":                     "PLAINTEXT://" + addr,
				"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP":           "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
				"KAFKA_CONTROLLER_LISTENER_NAMES":                "CONTROLLER",
				"KAFKA_INTER_BROKER_LISTENER_NAME":               "PLAINTEXT",
				"KAFKA_CONTROLLER_QUORUM_VOTERS":                 "1@localhost:9093",
				"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR":         "1",
				"KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
				"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR":            "1",
				"KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS":         "0",
				"KAFKA_NUM_PARTITIONS":                           "3",
			},
			HostConfigModifier: publish(p+"/tcp", port),
			WaitingFor: wait.ForAll(
				wait.ForLog("Kafka Server started"),
				wait.ForListeningPort(p+"/tcp").SkipInternalCheck(),
			).WithDeadline(3 * time.Minute),
		},
		Started: true,
	})
	if err != nil {
		return nil, fmt.Errorf("start %s container: %w", kafkaImage, err)
	}
	brokers := []string{addr}
	if err := kafkaListening(brokers); err != nil {
		return nil, err
	}
	return brokers, nil
}
