package objstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
)

// Op names a Store operation, for fault rules and call counts.
type Op int

// The operations of a Store. The zero Op is not valid: say OpAny to match
// every operation.
const (
	OpGet Op = iota + 1
	OpPut
	OpPutIfAbsent
	OpList
	OpDelete
	// OpAny matches every operation in a Rule; Calls(OpAny) counts all calls.
	OpAny
)

func (o Op) String() string {
	switch o {
	case OpGet:
		return "get"
	case OpPut:
		return "put"
	case OpPutIfAbsent:
		return "put-if-absent"
	case OpList:
		return "list"
	case OpDelete:
		return "delete"
	case OpAny:
		return "any"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

func (o Op) valid() bool { return o >= OpGet && o <= OpAny }

// ErrInjected is the sentinel every injected failure matches with
// errors.Is.
var ErrInjected = errors.New("objstore: injected failure")

// InjectedError is the error a Faulty store returns for an injected
// failure. errors.Is(err, ErrInjected) is true for it, and errors.Is and
// errors.As also see the rule's Err, if any.
type InjectedError struct {
	// Op is the operation that failed; Name is the object name, or the
	// prefix for OpList.
	Op   Op
	Name string
	// After is true if the operation was carried out on the inner store
	// before the failure was reported.
	After bool
	// Err is the Rule's Err, or nil.
	Err error
}

func (e *InjectedError) Error() string {
	when := "before"
	if e.After {
		when = "after"
	}
	s := fmt.Sprintf("objstore: injected failure %s %s %q", when, e.Op, e.Name)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is reports whether target is ErrInjected.
func (e *InjectedError) Is(target error) bool { return target == ErrInjected }

// Unwrap returns the rule's Err.
func (e *InjectedError) Unwrap() error { return e.Err }

// Rule says which calls of a Faulty store fail.
//
// A call matches a rule if its operation is Op (or Op is OpAny) and its
// object name starts with Prefix (for List: its prefix argument starts with
// Prefix). A rule counts the matching calls made after it was added; from
// the Nth one on, matching calls fail until the rule has injected Times
// failures. With a Probability, each matching call from the Nth on fails
// only with that probability, drawn from the store's seeded generator.
type Rule struct {
	// Op is the operation to fail, or OpAny. Required.
	Op Op
	// Prefix restricts the rule to names starting with it; "" matches all.
	Prefix string
	// Nth is the first matching call that may fail: 1 (or 0) is the first.
	Nth int
	// Times is how many failures the rule injects: 0 or 1 means one (a
	// one-shot rule), n > 1 means n, and -1 means every matching call from
	// the Nth on (a persistent rule).
	Times int
	// Probability, if positive, makes each eligible call fail with this
	// probability (at most 1) instead of always.
	Probability float64
	// After, if true, performs the operation on the inner store and then
	// reports the failure, discarding the inner result: a crash after the
	// write became durable but before the caller learned of it. If false,
	// the operation fails without reaching the inner store.
	After bool
	// Err, if not nil, is wrapped by the InjectedError (so a rule can fake
	// fs.ErrExist, a timeout, and so on).
	Err error
}

func (r Rule) validate() error {
	switch {
	case !r.Op.valid():
		return fmt.Errorf("objstore: fault rule has Op %v: use OpGet, OpPut, OpPutIfAbsent, OpList, OpDelete or OpAny", r.Op)
	case r.Nth < 0:
		return fmt.Errorf("objstore: fault rule has Nth %d: use 1 for the first matching call", r.Nth)
	case r.Times < -1:
		return fmt.Errorf("objstore: fault rule has Times %d: use a positive count, or -1 for every call", r.Times)
	case r.Probability < 0 || r.Probability > 1:
		return fmt.Errorf("objstore: fault rule has Probability %v: use a value in [0, 1]", r.Probability)
	}
	return nil
}

type ruleState struct {
	Rule
	seen int // matching calls so far
	left int // failures still to inject; -1 for unlimited
}

// Faulty wraps a Store and makes chosen calls fail, for testing recovery.
// Rules are added with FailOn and FailRandomly; a call fails if any rule
// says it should (each rule counts and fires independently, and the first
// rule added among those that fire supplies the error). Random decisions
// come from a generator seeded by the seed given to NewFaulty, so the same
// sequence of calls fails the same way for the same seed; calls made
// concurrently reach the generator in scheduling order.
//
// A Faulty is safe for concurrent use.
type Faulty struct {
	inner Store

	mu       sync.Mutex
	rng      *rand.Rand
	rules    []*ruleState
	calls    [OpAny + 1]int
	injected int
}

// NewFaulty returns a Store that forwards to inner, failing the calls its
// rules select. With no rules it behaves exactly like inner.
func NewFaulty(inner Store, seed int64) *Faulty {
	return &Faulty{
		inner: inner,
		rng:   rand.New(rand.NewPCG(uint64(seed), 0x5eed_0b57_0e5e_ed00)),
	}
}

// FailOn adds a rule. It panics if the rule is invalid (no Op, negative Nth,
// Times below -1, Probability outside [0, 1]): that is a bug in the test.
func (f *Faulty) FailOn(r Rule) {
	if err := r.validate(); err != nil {
		panic(err)
	}
	left := r.Times
	if left == 0 {
		left = 1
	}
	f.mu.Lock()
	f.rules = append(f.rules, &ruleState{Rule: r, left: left})
	f.mu.Unlock()
}

// FailRandomly adds a persistent rule: every call of op (or any operation,
// for OpAny) on a name starting with prefix fails, before reaching the inner
// store, with the given probability.
func (f *Faulty) FailRandomly(op Op, prefix string, probability float64) {
	f.FailOn(Rule{Op: op, Prefix: prefix, Times: -1, Probability: probability})
}

// Reset removes every rule. Call counts are kept.
func (f *Faulty) Reset() {
	f.mu.Lock()
	f.rules = nil
	f.mu.Unlock()
}

// Calls returns how many calls of op the store has received since it was
// created, failed or not; Calls(OpAny) counts every call.
func (f *Faulty) Calls(op Op) int {
	if !op.valid() {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// Injected returns how many failures the store has injected.
func (f *Faulty) Injected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected
}

// Inner returns the wrapped store.
func (f *Faulty) Inner() Store { return f.inner }

// Location returns "faulty(" + the inner store's location + ")".
func (f *Faulty) Location() string { return "faulty(" + Location(f.inner) + ")" }

// decide counts a call and returns the failure to inject, or nil.
func (f *Faulty) decide(op Op, name string) *InjectedError {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	f.calls[OpAny]++
	var fail *InjectedError
	for _, r := range f.rules {
		if (r.Op != OpAny && r.Op != op) || !strings.HasPrefix(name, r.Prefix) {
			continue
		}
		r.seen++
		if r.seen < r.Nth || r.left == 0 {
			continue
		}
		if r.Probability > 0 && f.rng.Float64() >= r.Probability {
			continue
		}
		if r.left > 0 {
			r.left--
		}
		if fail == nil {
			fail = &InjectedError{Op: op, Name: name, After: r.After, Err: r.Err}
		}
	}
	if fail != nil {
		f.injected++
	}
	return fail
}

// Get forwards to the inner store unless a rule fails the call.
func (f *Faulty) Get(ctx context.Context, name string) ([]byte, error) {
	fail := f.decide(OpGet, name)
	if fail != nil && !fail.After {
		return nil, fail
	}
	data, err := f.inner.Get(ctx, name)
	if fail != nil {
		return nil, fail
	}
	return data, err
}

// Put forwards to the inner store unless a rule fails the call.
func (f *Faulty) Put(ctx context.Context, name string, data []byte) error {
	fail := f.decide(OpPut, name)
	if fail != nil && !fail.After {
		return fail
	}
	err := f.inner.Put(ctx, name, data)
	if fail != nil {
		return fail
	}
	return err
}

// PutIfAbsent forwards to the inner store unless a rule fails the call.
func (f *Faulty) PutIfAbsent(ctx context.Context, name string, data []byte) error {
	fail := f.decide(OpPutIfAbsent, name)
	if fail != nil && !fail.After {
		return fail
	}
	err := f.inner.PutIfAbsent(ctx, name, data)
	if fail != nil {
		return fail
	}
	return err
}

// List forwards to the inner store unless a rule fails the call.
func (f *Faulty) List(ctx context.Context, prefix string) ([]string, error) {
	fail := f.decide(OpList, prefix)
	if fail != nil && !fail.After {
		return nil, fail
	}
	names, err := f.inner.List(ctx, prefix)
	if fail != nil {
		return nil, fail
	}
	return names, err
}

// Delete forwards to the inner store unless a rule fails the call.
func (f *Faulty) Delete(ctx context.Context, name string) error {
	fail := f.decide(OpDelete, name)
	if fail != nil && !fail.After {
		return fail
	}
	err := f.inner.Delete(ctx, name)
	if fail != nil {
		return fail
	}
	return err
}
