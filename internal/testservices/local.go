package testservices

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// servicesScript is the script that manages the local servers, relative to
// the repository root.
const servicesScript = "scripts/services.sh"

// servicesDirEnv names the directory where scripts/services.sh keeps the
// servers' state (env, PID files, data, logs); the default is .services at
// the repository root. Tests use it to run a private set of servers.
const servicesDirEnv = "SLUICE_SERVICES_DIR"

// stateDir returns the services' state directory.
func stateDir(root string) string {
	if d := os.Getenv(servicesDirEnv); d != "" {
		if filepath.IsAbs(d) {
			return d
		}
		return filepath.Join(root, d)
	}
	return filepath.Join(root, ".services")
}

// scriptTimeout bounds one run of scripts/services.sh; the first run builds
// MinIO from source, which takes minutes.
const scriptTimeout = 20 * time.Minute

// localEnv is the parsed .services/env.
type localEnv map[string]string

func (e localEnv) minio() (S3Endpoint, error) {
	ep := S3Endpoint{
		Endpoint:  e["SLUICE_S3_ENDPOINT"],
		AccessKey: e["SLUICE_S3_ACCESS_KEY"],
		SecretKey: e["SLUICE_S3_SECRET_KEY"],
		Region:    e["SLUICE_S3_REGION"],
	}
	if ep.Endpoint == "" || ep.AccessKey == "" || ep.SecretKey == "" {
		return S3Endpoint{}, errors.New("the services env file lacks SLUICE_S3_ENDPOINT, SLUICE_S3_ACCESS_KEY or SLUICE_S3_SECRET_KEY")
	}
	if rest, ok := strings.CutPrefix(ep.Endpoint, "https://"); ok {
		ep.Endpoint, ep.Secure = rest, true
	} else {
		ep.Endpoint = strings.TrimPrefix(ep.Endpoint, "http://")
	}
	if ep.Region == "" {
		ep.Region = "us-east-1"
	}
	return ep, nil
}

func (e localEnv) kafka() ([]string, error) {
	var brokers []string
	for _, b := range strings.Split(e["SLUICE_KAFKA_BROKERS"], ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	if len(brokers) == 0 {
		return nil, errors.New("the services env file lacks SLUICE_KAFKA_BROKERS")
	}
	return brokers, nil
}

// parseEnv parses KEY=VALUE lines; blank lines and lines starting with '#'
// are ignored, and a value may be wrapped in single or double quotes.
func parseEnv(data []byte) (localEnv, error) {
	env := localEnv{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("line %d: %q is not KEY=VALUE", n, line)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		env[strings.TrimSpace(k)] = v
	}
	return env, sc.Err()
}

// repoRoot walks up from the working directory to the directory holding
// go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return findRoot(dir)
}

func findRoot(dir string) (string, error) {
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod in %s or any parent: run the tests inside the repository", dir)
		}
		d = parent
	}
}

func readEnv(root string) (localEnv, error) {
	path := filepath.Join(stateDir(root), "env")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	env, err := parseEnv(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return env, nil
}

// localService returns what get extracts from the services' env file once healthy
// accepts it, running "scripts/services.sh up" under the lock if needed.
func localService[T any](get func(localEnv) (T, error), healthy func(T) error) (T, error) {
	var zero T
	root, err := repoRoot()
	if err != nil {
		return zero, err
	}
	try := func() (T, error) {
		env, err := readEnv(root)
		if err != nil {
			return zero, err
		}
		v, err := get(env)
		if err != nil {
			return zero, err
		}
		return v, healthy(v)
	}
	// Fast path: the services are up.
	if v, err := try(); err == nil {
		return v, nil
	}
	unlock, err := lockServices(root)
	if err != nil {
		return zero, err
	}
	defer unlock()
	// Another process may have started them while we waited for the lock.
	if v, err := try(); err == nil {
		return v, nil
	}
	if err := runScript(root, "up"); err != nil {
		return zero, err
	}
	v, err := try()
	if err != nil {
		return zero, fmt.Errorf("after %s up: %w", servicesScript, err)
	}
	return v, nil
}

func localMinIO() (S3Endpoint, error) {
	return localService(localEnv.minio, minioReady)
}

func localKafka() ([]string, error) {
	return localService(localEnv.kafka, kafkaListening)
}

func localRestartMinIO() error {
	if _, err := localMinIO(); err != nil {
		return err
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	unlock, err := lockServices(root)
	if err != nil {
		return err
	}
	defer unlock()
	if err := runScript(root, "restart-minio"); err != nil {
		return err
	}
	env, err := readEnv(root)
	if err != nil {
		return err
	}
	ep, err := env.minio()
	if err != nil {
		return err
	}
	return minioReady(ep)
}

// lockServices takes the exclusive lock on .services/lock, waiting for
// other processes that hold it (one may be building MinIO).
func lockServices(root string) (unlock func(), err error) {
	dir := stateDir(root)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout+time.Minute)
	defer cancel()
	path := filepath.Join(dir, "lock")
	unlock, err = lockFileExclusive(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return unlock, nil
}

func runScript(root, command string) error {
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, servicesScript), command)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// The servers the script starts write to their own log files; should
	// one keep our pipes anyway, do not wait for it forever.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w; its output:\n%s", servicesScript, command, err, tail(out.String(), 4000))
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// minioReady reports whether MinIO answers its readiness probe.
func minioReady(ep S3Endpoint) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return httpOK(ctx, ep.URL()+"/minio/health/ready")
}

// waitMinIOReady polls the readiness probe until it answers or ctx ends.
func waitMinIOReady(ctx context.Context, ep S3Endpoint) error {
	for {
		err := minioReady(ep)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("MinIO at %s not ready: %w", ep.Endpoint, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func httpOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// kafkaListening reports whether every broker accepts TCP connections.
func kafkaListening(brokers []string) error {
	var errs []error
	for _, b := range brokers {
		c, err := net.DialTimeout("tcp", b, 2*time.Second)
		if err != nil {
			errs = append(errs, fmt.Errorf("broker %s: %w", b, err))
			continue
		}
		c.Close()
	}
	return errors.Join(errs...)
}
