package console

// Streams is how many live streams are open (for tests).
func Streams(s *Server) int { return s.hub.count() }
