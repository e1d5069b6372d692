package web

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"sync"

	"github.com/blogstack/blogstack/blog/internal/content"
	"github.com/blogstack/blogstack/blog/internal/views"
)

// previewGate bounds the live preview's work: each session renders one
// preview at a time, a newer request supersedes the one still waiting (which
// then answers at once without rendering), and all sessions together render
// at most one preview per CPU. A render cannot be stopped midway, but
// content's limits bound each one.
type previewGate struct {
	cpus     chan struct{}
	mu       sync.Mutex
	sessions map[string]*previewSession // only sessions with a request in flight
}

type previewSession struct {
	busy    chan struct{} // holds a token while this session renders
	waiting *previewWaiter
	users   int // requests in flight; the entry goes when it drops to 0
}

type previewWaiter struct{ cancel context.CancelCauseFunc }

func newPreviewGate() *previewGate {
	return &previewGate{cpus: make(chan struct{}, runtime.GOMAXPROCS(0)), sessions: map[string]*previewSession{}}
}

// errSuperseded is a preview request replaced by a newer one of its session.
var errSuperseded = errors.New("superseded by a newer preview")

// enter waits for the session's turn and a free CPU. It returns a release
// to call after rendering, or errSuperseded, or the request's own error.
func (g *previewGate) enter(ctx context.Context, session string) (func(), error) {
	ctx, cancel := context.WithCancelCause(ctx)
	me := &previewWaiter{cancel: cancel}
	g.mu.Lock()
	ps := g.sessions[session]
	if ps == nil {
		ps = &previewSession{busy: make(chan struct{}, 1)}
		g.sessions[session] = ps
	}
	ps.users++
	if ps.waiting != nil {
		ps.waiting.cancel(errSuperseded)
	}
	ps.waiting = me
	g.mu.Unlock()

	var held []chan struct{}
	leave := func() {
		for _, c := range held {
			<-c
		}
		g.mu.Lock()
		if ps.waiting == me {
			ps.waiting = nil
		}
		if ps.users--; ps.users == 0 {
			delete(g.sessions, session)
		}
		g.mu.Unlock()
		cancel(nil)
	}
	for _, slot := range []chan struct{}{ps.busy, g.cpus} {
		select {
		case slot <- struct{}{}:
			held = append(held, slot)
		case <-ctx.Done():
			leave()
			return nil, context.Cause(ctx)
		}
	}
	// The slots may have come free at the moment a newer request arrived.
	if ctx.Err() != nil {
		leave()
		return nil, context.Cause(ctx)
	}
	return leave, nil
}

// handlePreview renders markdown for the editor's live preview: a fragment,
// 422 with the reason when the markdown is over a limit, and 204 (htmx swaps
// nothing) when a newer keystroke's request has replaced this one.
func (s *Server) handlePreview() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := r.PostFormValue("body")
		if err := content.Check(body); err != nil {
			s.write(w, r, http.StatusUnprocessableEntity, views.PreviewError(err.Error()))
			return
		}
		release, err := s.previews.enter(r.Context(), sessionFrom(r.Context()))
		if err != nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		out, err := content.Render(body)
		release()
		var tooMuch *content.LimitError
		if errors.As(err, &tooMuch) {
			s.write(w, r, http.StatusUnprocessableEntity, views.PreviewError(tooMuch.Error()))
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.write(w, r, http.StatusOK, views.PreviewFragment(out.HTML))
	})
}
