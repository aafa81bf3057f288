package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"switchboard/conversations"
	"switchboard/queue"
)

// On a Redis Cluster, the gateway queues across the shards and workers
// apply the messages to the database: a webhook becomes a conversation,
// and a redelivery is dropped, not recorded twice.
func TestServeOnRedisCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three Redis processes")
	}
	dir := t.TempDir()
	var addrs []string
	var nodes []*redis.Client
	for i := range 3 {
		port := freePort(t)
		redisProcess(t, fmt.Sprintf("node%d", i), "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--cluster-enabled", "yes", "--cluster-config-file", fmt.Sprintf("%s/nodes-%d.conf", dir, i), "--dir", dir)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		addrs = append(addrs, addr)
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		nodes = append(nodes, c)
	}
	ctx := context.Background()
	for _, c := range nodes {
		waitFor(t, "a node", 10*time.Second, func() bool { return c.Ping(ctx).Err() == nil })
	}
	// Form the cluster by hand, as redis-cli --cluster create would:
	// introduce the nodes and split the 16384 slots between them.
	for i, c := range nodes {
		host, port, _ := strings.Cut(addrs[0], ":")
		if i > 0 {
			if err := c.ClusterMeet(ctx, host, port).Err(); err != nil {
				t.Fatal(err)
			}
		}
		lo, hi := i*16384/3, (i+1)*16384/3-1
		if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", lo, hi).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range nodes {
		waitFor(t, "the cluster to form", 30*time.Second, func() bool {
			info, err := c.ClusterInfo(ctx).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:3")
		})
	}

	yaml := strings.Replace(channelYAML("redis://unused:1/0", "http://127.0.0.1:1/v21.0"),
		"redis:\n  url: \"redis://unused:1/0\"\n",
		fmt.Sprintf("redis:\n  cluster:\n    addrs: [%q, %q, %q]\n", addrs[0], addrs[1], addrs[2]), 1)
	d := testDatabase(t)
	base, _, _ := start(t, yaml+databaseYAML(d), secretEnv, roleAll)
	body, sig, from := customerText(1)
	for range 2 { // the second is a provider's redelivery
		if code := post(t, base+"/webhooks/wa-main", body, sig); code != 200 {
			t.Fatalf("webhook on a cluster: %d", code)
		}
	}
	recs := records(t, d)
	var c *conversations.Contact
	waitFor(t, "the message to be applied", 30*time.Second, func() bool {
		var err error
		c, err = recs.Contact(ctx, conversations.ContactID("wa-main", from))
		return err == nil && c.OpenQuery != ""
	})
	// The redelivery is dropped by the queue's dedupe or, had it got
	// through, by the database: once nothing inbound is left to run, the
	// message is there once.
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer cc.Close()
	insp := asynq.NewInspectorFromRedisClient(cc)
	defer insp.Close()
	waitDrained(t, insp, queue.QueueInbound, 30*time.Second)
	hist, err := history(ctx, recs, c.OpenQuery)
	if err != nil || len(hist) != 1 {
		t.Fatalf("history = %d messages (%v), want the one message once", len(hist), err)
	}
	// The queues really are spread: asynq's keys sit on more than one node.
	holding := 0
	for _, n := range nodes {
		keys, _ := n.Keys(ctx, "asynq:*").Result()
		if len(keys) > 0 {
			holding++
		}
	}
	t.Logf("asynq keys on %d of 3 nodes", holding)
}
