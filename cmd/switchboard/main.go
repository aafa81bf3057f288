// Command switchboard is the Switchboard binary: the webhook gateway and the
// worker pool (`serve`), and the operator's commands.
//
//	switchboard serve [--config FILE] [--role all|gateway|worker] [--no-migrate]
//	switchboard serve --demo
//	switchboard migrate [--config FILE] [--status]
//	switchboard apply -f SETTINGS.yaml [--dry-run]
//	switchboard version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=... -X main.date=...".
var (
	version = "dev"
	commit  = ""
	date    = ""
)

const usage = `Switchboard: a WhatsApp and messaging gateway for customer-service teams.

Usage:
  switchboard serve [--config FILE] [--role all|gateway|worker] [--no-migrate]
  switchboard serve --demo                                 try it: made-up team, customer simulator, login codes printed (in memory)
  switchboard migrate [--config FILE] [--status]           apply pending database migrations (--status: only show versions)
  switchboard apply -f SETTINGS.yaml [--dry-run] [--config FILE]
  switchboard users create|list|disable|delete ...
  switchboard groups create|list|rename|set-members|delete ...
  switchboard contacts erase --contact ID [--config FILE]
  switchboard whatsapp pair --channel ID [--phone +E164]   link a number (QR code, or a code typed on the phone)
  switchboard whatsapp status|unlink [--channel ID]
  switchboard telegram set-webhook --channel ID --url URL
  switchboard version

Run "switchboard serve --help" for its flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serveCommand(ctx, args[1:], stderr)
	case "migrate":
		err = migrateCommand(ctx, args[1:], stdout, stderr)
	case "apply":
		err = applyCommand(ctx, args[1:], stdout, stderr)
	case "users":
		err = usersCommand(ctx, args[1:], stdout, stderr)
	case "groups":
		err = groupsCommand(ctx, args[1:], stdout, stderr)
	case "contacts":
		err = contactsCommand(ctx, args[1:], stdout, stderr)
	case "whatsapp":
		err = whatsappCommand(ctx, args[1:], stdout, stderr)
	case "telegram":
		err = telegramCommand(ctx, args[1:], stdout, stderr)
	case "version":
		printVersion(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "switchboard: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return 1
	}
}

// errUsage marks a command-line mistake, already explained on stderr.
var errUsage = errors.New("usage")

func printVersion(w io.Writer) {
	v, c, d := version, commit, date
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && c == "":
				c = s.Value
			case s.Key == "vcs.time" && d == "":
				d = s.Value
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	if d == "" {
		d = "unknown"
	}
	fmt.Fprintf(w, "switchboard %s (commit %s, built %s)\n", v, c, d)
}
