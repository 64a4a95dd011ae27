package server

import (
	"context"
	"net/http"

	genericapiserver "k8s.io/apiserver/pkg/server"
)

// StartForTest starts what the post-start hook starts, without serving on a
// socket.
func (s *Server) StartForTest(ctx context.Context) {
	if err := s.start(genericapiserver.PostStartHookContext{Context: ctx}); err != nil {
		panic(err)
	}
}

// Handler is the full handler chain, for requests served in-process.
func (s *Server) Handler() http.Handler { return s.generic.Handler }
