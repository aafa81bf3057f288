package whatsmeow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/types"
)

// EnvPostgres names a PostgreSQL database the store tests may create and
// drop tables in; without it they try the local server and skip if none.
const EnvPostgres = "SWITCHBOARD_TEST_POSTGRES"

// linkFake stores a device as pairing would, without WhatsApp.
func linkFake(t *testing.T, c *Channel, user string) {
	t.Helper()
	ctx := context.Background()
	dev, err := c.device(ctx)
	if err != nil {
		t.Fatal(err)
	}
	jid := types.NewADJID(user, 0, 7)
	dev.ID = &jid
	dev.PushName = "Soporte"
	dev.Platform = "android"
	// Pairing fills in the account's signed identity; any will do here.
	dev.Account = &waAdv.ADVSignedDeviceIdentity{Details: []byte{1}, AccountSignature: make([]byte, 64), AccountSignatureKey: make([]byte, 32), DeviceSignature: make([]byte, 64)}
	if err := dev.Save(ctx); err != nil {
		t.Fatalf("save device: %v", err)
	}
}

// checkStoreLifecycle opens a store (creating and upgrading its tables),
// links a device, closes it, reopens it and finds the device again.
func checkStoreLifecycle(t *testing.T, dsn string) {
	ctx := context.Background()
	c, err := New("wa-linked", Config{Store: dsn}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Linked(ctx); !errors.Is(err, ErrNotLinked) {
		t.Fatalf("new store: Linked = %v, want ErrNotLinked", err)
	}
	linkFake(t, c, "5511900000099")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopening runs the upgrade again: it must find nothing to do and
	// keep the device.
	again, err := New("wa-linked", Config{Store: dsn}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	link, err := again.Linked(ctx)
	if err != nil {
		t.Fatalf("reopened store: %v", err)
	}
	if link.JID != "5511900000099@s.whatsapp.net" || link.PushName != "Soporte" || link.Platform != "android" {
		t.Fatalf("reopened store holds %+v", link)
	}
}

func TestSQLiteStoreOpensUpgradesAndReopens(t *testing.T) {
	path := t.TempDir() + "/wa.db"
	checkStoreLifecycle(t, "file:"+path)
	// The schema version whatsmeow wrote is the one this build needs.
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version int
	if err := db.QueryRow("SELECT version FROM whatsmeow_version").Scan(&version); err != nil || version < 1 {
		t.Fatalf("schema version = %d (%v)", version, err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("store file: %v", err)
	}
}

func TestPostgresStoreOpensUpgradesAndReopens(t *testing.T) {
	dsn := os.Getenv(EnvPostgres)
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		if os.Getenv(EnvPostgres) != "" {
			t.Fatalf("%s is set but unreachable: %v", EnvPostgres, err)
		}
		t.Skipf("no PostgreSQL at %s: %v", redactDSN(dsn), err)
	}
	// A database of its own: whatsmeow looks its tables up by name in
	// every schema, so the test must not share a database with another store.
	name := fmt.Sprintf("sb_wa_test_%d", time.Now().UnixNano())
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = db.Exec("DROP DATABASE " + name + " WITH (FORCE)") })
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	checkStoreLifecycle(t, u.String())
}

func TestStoreDSNErrors(t *testing.T) {
	for _, dsn := range []string{"", "mysql://root@localhost/wa", "/var/lib/wa.db"} {
		if _, err := New("wa-linked", Config{Store: dsn}, quiet); err == nil {
			t.Errorf("store %q accepted", dsn)
		}
	}
	_, err := New("wa-linked", Config{Store: "mysql://root:hunter2@localhost/wa"}, quiet)
	if err == nil || containsString(err.Error(), "hunter2") {
		t.Fatalf("error %v leaks the password", err)
	}
}

func containsString(s, sub string) bool { return contains(s, sub) }
