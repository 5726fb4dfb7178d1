package query_test

import (
	"fmt"
	"time"

	"docket/projections/query"
)

func ExampleParseFilters() {
	conds, err := query.ParseFilters(`[["status","!=","Closed"],["ToDo","date","Between",["2024-01-01","2024-01-31"]],["items.qty",">",1]]`)
	if err != nil {
		panic(err)
	}
	for _, c := range conds {
		fmt.Printf("doctype=%q table=%q field=%q op=%q value=%v\n", c.DocType, c.Table, c.Field, c.Op, c.Value)
	}

	// A NULL status is not "Closed", so != matches it (Frappe's IFNULL rule).
	p, _ := query.Compile(conds[0], "Select", query.Env{})
	fmt.Println(p.Match("Open"), p.Match("closed"), p.Match(nil))

	_, err = query.ParseFilters(`[["status","<>","Closed"]]`)
	fmt.Println(err.(*query.Error).Type)
	// Output:
	// doctype="" table="" field="status" op="!=" value=Closed
	// doctype="ToDo" table="" field="date" op="between" value=[2024-01-01 2024-01-31]
	// doctype="" table="items" field="qty" op=">" value=1
	// true false true
	// ValidationError
}

func ExampleCompile() {
	env := query.Env{Now: time.Date(2024, 5, 15, 9, 0, 0, 0, time.UTC), WeekStart: time.Monday}
	p, err := query.Compile(query.Condition{Field: "modified", Op: "timespan", Value: "last week"}, "Datetime", env)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Lower, "..", p.Upper)
	fmt.Println(p.Match("2024-05-12 23:59:59.999999"), p.Match("2024-05-13 00:00:00.000000"))
	// Output:
	// 2024-05-06 00:00:00.000000 .. 2024-05-12 23:59:59.999999
	// true false
}
