package objstore

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Memory is a Store held in process memory, for tests and examples. Put
// copies the caller's bytes and Get returns a fresh copy, so neither side
// can change stored objects through a slice it holds. A Memory is safe for
// concurrent use; its contents vanish with the process.
type Memory struct {
	loc  string
	mu   sync.RWMutex
	objs map[string][]byte
}

var privateMemories atomic.Int64

// NewMemory returns an empty in-memory Store private to the caller. Its
// Location ("mem://private-N") describes it in messages only: opening that
// location gives a different, shared store. Use SharedMemory for a store
// that Open can find by name.
func NewMemory() *Memory {
	return newMemory(fmt.Sprintf("mem://private-%d", privateMemories.Add(1)))
}

func newMemory(loc string) *Memory {
	return &Memory{loc: loc, objs: make(map[string][]byte)}
}

var (
	sharedMu       sync.Mutex
	sharedMemories = map[string]*Memory{}
)

// SharedMemory returns the process-wide in-memory Store called name,
// creating it empty on first use; Open("mem://name") returns the same
// store. Shared stores live as long as the process: delete their objects
// when done with them.
func SharedMemory(name string) *Memory {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	m, ok := sharedMemories[name]
	if !ok {
		m = newMemory("mem://" + name)
		sharedMemories[name] = m
	}
	return m
}

// Location returns "mem://" followed by the store's name.
func (m *Memory) Location() string { return m.loc }

func (m *Memory) check(ctx context.Context, op, name string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("objstore: %s %q in %s: %w", op, name, m.loc, err)
	}
	if err := ValidateName(name); err != nil {
		return fmt.Errorf("%w (%s in %s)", err, op, m.loc)
	}
	return nil
}

// Get returns a copy of the object, owned by the caller, or an error
// wrapping fs.ErrNotExist.
func (m *Memory) Get(ctx context.Context, name string) ([]byte, error) {
	if err := m.check(ctx, "get", name); err != nil {
		return nil, err
	}
	m.mu.RLock()
	data, ok := m.objs[name]
	m.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("objstore: object %q not found in %s (%w)", name, m.loc, fs.ErrNotExist)
	}
	// Stored slices are never modified in place, so copying outside the
	// lock is safe.
	return append([]byte{}, data...), nil
}

// Put stores a copy of data under name, replacing any object of that name.
func (m *Memory) Put(ctx context.Context, name string, data []byte) error {
	if err := m.check(ctx, "put", name); err != nil {
		return err
	}
	c := append([]byte{}, data...)
	m.mu.Lock()
	m.objs[name] = c
	m.mu.Unlock()
	return nil
}

// PutIfAbsent stores a copy of data under name if no object of that name
// exists; otherwise it returns an error wrapping fs.ErrExist.
func (m *Memory) PutIfAbsent(ctx context.Context, name string, data []byte) error {
	if err := m.check(ctx, "put-if-absent", name); err != nil {
		return err
	}
	c := append([]byte{}, data...)
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objs[name]; ok {
		return fmt.Errorf("objstore: object %q already exists in %s (%w)", name, m.loc, fs.ErrExist)
	}
	m.objs[name] = c
	return nil
}

// List returns the names starting with prefix, sorted in byte order.
func (m *Memory) List(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("objstore: list %q in %s: %w", prefix, m.loc, err)
	}
	names := []string{}
	m.mu.RLock()
	for n := range m.objs {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	m.mu.RUnlock()
	sort.Strings(names)
	return names, nil
}

// Delete removes the object; deleting a missing object returns nil.
func (m *Memory) Delete(ctx context.Context, name string) error {
	if err := m.check(ctx, "delete", name); err != nil {
		return err
	}
	m.mu.Lock()
	delete(m.objs, name)
	m.mu.Unlock()
	return nil
}
