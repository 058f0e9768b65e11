package kafka

// TestHooks stop a sink at the points where a crash matters; see testHooks.
type TestHooks struct {
	// BeforeCommit, if it returns an error, makes AddBatch return it with
	// the transaction open: a crash before the commit.
	BeforeCommit func(batchID int64) error
	// CommitResult replaces the result of CommitTxn after it ran.
	CommitResult func(batchID int64, err error) error
	// AfterCommit, if it returns an error, makes AddBatch return it after
	// the commit: a crash before the driver writes commits/N.
	AfterCommit func(batchID int64) error
}

// WithTestHooks installs h.
func WithTestHooks(h TestHooks) Option {
	return func(c *config) {
		c.hooks = testHooks{beforeCommit: h.BeforeCommit, commitResult: h.CommitResult, afterCommit: h.AfterCommit}
	}
}

// MarkerMetadata exposes markerMetadata to the golden test.
var MarkerMetadata = markerMetadata

// ParseMarker exposes parseMarker to tests.
var ParseMarker = parseMarker
