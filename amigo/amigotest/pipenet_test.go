package amigotest

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// In a synctest bubble, a request over a PipeNet is real HTTP, and the
// bubble's clock moves only while every goroutine waits: a handler that
// sleeps an hour answers after exactly an hour of the bubble's time, with
// no real hour spent.
func TestPipeNetServesHTTPInABubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewPipeNet()
		defer n.Close()
		ln, err := n.Listen("slow.test:80")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.Listen("slow.test:80"); err == nil {
			t.Error("a second listener on the same host was accepted")
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(time.Hour)
			io.WriteString(w, "hello "+r.URL.Path)
		})}
		go srv.Serve(ln)
		defer srv.Close()
		start := time.Now()
		resp, err := n.Client().Get("http://slow.test:80/there")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "hello /there" {
			t.Errorf("body %q", body)
		}
		if took := time.Since(start); took != time.Hour {
			t.Errorf("the answer took %v of the bubble's time, want exactly 1h", took)
		}
		n.Client().CloseIdleConnections()
	})
}

func TestPipeNetRefusesWhatDoesNotListen(t *testing.T) {
	n := NewPipeNet()
	if _, err := n.DialContext(context.Background(), "tcp", "nobody.test:80"); err == nil || !strings.Contains(err.Error(), "nothing listens on nobody.test:80") {
		t.Errorf("dial to nothing = %v", err)
	}
	ln, err := n.Listen("gone.test:80")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
	}
	if _, err := n.DialContext(context.Background(), "tcp", "gone.test:80"); err == nil {
		t.Error("dial to a closed listener succeeded")
	}
	n.Close()
	if _, err := n.Listen("late.test:80"); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Listen after Close = %v, want net.ErrClosed", err)
	}
}
