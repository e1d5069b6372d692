package web

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// handleHealthz is liveness: the process answers, and says which release it
// is (so a deploy, or an operator with curl, can tell what serves).
func (s *Server) handleHealthz() http.Handler {
	body, err := json.Marshal(struct {
		Status  string `json:"status"`
		Version string `json:"version"`
		Commit  string `json:"commit"`
	}{"ok", s.metrics.Build().Version, s.metrics.Build().Commit})
	if err != nil {
		panic(err) // unreachable: plain strings
	}
	body = append(body, '\n')
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}

// handleReadyz is readiness: the database answers and the server is not
// draining.
func (s *Server) handleReadyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if s.draining.Load() {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.store.Ping(ctx); err != nil {
			s.log.Warn("readiness: database does not answer", "err", err)
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
}
