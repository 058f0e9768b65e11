package state

import "fmt"

// DefaultSnapshotInterval is how often, in versions, a store writes a
// snapshot unless WithSnapshotInterval says otherwise.
const DefaultSnapshotInterval = 10

// Option configures NewMemoryProvider.
type Option func(*options)

type options struct {
	snapshotInterval int
	compression      Compression
}

func defaultOptions() options {
	return options{snapshotInterval: DefaultSnapshotInterval, compression: CompressionSnappy}
}

// WithSnapshotInterval makes Commit write a snapshot, beside the delta,
// at every version that is a positive multiple of n. Recovery of a
// version reads at most one snapshot and n-1 deltas (n deltas when no
// snapshot precedes it), so a smaller n recovers faster and writes more.
// n must be at least 1; the default is DefaultSnapshotInterval.
func WithSnapshotInterval(n int) Option {
	return func(o *options) { o.snapshotInterval = n }
}

// WithCompression sets how new objects are compressed; the default is
// CompressionSnappy. Objects say how they are compressed, so the setting
// may change between runs of a query.
func WithCompression(c Compression) Option {
	return func(o *options) { o.compression = c }
}

func (o options) validate() error {
	if o.snapshotInterval < 1 {
		return fmt.Errorf("state: WithSnapshotInterval(%d): the interval must be at least 1 version", o.snapshotInterval)
	}
	if o.compression != CompressionNone && o.compression != CompressionSnappy {
		return fmt.Errorf("state: WithCompression(%d): unknown compression, use CompressionNone or CompressionSnappy", byte(o.compression))
	}
	return nil
}
