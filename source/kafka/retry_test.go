package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/IBM/sarama"
)

func TestRetryLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		attempts, refreshes := 0, 0
		start := time.Now()
		err := retryLoop(ctx, 5, 100*time.Millisecond, func() { refreshes++ }, func() error {
			attempts++
			return fmt.Errorf("fetching: %w", sarama.ErrNotLeaderForPartition)
		})
		if !errors.Is(err, sarama.ErrNotLeaderForPartition) || attempts != 6 || refreshes != 5 {
			t.Fatalf("retryLoop = %v after %d attempts and %d refreshes; want the last error after 6 and 5", err, attempts, refreshes)
		}
		// 100 + 200 + 400 + 800 + 1000 (capped) milliseconds of backoff.
		if d := time.Since(start); d != 2500*time.Millisecond {
			t.Errorf("backing off took %v, want 2.5s", d)
		}

		attempts = 0
		err = retryLoop(ctx, 5, 100*time.Millisecond, func() {}, func() error {
			attempts++
			if attempts < 3 {
				return io.EOF
			}
			return nil
		})
		if err != nil || attempts != 3 {
			t.Errorf("a transient failure: %v after %d attempts, want success after 3", err, attempts)
		}

		attempts = 0
		err = retryLoop(ctx, 5, 100*time.Millisecond, func() {}, func() error {
			attempts++
			return sarama.ErrTopicAuthorizationFailed
		})
		if !errors.Is(err, sarama.ErrTopicAuthorizationFailed) || attempts != 1 {
			t.Errorf("a permanent failure: %v after %d attempts, want no retry", err, attempts)
		}

		cctx, cancel := context.WithCancel(ctx)
		go func() {
			time.Sleep(150 * time.Millisecond)
			cancel()
		}()
		start = time.Now()
		err = retryLoop(cctx, 5, 100*time.Millisecond, func() {}, func() error { return transient{errors.New("not yet")} })
		if !errors.Is(err, context.Canceled) || time.Since(start) != 150*time.Millisecond {
			t.Errorf("canceled during backoff: %v after %v, want context.Canceled after 150ms", err, time.Since(start))
		}
	})
}
