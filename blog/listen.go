package main

import (
	"net"
	"os"
	"sync"
	"syscall"
)

// drainingListener is the server's TCP listener, closed without resetting
// the connections the kernel has already accepted for it.
//
// The kernel completes a client's handshake before the server accepts
// the connection, and closing a listening socket resets every connection
// still queued on it. A draining app keeps listening until its drain ends
// (the proxy may still pick it: on a host it is in Docker's DNS until it
// stops), so a request sent just before the close would otherwise get a
// reset; the proxy sends a GET again elsewhere, but must not resend a
// POST, and its reader would get 502. So Close first takes the queued
// connections, then closes, and Accept hands them to the server, which
// serves them as it drains (http.Server.Shutdown waits for them). What
// remains is a connection completed in the instant between the two.
type drainingListener struct {
	*net.TCPListener

	mu     sync.Mutex
	queued []net.Conn
}

func listen(addr string) (*drainingListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &drainingListener{TCPListener: ln.(*net.TCPListener)}, nil
}

// Close takes what is queued, then closes the listening socket.
func (l *drainingListener) Close() error {
	if rc, err := l.SyscallConn(); err == nil {
		queued := takeQueued(rc)
		l.mu.Lock()
		l.queued = append(l.queued, queued...)
		l.mu.Unlock()
	}
	return l.TCPListener.Close()
}

// Accept returns the next connection; once the listener is closed, the
// connections Close took, then the listener's error.
func (l *drainingListener) Accept() (net.Conn, error) {
	c, err := l.TCPListener.Accept()
	if err == nil {
		return c, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.queued) > 0 {
		c, l.queued = l.queued[0], l.queued[1:]
		return c, nil
	}
	return nil, err
}

// takeQueued accepts every connection queued on the listening socket rc
// without waiting: Go's listening sockets are non-blocking, so accept
// fails with EAGAIN once the queue is empty.
func takeQueued(rc syscall.RawConn) []net.Conn {
	var conns []net.Conn
	_ = rc.Control(func(fd uintptr) {
		for {
			nfd, _, err := syscall.Accept(int(fd))
			if err == syscall.EINTR || err == syscall.ECONNABORTED {
				continue
			}
			if err != nil {
				return
			}
			syscall.CloseOnExec(nfd)
			f := os.NewFile(uintptr(nfd), "queued connection")
			c, err := net.FileConn(f) // its own copy of the descriptor
			f.Close()
			if err == nil {
				conns = append(conns, c)
			}
		}
	})
	return conns
}
