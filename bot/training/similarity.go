package training

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"unicode"

	"github.com/parley-chat/parley/nlp"
)

// Similarity is the least Jaccard similarity of two messages' word sets
// for them to count as near-identical: grouped in the inbox, reported
// as near-duplicates by Check.
//
// Why word sets and not character n-grams: the inbox groups messages
// so that one label fixes them all, and a wrong merge would mislabel a
// message, so the measure must be conservative and easy to explain.
// Words are compared case-folded, punctuation is ignored, and every
// token with a digit counts as the same word (order numbers differ from
// message to message, the question does not). At 0.8, "where is my
// order 123" and "Where is my order #456?" are one group (the same
// set), a five-word message may gain or lose one word, and "cancel my
// order" / "don't cancel my order" (3 of 5 words shared: 0.6) stay
// apart. Character 3-gram cosine would also merge typos ("wher is my
// order": 0.86), but at any threshold that does it, it merges negations
// too: "cancel my order" / "don't cancel my order" score 0.85 and "I
// want to return it" / "I don't want to return it" 0.83, the kind of
// merge that must not happen.
const Similarity = 0.8

// wordSet returns the sorted, distinct word forms of text as
// Similarity compares them. A text with no words (only punctuation or
// emoji) is its own folded text, so it matches only itself.
func wordSet(text string) []string {
	doc, err := nlp.Parse(text)
	if err != nil {
		return []string{strings.TrimSpace(nlp.Fold(text))}
	}
	var set []string
	for _, t := range doc.Tokens {
		word, digit := false, false
		for _, r := range t.Text {
			switch {
			case unicode.IsDigit(r):
				digit = true
			case unicode.IsLetter(r):
				word = true
			}
		}
		switch {
		case digit:
			set = append(set, "#")
		case word:
			set = append(set, nlp.Fold(t.Text))
		}
	}
	if len(set) == 0 {
		return []string{nlp.Fold(doc.Text)}
	}
	slices.Sort(set)
	return slices.Compact(set)
}

// jaccard is |a ∩ b| / |a ∪ b| of two sorted sets.
func jaccard(a, b []string) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	i, j, common := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch c := strings.Compare(a[i], b[j]); {
		case c == 0:
			common++
			i++
			j++
		case c < 0:
			i++
		default:
			j++
		}
	}
	return float64(common) / float64(len(a)+len(b)-common)
}

// setIndex finds sets similar to a query set by prefix filtering (Bayardo
// et al., "Scaling up all pairs similarity search", 2007): with every set
// ordered rarest word first, two sets with Jaccard ≥ t share a word
// among the first |s| - ceil(t·|s|) + 1 words of each. Only those
// prefixes are indexed, so common words ("my", "the") cost nothing.
type setIndex struct {
	t     float64
	rank  map[string]int // word -> position in the global order, rarest first
	sets  [][]string     // indexed sets, in the sorted-by-word order jaccard needs
	posts map[string][]int
}

// newSetIndex prepares an index for sets drawn from all (whose word
// frequencies fix the order).
func newSetIndex(all [][]string, t float64) *setIndex {
	freq := map[string]int{}
	for _, s := range all {
		for _, w := range s {
			freq[w]++
		}
	}
	words := make([]string, 0, len(freq))
	for w := range freq {
		words = append(words, w)
	}
	slices.SortFunc(words, func(a, b string) int { return cmp.Or(cmp.Compare(freq[a], freq[b]), strings.Compare(a, b)) })
	rank := make(map[string]int, len(words))
	for i, w := range words {
		rank[w] = i
	}
	return &setIndex{t: t, rank: rank, posts: map[string][]int{}}
}

// prefix returns the words of s that prefix filtering looks up.
func (x *setIndex) prefix(s []string) []string {
	p := slices.Clone(s)
	slices.SortFunc(p, func(a, b string) int {
		ra, oka := x.rank[a]
		rb, okb := x.rank[b]
		if !oka {
			ra = -1 // unseen words are the rarest
		}
		if !okb {
			rb = -1
		}
		return cmp.Or(cmp.Compare(ra, rb), strings.Compare(a, b))
	})
	n := len(p) - int(math.Ceil(x.t*float64(len(p))-1e-9)) + 1
	return p[:max(min(n, len(p)), 1)]
}

// add indexes s and returns its id.
func (x *setIndex) add(s []string) int {
	id := len(x.sets)
	x.sets = append(x.sets, s)
	for _, w := range x.prefix(s) {
		x.posts[w] = append(x.posts[w], id)
	}
	return id
}

// similar returns the ids of indexed sets with Jaccard ≥ t to s, in id
// order, with their similarities.
func (x *setIndex) similar(s []string) (ids []int, sims []float64) {
	seen := map[int]bool{}
	for _, w := range x.prefix(s) {
		for _, id := range x.posts[w] {
			if seen[id] {
				continue
			}
			seen[id] = true
			o := x.sets[id]
			// Jaccard ≥ t needs t·|big| ≤ |small|.
			small, big := min(len(s), len(o)), max(len(s), len(o))
			if float64(small) < x.t*float64(big)-1e-9 {
				continue
			}
			if j := jaccard(s, o); j >= x.t-1e-9 {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		sims = append(sims, jaccard(s, x.sets[id]))
	}
	return ids, sims
}

// normKey is the form under which two texts are "the same text": the
// normalized, case-folded text, as intents.Check compares utterances.
func normKey(text string) string {
	n, err := nlp.Normalize(text, 1<<30)
	if err != nil {
		return strings.TrimSpace(text)
	}
	return nlp.Fold(n.Text)
}
