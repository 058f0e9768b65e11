package expr

// ColumnRef reports whether e is a plain reference to a column, looking
// through an alias, and returns the column's name. Planners use it to tell
// a grouping key that is the event-time column itself from a computed one.
func ColumnRef(e Expr) (string, bool) {
	n := e.n
	for {
		switch x := n.(type) {
		case *aliasNode:
			n = x.x
		case *colNode:
			return x.name, true
		default:
			return "", false
		}
	}
}
