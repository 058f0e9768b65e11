package plan

import (
	"sort"

	"github.com/sluicehq/sluice/expr"
)

// Optimize rewrites a plan into an equivalent one that is cheaper to run.
// Its one rule today prunes columns before filters: a Project over a
// Filter that reads only some of its input's columns gets a projection of
// just the columns both need inserted below the Filter, so the Filter
// copies only those (a plain column reference costs nothing to project).
// Names, types and row order are unchanged. A node that cannot be rebuilt
// is left as it is.
func Optimize(n Node) Node {
	if n == nil {
		return nil
	}
	kids := n.Children()
	if len(kids) > 0 {
		r, ok := n.(Rebuilder)
		if !ok {
			return n
		}
		newKids := make([]Node, len(kids))
		changed := false
		for i, k := range kids {
			newKids[i] = Optimize(k)
			changed = changed || newKids[i] != k
		}
		if changed {
			rebuilt, err := r.WithChildren(newKids)
			if err != nil {
				return n
			}
			n = rebuilt
		}
	}
	if p, ok := n.(*Project); ok {
		if out, ok := pruneBelowFilter(p); ok {
			return out
		}
	}
	return n
}

// pruneBelowFilter applies the rule to Project(Filter(x)).
func pruneBelowFilter(p *Project) (Node, bool) {
	f, ok := p.Input.(*Filter)
	if !ok || f.bound == nil {
		return nil, false
	}
	need := map[int]bool{}
	for _, b := range p.bound {
		for _, c := range b.Columns() {
			need[c] = true
		}
	}
	for _, c := range f.bound.Columns() {
		need[c] = true
	}
	in := f.Input.Schema()
	if len(need) == 0 || len(need) >= in.NumFields() {
		return nil, false
	}
	seen := map[string]bool{}
	for _, fl := range in.Fields() {
		if seen[fl.Name] {
			return nil, false // a name twice: a column reference would be ambiguous
		}
		seen[fl.Name] = true
	}
	if _, narrow := f.Input.(*Project); narrow {
		return nil, false // already pruned (or a projection of its own)
	}
	idx := make([]int, 0, len(need))
	for c := range need {
		idx = append(idx, c)
	}
	sort.Ints(idx)
	cols := make([]expr.Expr, len(idx))
	for i, c := range idx {
		cols[i] = expr.Col(in.Field(c).Name)
	}
	narrow, err := NewProject(f.Input, cols...)
	if err != nil {
		return nil, false
	}
	nf, err := NewFilter(narrow, f.Cond)
	if err != nil {
		return nil, false
	}
	np, err := NewProject(nf, p.Exprs...)
	if err != nil {
		return nil, false
	}
	return np, true
}
