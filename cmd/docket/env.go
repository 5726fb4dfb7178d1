package main

import (
	"flag"
	"fmt"
	"strings"
)

// envName is the environment variable of a flag: DOCKET_ and its name
// in capitals, dashes as underscores (--ready-max-lag: DOCKET_READY_MAX_LAG).
func envName(flagName string) string {
	return "DOCKET_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// envUsage is a flag set's usage that says how its flags are set from
// the environment.
func envUsage(fs *flag.FlagSet, command string) func() {
	return func() {
		fmt.Fprintf(fs.Output(), "usage: %s [flags]\n"+
			"Every flag is also read from its environment variable: DOCKET_ and the flag's name in capitals,\n"+
			"dashes as underscores (--ready-max-lag: DOCKET_READY_MAX_LAG); a flag on the command line wins.\n", command)
		fs.PrintDefaults()
	}
}

// setFromEnv gives every flag not set on the command line the value of
// its environment variable, when that is set: a flag wins over its
// variable, which wins over the default. Call it after fs.Parse.
func setFromEnv(fs *flag.FlagSet, getenv func(string) string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		v := getenv(envName(f.Name))
		if set[f.Name] || v == "" || err != nil {
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, e)
		}
	})
	return err
}
