package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestClosingTheListenerServesWhatWasQueued: requests whose connections
// the kernel accepted but the server had not yet taken are answered after
// the listener closes, not reset; then Accept reports the close. A plain
// net.Listener resets them (the POST a proxy must not send again).
func TestClosingTheListenerServesWhatWasQueued(t *testing.T) {
	ln, err := listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	clients := make([]net.Conn, n)
	for i := range clients {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := fmt.Fprintf(c, "POST /comments HTTP/1.1\r\nHost: blog\r\nContent-Length: 0\r\nX-Client: %d\r\n\r\n", i); err != nil {
			t.Fatal(err)
		}
		clients[i] = c
	}
	// Nothing has accepted them: they wait in the kernel's queue.
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}

	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		fmt.Fprintf(w, "served %s", r.Header.Get("X-Client"))
	})}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	for i, c := range clients {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Errorf("client %d: %v (want its request served)", i, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Length") == "" {
			t.Errorf("client %d: %s", i, resp.Status)
		}
	}
	select {
	case err := <-served:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Serve returned %v, want the closed listener's error", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("Serve still accepts after the queued connections")
	}
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("the closed listener still takes connections")
	}
}
