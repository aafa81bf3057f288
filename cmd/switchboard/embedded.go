package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"switchboard/config"
)

// writeEmbeddedNotice tells the person who started serve on the embedded
// Redis, outside the structured log they may not be reading, that nothing
// in it is durable, where the in-process Redis listens, where accounts
// and settings are kept instead, and the command that creates the first
// account: without an account nobody can log in.
func writeEmbeddedNotice(w io.Writer, httpAddr, redisURL, database string, ephemeralSecret bool) {
	fmt.Fprintf(w, "\nswitchboard: NO REDIS CONFIGURED: running on an embedded in-memory Redis at %s\n", redisURL)
	fmt.Fprintf(w, "  NOTHING IS DURABLE in it: queued work (messages not yet applied, sends not yet made) and sessions are lost when this process stops.\n")
	fmt.Fprintf(w, "  Conversations, contacts, accounts, settings and the audit log are kept in the database %s.\n", database)
	if ephemeralSecret {
		fmt.Fprintf(w, "  auth.secret is not set: login codes and tokens use a random secret made for this run.\n")
	}
	fmt.Fprintf(w, "  Listening on http://%s\n", httpAddr)
	fmt.Fprintf(w, "  Create the first account from another terminal, in this directory (any auth secret of 16+ characters will do for it):\n\n")
	fmt.Fprintf(w, "    %s=%s %s=$(openssl rand -hex 24) %s users create --name \"Your Name\" --phone +15550001234 --role admin\n\n",
		config.EnvRedisURL, redisURL, config.EnvAuthSecret, commandName())
	fmt.Fprintf(w, "  (--phone is your own WhatsApp number in E.164: the login code goes there.)\n\n")
}

// commandName is how the person at the terminal runs this binary again:
// its path as they typed it, or "go run ./cmd/switchboard" when go run
// built it in a temporary directory.
func commandName() string {
	exe := os.Args[0]
	if strings.Contains(exe, "go-build") {
		return "go run ./cmd/switchboard"
	}
	return exe
}
