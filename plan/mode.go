package plan

import (
	"errors"
	"fmt"
	"strings"
)

// OutputMode is how each batch's results are written to the sink, as in
// Spark Structured Streaming.
type OutputMode string

const (
	// Append writes only rows that will never change again.
	Append OutputMode = "append"
	// Update writes the rows that changed in the batch.
	Update OutputMode = "update"
	// Complete rewrites the whole result table every batch; it needs an
	// aggregation so that the table stays bounded.
	Complete OutputMode = "complete"
)

// ParseOutputMode reads an output mode name, ignoring case and
// surrounding space.
func ParseOutputMode(s string) (OutputMode, error) {
	m := OutputMode(strings.ToLower(strings.TrimSpace(s)))
	if err := m.validate(); err != nil {
		return "", err
	}
	return m, nil
}

func (m OutputMode) validate() error {
	switch m {
	case Append, Update, Complete:
		return nil
	}
	return fmt.Errorf("plan: unknown output mode %q: use append, update or complete", string(m))
}

// String is the mode's name.
func (m OutputMode) String() string { return string(m) }

// CheckStreaming reports whether plan n can run as a streaming query in
// mode. Scan, Project, Filter, Union, Generate, MapBatches and Parse are
// stateless, so every mode but Complete is supported; Complete needs a
// streaming aggregation and is refused with Spark's message. A node type
// this package does not know is an error.
func CheckStreaming(n Node, mode OutputMode) error {
	if n == nil {
		return errors.New("plan: CheckStreaming: plan is nil")
	}
	if err := mode.validate(); err != nil {
		return err
	}
	err := Walk(n, func(n Node) error {
		switch n.(type) {
		case *Scan, *Project, *Filter, *Union, *Generate, *MapBatches, *Parse:
			return nil
		}
		return fmt.Errorf("plan: CheckStreaming: unknown plan node %T (%s); build plans from this package's nodes", n, n)
	})
	if err != nil {
		return err
	}
	// No node type of this package aggregates, so no plan has the
	// aggregation Complete mode needs.
	if mode == Complete {
		return errors.New("plan: Complete output mode not supported when there are no streaming aggregations on streaming DataFrames/Datasets; use append or update output mode")
	}
	return nil
}
