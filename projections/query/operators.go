package query

import "strings"

// operatorList lists the filter operators Frappe v15 accepts, in the order of
// its "Operator must be one of …" message.
var operatorList = []string{
	"=", "!=", ">", "<", ">=", "<=", "like", "not like", "in", "not in", "is",
	"between", "timespan", "previous", "next",
	"ancestors of", "descendants of", "not ancestors of", "not descendants of",
	"descendants of (inclusive)",
}

var operatorSet = func() map[string]bool {
	m := make(map[string]bool, len(operatorList))
	for _, op := range operatorList {
		m[op] = true
	}
	return m
}()

// isNestedSetOp reports whether op needs a tree (nested set) DocType.
func isNestedSetOp(op string) bool {
	switch op {
	case "ancestors of", "descendants of", "not ancestors of", "not descendants of",
		"descendants of (inclusive)":
		return true
	}
	return false
}

// normaliseOp lower-cases op and collapses runs of white space to one space.
// An empty operator means "=". It returns an error for unknown operators
// (including "<>", which Frappe v15 rejects).
func normaliseOp(op string) (string, error) {
	n := strings.Join(strings.Fields(strings.ToLower(op)), " ")
	if n == "" {
		return "=", nil
	}
	if !operatorSet[n] {
		return "", errUnknownOp()
	}
	return n, nil
}

func errUnknownOp() error {
	return validationErr("Operator must be one of " + strings.Join(operatorList, ", "))
}
