// Package query parses Frappe list-query parameters (fields, filters,
// or_filters, order_by, group_by) and compiles filter conditions into
// predicates with Frappe's semantics.
//
// The behavioural reference is Frappe v15's db_query engine
// (frappe/model/db_query.py with frappe/utils get_filter and
// get_timespan_date_range) running on MariaDB; see
// /work/shared/reference/frappe-wire-spec.md §2 and §3. This package does no
// metadata look-ups: it neither knows which fields a DocType has nor resolves
// child tables, links or permissions. Callers validate [Condition.Field],
// [Field.Name] and [Order.Field] against the DocType and pass the field's
// Frappe fieldtype to [Compile].
//
// # Value model
//
// [Predicate.Match] receives a field's stored value normalised by fieldtype:
// nil for NULL; int64 for Int and Check (and idx, docstatus); float64 for
// Float, Currency and Percent; "YYYY-MM-DD" for Date;
// "YYYY-MM-DD HH:MM:SS.ffffff" for Datetime (and creation, modified);
// "HH:MM:SS.ffffff" for Time; a string for everything else.
//
// # NULL handling
//
// Frappe compares most columns as IFNULL(col, fallback), so NULL behaves like
// the fallback: "" for strings, '0001-01-01' for Date,
// '0001-01-01 00:00:00.000000' for Datetime, '00:00:00.000000' for Time ("" in
// "in"/"not in"). The coalescing is skipped, and NULL then matches nothing, for
// the fields name, creation and modified; for "=" and "like" with a truthy
// value; for ">" and ">=" on Date/Datetime fields; for "between" (and
// timespan/previous/next) on Date/Datetime fields; for "in" lists without an
// empty or null entry; and for "is set". Numeric fields are NOT NULL in Frappe;
// here a nil numeric value behaves as 0.
//
// # Approximations of MariaDB behaviour
//
//   - String comparisons (=, !=, <, <=, >, >=, in, not in, like, between) are
//     case-insensitive, approximating utf8mb4_unicode_ci by simple Unicode case
//     folding (see [FoldKey]). Accents are not folded and trailing spaces are
//     significant (MariaDB's PAD SPACE is not emulated). Ordering compares
//     folded keys byte-wise (code-point order), not by collation weights.
//   - Filter values for string fields are stringified the way Python's str()
//     would (1 → "1", 1.5 → "1.5", true → "True", null → ""). Frappe sometimes
//     compares a string column with a number numerically (e.g. a Select field
//     with a numeric value); here such comparisons are always string
//     comparisons.
//   - "in"/"not in" on numeric fields compares numerically. (In Frappe the
//     IFNULL(col, "") wrapper turns some of these into string comparisons of
//     the DECIMAL text, e.g. ["amount","not in",[1.5]] keeps amount = 1.5.)
//   - "is set" on a numeric field matches non-zero values and "is not set"
//     matches nothing: MariaDB evaluates col != "" numerically ("" is 0)
//     while IFNULL(col, "") = "" compares the number's text with "".
//   - In "like", % matches any sequence and _ one character. A backslash is a
//     literal character: Frappe doubles backslashes before building the SQL, so
//     clients cannot escape % or _.
//
// See the documentation of [Compile] and [ParseFilters] for the remaining
// decisions.
package query
