package redistest

import (
	"net"
	"sync"
	"testing"
)

// Proxy is a TCP proxy in front of a Redis that a test can make fail as a
// network does, which neither an Interceptor (it fails commands inside the
// client) nor stopping the shared Redis can: connections reset under a
// live client, or a Redis that goes quiet without closing anything. Point
// the client under test at Addr and keep a direct client for setting up
// and checking. It passes traffic until told otherwise, and is safe for
// concurrent use.
type Proxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu     sync.Mutex
	mode   mode
	closed bool
	links  map[*link]struct{}
}

type mode int

const (
	passing mode = iota
	cut
	silent
)

// link is one client connection and, unless it was accepted silent, its
// connection to Redis.
type link struct {
	client, server net.Conn // server is nil for a connection never passed on
	dropped        bool     // bytes were dropped: the streams are out of step
}

func (l *link) close() {
	l.client.Close()
	if l.server != nil {
		l.server.Close()
	}
}

// NewProxy starts a Proxy in front of the Redis at target (host:port) and
// stops it, closing every connection, when t ends. With target "" there is
// no Redis behind it: every connection is accepted and never answered, as
// by a Redis behind a partition (see Silent).
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: proxy: %v", err)
	}
	p := &Proxy{ln: ln, target: target, links: map[*link]struct{}{}}
	t.Cleanup(p.close)
	p.wg.Add(1)
	go p.serve()
	return p
}

// Silent returns the address of a listener that accepts connections and
// never answers, for a test of what a call does when Redis is unreachable
// but not refused: it ends only by its context or a timeout.
func Silent(t testing.TB) string {
	t.Helper()
	return NewProxy(t, "").Addr()
}

// Addr is the host:port to give the client under test in place of Redis's.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every connection and, until Restore, closes new ones as soon
// as they are accepted, as a Redis restart or a connection reset does: the
// client sees its calls fail at once, not time out.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = cut
	for l := range p.links {
		l.close()
		delete(p.links, l)
	}
}

// Silence makes Redis go quiet without closing anything, as a network
// partition does: until Restore, bytes either way are read and dropped,
// and new connections are accepted and never answered, so the client's
// calls end only by their contexts or timeouts.
func (p *Proxy) Silence() {
	p.mu.Lock()
	p.mode = silent
	p.mu.Unlock()
}

// Restore passes traffic again, as when Redis returns. A connection that
// lost bytes while silenced, or was accepted then, is closed rather than
// resumed: a real network would have retransmitted, so a stream with a
// hole in it would give the client answers to the wrong commands. With no
// Redis behind the proxy, connections stay silent.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = passing
	for l := range p.links {
		if l.dropped || (l.server == nil && p.target != "") {
			l.close()
			delete(p.links, l)
		}
	}
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		m := p.mode
		p.mu.Unlock()
		if m == cut {
			in.Close()
			continue
		}
		l := &link{client: in}
		if m == passing && p.target != "" {
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				in.Close()
				continue
			}
			l.server = out
		}
		if !p.track(l) {
			continue
		}
		if l.server == nil {
			p.wg.Add(1)
			go p.pipe(l, in, nil)
			continue
		}
		p.wg.Add(2)
		go p.pipe(l, in, l.server)
		go p.pipe(l, l.server, in)
	}
}

// track registers l, or closes it if the proxy was cut or closed while it
// was being opened.
func (p *Proxy) track(l *link) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.mode == cut {
		l.close()
		return false
	}
	p.links[l] = struct{}{}
	return true
}

// pipe copies from to to (nil: nowhere) while the proxy passes traffic,
// and drops what it reads otherwise. When either side fails, the link is
// closed both ways, as a proxy does.
func (p *Proxy) pipe(l *link, from, to net.Conn) {
	defer p.wg.Done()
	defer p.forget(l)
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if err != nil {
			return
		}
		p.mu.Lock()
		pass := to != nil && p.mode == passing && !l.dropped
		if !pass {
			l.dropped = true
		}
		p.mu.Unlock()
		if pass {
			if _, err := to.Write(buf[:n]); err != nil {
				return
			}
		}
	}
}

func (p *Proxy) forget(l *link) {
	l.close()
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

func (p *Proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.ln.Close()
	for l := range p.links {
		l.close()
		delete(p.links, l)
	}
	p.mu.Unlock()
	p.wg.Wait()
}
