package lint

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/sluicehq/sluice"

// layer gives each package's level; a package may import only packages of
// a strictly lower level (or its own subpackages' contracts, see below).
// The direction of DESIGN.md: dataframe/sql -> engine -> microbatch ->
// {incremental, state, wal, source, sink, trigger} -> {plan, expr} -> arrow;
// wal, state -> objstore.
var layer = map[string]int{
	"objstore":    0,
	"bufpool":     0,
	"trigger":     0,
	"expr":        1,
	"plan":        2,
	"wal":         1,
	"source":      2,
	"sink":        2,
	"state":       2,
	"agg":         1,
	"decode":      0,
	"table":       2,
	"stateful":    2,
	"incremental": 3,
	"microbatch":  4,
	"engine":      5,
	"dataframe":   6,
	"sql":         6,
}

// top returns the first path element of a package inside the module.
func top(pkg string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	return strings.SplitN(rel, "/", 2)[0]
}

func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		from := top(p.ImportPath)
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			to := top(imp)
			if to == "examples" || to == "integration" || to == "cmd" {
				t.Errorf("%s imports %s: nothing may import examples/, integration/ or cmd/", p.ImportPath, imp)
				continue
			}
			lf, okf := layer[from]
			lt, okt := layer[to]
			if !okf || !okt || from == to {
				continue // commands, examples, tests' helpers, or within one package tree
			}
			checked++
			if lt >= lf {
				t.Errorf("%s imports %s: %s (level %d) may only import lower levels, and %s is level %d", p.ImportPath, imp, from, lf, to, lt)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no imports between layered packages were checked: the test is not looking at the module")
	}
}
