// Command gantry is Gantry's single binary: `gantry server` runs the
// AWS Batch-compatible service, and the other subcommands (submit, jobs,
// describe, logs, cancel, terminate) are a client for daily use without the
// AWS CLI. Every flag can also be set with an environment variable GANTRY_<FLAG>
// (upper case, dashes as underscores), e.g. GANTRY_DATA_DIR.
package main

import (
	"fmt"
	"os"
	"strings"
	_ "time/tzdata" // schedule time zones on hosts without zoneinfo

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "gantry:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "gantry",
		Short:         "Gantry: AWS Batch that you run yourself",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyEnv(cmd.Flags())
		},
	}
	root.AddCommand(newServerCmd())
	addClientCommands(root)
	return root
}

// applyEnv sets every flag not given on the command line from GANTRY_<FLAG>.
func applyEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || err != nil {
			return
		}
		name := "GANTRY_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("%s: %w", name, serr)
			}
		}
	})
	return err
}
