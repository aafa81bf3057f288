package simulator_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/channels/simulator"
)

// outbox keeps what the channel delivered.
type outbox struct {
	mu   sync.Mutex
	got  []simulator.Outbound
	fail error
}

func (o *outbox) Deliver(_ context.Context, m simulator.Outbound) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return o.fail
	}
	o.got = append(o.got, m)
	return nil
}

func newChannel(t testing.TB, box simulator.Outbox) *simulator.Channel {
	t.Helper()
	ch, err := simulator.New("simulator", box, func() time.Time { return time.Unix(1760000000, 0) })
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// Only a request carrying the process's own token is the simulator's.
func TestVerifyWantsTheToken(t *testing.T) {
	ch := newChannel(t, &outbox{})
	other := newChannel(t, &outbox{})
	if ch.Token() == other.Token() || len(ch.Token()) < 32 {
		t.Fatalf("tokens %q and %q: want a fresh random one per channel", ch.Token(), other.Token())
	}
	for name, token := range map[string]string{"missing": "", "another channel's": other.Token(), "cut": ch.Token()[:10]} {
		r, _ := http.NewRequest("POST", "/webhooks/simulator", nil)
		if token != "" {
			r.Header.Set(simulator.TokenHeader, token)
		}
		if err := ch.Verify(r, nil); !errors.Is(err, channels.ErrBadSignature) {
			t.Errorf("%s token: Verify = %v, want ErrBadSignature", name, err)
		}
	}
	r, _ := http.NewRequest("POST", "/webhooks/simulator", nil)
	r.Header.Set(simulator.TokenHeader, ch.Token())
	if err := ch.Verify(r, nil); err != nil {
		t.Errorf("own token: Verify = %v", err)
	}
}

func TestParse(t *testing.T) {
	ch := newChannel(t, &outbox{})
	received := time.Unix(1760000100, 0)
	b, err := ch.Parse([]byte(`{"id":"m1","from":"maria-silva","name":"Maria Silva","text":"hi","timestamp":1760000000123}`), received)
	if err != nil {
		t.Fatal(err)
	}
	want := channels.Inbound{Channel: "simulator", Kind: "simulator", ID: "m1", From: "maria-silva", ProfileName: "Maria Silva",
		Timestamp: time.UnixMilli(1760000000123).UTC(), Arrival: received.UnixNano(), Type: channels.TypeText, Text: "hi"}
	if len(b.Messages) != 1 || b.Messages[0].Timestamp != want.Timestamp || b.Messages[0].ID != want.ID ||
		b.Messages[0].From != want.From || b.Messages[0].ProfileName != want.ProfileName || b.Messages[0].Text != want.Text ||
		b.Messages[0].Type != want.Type || b.Messages[0].Arrival != want.Arrival || b.Messages[0].Kind != want.Kind {
		t.Fatalf("Parse = %+v, want %+v", b.Messages, want)
	}
	for _, body := range []string{
		`{"from":"a","text":"hi"}`, `{"id":"m","text":"hi"}`, `{"id":"m","from":"a","text":"  "}`,
		`{"id":"m","from":"a","text":"hi","timestamp":-1}`, `{"id":"m","from":"a","text":"hi","timestamp":253402300800000}`,
		`{"id":"m","from":"a","name":"` + strings.Repeat("n", 65) + `","text":"hi"}`,
		`{"id":"m","from":"a","text":"` + strings.Repeat("t", simulator.MaxTextBytes+1) + `"}`,
		`{"id":"m","from":"a","text":"hi"}{}`, `[]`, ``,
	} {
		if _, err := ch.Parse([]byte(body), received); !errors.Is(err, channels.ErrMalformed) {
			t.Errorf("Parse(%.60s) = %v, want ErrMalformed", body, err)
		}
	}
}

// A send goes to the outbox under the stored message's id, the same on
// a retry; an outbox failure is worth retrying.
func TestSendDeliversToTheOutbox(t *testing.T) {
	box := &outbox{}
	ch := newChannel(t, box)
	ctx := channels.WithOutboundID(context.Background(), "sb-1")
	id, err := ch.SendText(ctx, "maria-silva", "Hello Maria")
	if err != nil || id != "sim.sb-1" {
		t.Fatalf("SendText = %q, %v", id, err)
	}
	if id, err := ch.SendTemplate(ctx, "maria-silva", "follow_up", "en", []string{"Maria", "42"}); err != nil || id != "sim.sb-1" {
		t.Fatalf("SendTemplate = %q, %v", id, err)
	}
	if len(box.got) != 2 || box.got[0] != (simulator.Outbound{ID: "sim.sb-1", To: "maria-silva", Text: "Hello Maria", At: time.Unix(1760000000, 0).UTC()}) ||
		box.got[1].Text != "[template follow_up (en)] Maria · 42" {
		t.Fatalf("outbox got %+v", box.got)
	}
	box.fail = errors.New("full")
	var se *channels.SendError
	if _, err := ch.SendText(context.Background(), "maria-silva", "x"); !errors.As(err, &se) || !se.Retryable {
		t.Fatalf("SendText on a failing outbox = %v, want a retryable SendError", err)
	}
}

// The kind is built only with an outbox, and its entry has no keys.
func TestNewKind(t *testing.T) {
	r := channels.Registry{}
	r.Register(simulator.NewKind(&outbox{}))
	ch, err := r.Build("simulator", simulator.KindName, func(any) error { return nil }, channels.Deps{})
	if err != nil || ch.Kind() != simulator.KindName || ch.ID() != "simulator" {
		t.Fatalf("Build = %v, %v", ch, err)
	}
	if _, err := simulator.New("x", nil, nil); err == nil {
		t.Fatal("New without an outbox succeeded")
	}
}

// FuzzParse: whatever the body, Parse never panics, and it either rejects
// it as malformed or returns one text message a worker can route and the
// queue can encode.
func FuzzParse(f *testing.F) {
	for _, body := range []string{
		`{"id":"m1","from":"maria-silva","name":"Maria Silva","text":"hi","timestamp":1760000000123}`,
		`{"id":"m1","from":"a","text":"hi"}`,
		`{"id":"m1","from":"a","text":"hi","timestamp":253402300799999}`,
		`{"id":"m1","from":"a","text":"\ud83d\ude00 \u0000"}`,
		`null`, ``,
	} {
		f.Add([]byte(body))
	}
	ch := newChannel(f, &outbox{})
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ch.Parse(body, time.Unix(1760000000, 0))
		if err != nil {
			if !errors.Is(err, channels.ErrMalformed) {
				t.Fatalf("Parse error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(b.Messages) != 1 || len(b.Statuses) != 0 {
			t.Fatalf("Parse = %+v, want one message", b)
		}
		m := b.Messages[0]
		if m.ID == "" || m.From == "" || m.Text == "" || len(m.Text) > simulator.MaxTextBytes || len(m.ID) > simulator.MaxIDBytes {
			t.Fatalf("Parse returned an unroutable message %+v", m)
		}
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("message cannot be queued: %v", err)
		}
	})
}
