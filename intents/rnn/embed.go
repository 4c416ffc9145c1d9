package rnn

import (
	"slices"

	"github.com/parley-chat/parley/nlp"
)

// vocab maps tokens to embedding rows, fastText style: a token's vector
// is the mean of its own row (when it was seen in training) and the rows
// of its hashed character n-grams (with < and > marking the word's
// edges), so misspelt and unseen words still get a meaningful vector.
type vocab struct {
	words   map[string]int32 // feature form -> row
	buckets int              // n-gram rows follow the word rows
	minN    int
	maxN    int
}

// maxRowsPerToken bounds the n-grams of one token (a pasted URL would
// otherwise give hundreds).
const maxRowsPerToken = 48

// maxTokens bounds the tokens of one message the network reads.
const maxTokens = 64

// newVocab gives a row to each word seen at least minCount times in
// docs, and to the extra words (pretrained vectors' most frequent ones,
// so that words the training data lacks still mean something).
func newVocab(docs []nlp.Doc, minCount, buckets, minN, maxN int, extra []string) *vocab {
	counts := map[string]int{}
	for _, d := range docs {
		for _, t := range d.Tokens {
			counts[nlp.FeatureForm(t.Text)]++
		}
	}
	for _, w := range extra {
		counts[nlp.FeatureForm(w)] = max(counts[nlp.FeatureForm(w)], minCount)
	}
	var words []string
	for w, c := range counts {
		if c >= minCount {
			words = append(words, w)
		}
	}
	slices.Sort(words) // deterministic rows
	v := &vocab{words: make(map[string]int32, len(words)), buckets: buckets, minN: minN, maxN: maxN}
	for i, w := range words {
		v.words[w] = int32(i)
	}
	return v
}

func (v *vocab) rows() int { return len(v.words) + v.buckets }

// tokenRows appends the embedding rows of one token to dst.
func (v *vocab) tokenRows(dst []int32, tok string) []int32 {
	form := nlp.FeatureForm(tok)
	if id, ok := v.words[form]; ok {
		dst = append(dst, id)
	}
	if v.buckets == 0 {
		return dst
	}
	runes := []rune("<" + form + ">")
	base := int32(len(v.words))
	n0 := len(dst)
	for n := v.minN; n <= v.maxN; n++ {
		for i := 0; i+n <= len(runes); i++ {
			if len(dst)-n0 >= maxRowsPerToken {
				return dst
			}
			h := nlp.Hash32(uint32(n), string(runes[i:i+n]))
			dst = append(dst, base+int32(h%uint32(v.buckets)))
		}
	}
	return dst
}

// encoded is one message as embedding rows per token.
type encoded struct {
	rows [][]int32 // per token; empty tokens are dropped
}

func (v *vocab) encode(d nlp.Doc) encoded {
	var e encoded
	for _, t := range d.Tokens {
		if len(e.rows) == maxTokens {
			break
		}
		r := v.tokenRows(nil, t.Text)
		if len(r) > 0 {
			e.rows = append(e.rows, r)
		}
	}
	return e
}
