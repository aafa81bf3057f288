package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"switchboard/conversations"
	"switchboard/queue"
)

// freePort returns a loopback port nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// redisProcess starts redis-server with args until the test ends.
func redisProcess(t *testing.T, name string, args ...string) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed; .ci/run installs it")
	}
	cmd := exec.Command(bin, args...)
	logf, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// customerText is a Cloud API webhook with one text message from a sender
// of its own, so each message makes a contact that can be looked up.
func customerText(n int) (body []byte, sig, from string) {
	from = fmt.Sprintf("55119%08d", n)
	body = []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"100000000000001"},"contacts":[{"profile":{"name":"Ana"},"wa_id":"` + from + `"}],"messages":[{"from":"` + from + `","id":"wamid.failover.` + fmt.Sprint(n) + `","timestamp":"` + nowTS() + `","type":"text","text":{"body":"hola"}}]}}]}]}`)
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return body, "sha256=" + hex.EncodeToString(mac.Sum(nil)), from
}

// Through Redis Sentinel, the gateway and workers follow the primary
// across a forced failover: webhooks keep being accepted, and every one
// that was acknowledged with 200 is recorded in the database, once.
func TestSentinelFailoverLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three Redis processes")
	}
	dir := t.TempDir()
	master, replica, sentinel := freePort(t), freePort(t), freePort(t)
	common := []string{"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir}
	redisProcess(t, "master", append([]string{"--port", fmt.Sprint(master)}, common...)...)
	redisProcess(t, "replica", append([]string{"--port", fmt.Sprint(replica), "--replicaof", "127.0.0.1", fmt.Sprint(master)}, common...)...)
	replicaClient := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", replica)})
	defer replicaClient.Close()
	waitFor(t, "the replica to sync", 20*time.Second, func() bool {
		info, err := replicaClient.Info(context.Background(), "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	conf := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, "port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor sb 127.0.0.1 %d 1\nsentinel down-after-milliseconds sb 1000\nsentinel failover-timeout sb 5000\n",
		sentinel, dir, master), 0o600); err != nil {
		t.Fatal(err)
	}
	redisProcess(t, "sentinel", conf, "--sentinel")
	sc := redis.NewSentinelClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", sentinel)})
	defer sc.Close()
	masterAddr := func() string {
		addr, err := sc.GetMasterAddrByName(context.Background(), "sb").Result()
		if err != nil || len(addr) != 2 {
			return ""
		}
		return addr[0] + ":" + addr[1]
	}
	waitFor(t, "the sentinel to see the replica", 20*time.Second, func() bool {
		replicas, err := sc.Replicas(context.Background(), "sb").Result()
		return err == nil && len(replicas) == 1
	})

	yaml := strings.Replace(channelYAML("redis://unused:1/0", "http://127.0.0.1:1/v21.0"),
		"redis:\n  url: \"redis://unused:1/0\"\n",
		fmt.Sprintf("redis:\n  sentinel:\n    master_name: sb\n    addrs: [\"127.0.0.1:%d\"]\n  wait_replicas: 1\n  wait_timeout: 500ms\n", sentinel), 1)
	d := testDatabase(t)
	base, _, _ := start(t, yaml+databaseYAML(d), secretEnv, roleAll)

	// A provider: posts message after message, retrying each until it is
	// acknowledged, as Meta does.
	var acked sync.Map // n -> from
	var ackedN, refused atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := 0; ; n++ {
			body, sig, from := customerText(n)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if code := postQuiet(base+"/webhooks/wa-main", body, sig); code == 200 {
					acked.Store(n, from)
					ackedN.Add(1)
					break
				}
				refused.Add(1)
				time.Sleep(20 * time.Millisecond)
			}
		}
	}()
	waitFor(t, "webhooks before the failover", 20*time.Second, func() bool { return ackedN.Load() >= 50 })

	old := masterAddr()
	if err := sc.Failover(context.Background(), "sb").Err(); err != nil {
		t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	waitFor(t, "the replica to be promoted", 30*time.Second, func() bool { a := masterAddr(); return a != "" && a != old })
	atSwitch := ackedN.Load()
	waitFor(t, "webhooks accepted after the failover", 30*time.Second, func() bool { return ackedN.Load() >= atSwitch+50 })
	close(stop)
	<-done
	t.Logf("acknowledged %d webhooks (%d after the switch to %s); %d answers were not 200 and retried", ackedN.Load(), ackedN.Load()-atSwitch, masterAddr(), refused.Load())

	// Every acknowledged message is recorded, once. Tasks a worker had
	// taken from the old primary come back when asynq's lease on them
	// expires (about 30 s): hence the long wait.
	recs := records(t, d)
	ctx := context.Background()
	pending := map[string]bool{}
	acked.Range(func(_, v any) bool { pending[v.(string)] = true; return true })
	recorded := map[string]string{} // from -> conversation
	waitFor(t, "every acknowledged message to be recorded", 150*time.Second, func() bool {
		for from := range pending {
			if c, err := recs.Contact(ctx, conversations.ContactID("wa-main", from)); err == nil && c.OpenQuery != "" {
				recorded[from] = c.OpenQuery
				delete(pending, from)
			}
		}
		return len(pending) == 0
	})
	// A task whose completion was lost with the old primary is left
	// active, orphaned, and runs again once asynq's recoverer (every
	// minute, for leases expired 30 s before or more) requeues it: up to
	// two minutes after the switch. Once nothing inbound is left to run,
	// the database has applied each message once all the same.
	fc := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "sb", SentinelAddrs: []string{fmt.Sprintf("127.0.0.1:%d", sentinel)}})
	defer fc.Close()
	insp := asynq.NewInspectorFromRedisClient(fc)
	defer insp.Close()
	waitDrained(t, insp, queue.QueueInbound, 150*time.Second)
	for from, qid := range recorded {
		msgs, err := history(ctx, recs, qid)
		if err != nil || len(msgs) != 1 {
			t.Errorf("customer %s: %d messages in their conversation (%v), want their one message once", from, len(msgs), err)
		}
	}
}

// postQuiet posts a signed webhook and returns the status, 0 on a network error.
func postQuiet(url string, body []byte, sig string) int {
	req, _ := newSignedRequest(url, body, sig)
	resp, err := failoverHTTP.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = bufio.NewReader(resp.Body).Discard(1 << 16)
	return resp.StatusCode
}

var failoverHTTP = &http.Client{Timeout: 10 * time.Second}

func newSignedRequest(url string, body []byte, sig string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Hub-Signature-256", sig)
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}
