package console

import (
	"net/http"
	"strings"
	"unicode/utf8"
)

// cannedHit is a canned response: a knowledge-base article's short answer.
type cannedHit struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Answer string `json:"answer"`
}

// cannedResults is how many canned responses a search shows.
const cannedResults = 5

// searchCanned finds canned responses for a query; a query that is too
// long is cut (at a character boundary), not refused: it is what the
// agent is typing.
func (s *Server) searchCanned(q string) []cannedHit {
	q = strings.TrimSpace(q)
	if s.kb == nil || q == "" {
		return nil
	}
	if len(q) > maxQueryBytes {
		q = q[:maxQueryBytes]
		for !utf8.ValidString(q) {
			q = q[:len(q)-1]
		}
	}
	q = strings.ToValidUTF8(q, " ")
	hits := []cannedHit{}
	for _, h := range s.kb.Search(q, cannedResults) {
		hits = append(hits, cannedHit{ID: h.Article.ID, Title: h.Article.Title, Answer: h.Article.Answer})
	}
	return hits
}

// canned answers console.js's search as you type:
// GET /console/api/canned?q=... -> {"hits": [{"id", "title", "answer"}]}.
func (s *Server) canned(w http.ResponseWriter, r *http.Request) {
	if s.kb == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "canned responses are off: no knowledge base"})
		return
	}
	hits := s.searchCanned(r.URL.Query().Get("q"))
	if hits == nil {
		hits = []cannedHit{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"hits": hits})
}
