package amigotest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// PipeNet is an in-memory network: Listen gives a net.Listener for a host
// name, and Client an *http.Client whose connections to that host are the
// two ends of a net.Pipe. Every wait on it is a channel operation, so
// inside a testing/synctest bubble an idle client and server count as
// durably blocked and the bubble's fake clock moves on (clock.Real reads
// it there). A whole release against the emulator then runs on simulated
// time that passes only while every goroutine waits: how long real work
// takes, and how loaded the machine is, never changes what happens. Over
// TCP a bubble's clock would never move (a goroutine in a socket read is
// not durably blocked).
//
// The HTTP is real (net/http's client and server on a net.Conn); only the
// sockets are not. Close closes every listener and connection.
type PipeNet struct {
	mu     sync.Mutex
	ls     map[string]*pipeListener
	conns  map[net.Conn]bool
	closed bool
}

// NewPipeNet returns an empty in-memory network.
func NewPipeNet() *PipeNet {
	return &PipeNet{ls: map[string]*pipeListener{}, conns: map[net.Conn]bool{}}
}

// Listen returns a listener for host (a host:port, as in a URL); a URL
// "http://"+host reaches it through Client.
func (n *PipeNet) Listen(host string) (net.Listener, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, net.ErrClosed
	}
	if n.ls[host] != nil {
		return nil, fmt.Errorf("pipenet: %s is already listening", host)
	}
	l := &pipeListener{n: n, host: host, conns: make(chan net.Conn), done: make(chan struct{})}
	n.ls[host] = l
	return l, nil
}

// DialContext connects to the listener of addr (an http.Transport's
// DialContext).
func (n *PipeNet) DialContext(ctx context.Context, _, addr string) (net.Conn, error) {
	n.mu.Lock()
	l := n.ls[addr]
	n.mu.Unlock()
	if l == nil {
		return nil, &net.OpError{Op: "dial", Net: "pipe", Err: fmt.Errorf("nothing listens on %s", addr)}
	}
	client, server := net.Pipe()
	select {
	case l.conns <- server:
	case <-l.done:
		return nil, &net.OpError{Op: "dial", Net: "pipe", Err: fmt.Errorf("connection refused: %s is closed", addr)}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		client.Close()
		server.Close()
		return nil, &net.OpError{Op: "dial", Net: "pipe", Err: net.ErrClosed}
	}
	n.conns[client], n.conns[server] = true, true
	n.mu.Unlock()
	return &pipeConn{Conn: client, n: n, peer: server}, nil
}

// pipeConn is the client end of a connection: closing it forgets both ends,
// so a long test does not keep every connection it ever made.
type pipeConn struct {
	net.Conn
	n    *PipeNet
	peer net.Conn
	once sync.Once
}

func (c *pipeConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.n.mu.Lock()
		delete(c.n.conns, c.Conn)
		delete(c.n.conns, c.peer)
		c.n.mu.Unlock()
	})
	return err
}

// Client returns an HTTP client that dials n.
func (n *PipeNet) Client() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: n.DialContext, ForceAttemptHTTP2: false}}
}

// Close closes every listener and every connection made on n.
func (n *PipeNet) Close() {
	n.mu.Lock()
	n.closed = true
	ls, conns := n.ls, n.conns
	n.ls, n.conns = map[string]*pipeListener{}, map[net.Conn]bool{}
	n.mu.Unlock()
	for _, l := range ls {
		l.Close()
	}
	for c := range conns {
		c.Close()
	}
}

// pipeListener is one host's listener on a PipeNet.
type pipeListener struct {
	n     *PipeNet
	host  string
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.n.mu.Lock()
		if l.n.ls[l.host] == l {
			delete(l.n.ls, l.host)
		}
		l.n.mu.Unlock()
	})
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr(l.host) }

type pipeAddr string

func (pipeAddr) Network() string  { return "pipe" }
func (a pipeAddr) String() string { return string(a) }

// NewPipeTestServer starts a Server on n at host (URL "http://"+host),
// closed by t.Cleanup, like NewTestServer over TCP. Inside a
// testing/synctest bubble, call it from the bubble.
func NewPipeTestServer(t testing.TB, n *PipeNet, host string, opts Options) *Server {
	t.Helper()
	ln, err := n.Listen(host)
	if err != nil {
		t.Fatal(err)
	}
	s := New(opts)
	s.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: s}}
	s.srv.Start()
	t.Cleanup(s.Close)
	return s
}
