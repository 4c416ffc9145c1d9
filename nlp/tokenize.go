package nlp

import (
	"strings"
	"sync"

	"github.com/jdkato/prose/v2"
)

// Token is one word, number, symbol or punctuation mark of a Doc.
type Token struct {
	// Text is Doc.Text[Start:End].
	Text string
	// Start and End are byte offsets into Doc.Text.
	Start, End int
	// Tag is the Penn Treebank part-of-speech tag; empty unless the Doc
	// was parsed with the Tags stage.
	Tag string
	// Label is prose's IOB named-entity label (B-PERSON, I-GPE, O ...);
	// empty unless the Doc was parsed with the NamedEntities stage.
	Label string
}

// Doc is one normalized, tokenized message: the typed output of the
// tokenization stage that every model consumes.
type Doc struct {
	// Text is the normalized text; token and entity offsets refer to it.
	Text string
	// Tokens in text order.
	Tokens []Token
	// Repaired reports that the raw input was not valid UTF-8.
	Repaired bool
}

// Stages selects optional, costly tokenizer stages. The classification
// hot path needs none of them.
type Stages uint8

const (
	// Tags adds part-of-speech tags (prose's averaged perceptron).
	Tags Stages = 1 << iota
	// NamedEntities adds prose's PERSON / GPE / ORG labels; it implies Tags.
	NamedEntities
)

// Tokenizer normalizes and tokenizes messages with prose v2. The zero
// value is not usable; use NewTokenizer. A Tokenizer is safe for
// concurrent use: prose's tagger and entity model are only read after
// they are built.
type Tokenizer struct {
	maxBytes int

	once  sync.Once
	model *prose.Model // built on first use of Tags or NamedEntities
}

// NewTokenizer returns a Tokenizer that rejects raw messages longer than
// maxBytes (<= 0 means DefaultMaxBytes).
func NewTokenizer(maxBytes int) *Tokenizer {
	return &Tokenizer{maxBytes: maxBytes}
}

var defaultTokenizer = NewTokenizer(0)

// Parse normalizes and tokenizes text with the default size limit and no
// optional stages: the path every model uses for training and prediction.
func Parse(text string) (Doc, error) { return defaultTokenizer.Parse(text, 0) }

// Parse normalizes text (see Normalize) and tokenizes it, running the
// optional stages asked for. Errors are those of Normalize.
func (t *Tokenizer) Parse(text string, stages Stages) (Doc, error) {
	n, err := Normalize(text, t.maxBytes)
	if err != nil {
		return Doc{}, err
	}
	opts := []prose.DocOpt{prose.WithSegmentation(false)}
	if stages == 0 {
		opts = append(opts, prose.WithTagging(false), prose.WithExtraction(false))
	} else {
		// prose rebuilds its tagger and entity model from gob-encoded
		// assets on every NewDocument unless it is handed a model.
		t.once.Do(func() { t.model = prose.ModelFromData("en") })
		opts = append(opts,
			prose.UsingModel(t.model),
			prose.WithTagging(true),
			prose.WithExtraction(stages&NamedEntities != 0))
	}
	pd, err := prose.NewDocument(n.Text, opts...)
	if err != nil {
		return Doc{}, err
	}
	return Doc{Text: n.Text, Tokens: withOffsets(n.Text, pd.Tokens()), Repaired: n.Repaired}, nil
}

// withOffsets locates each prose token in text. prose splits
// whitespace-separated spans into prefixes, contractions and suffixes
// without changing them (Normalize removed what its sanitizer rewrites),
// so every token is found in order; one that is not is dropped rather
// than given a wrong offset.
func withOffsets(text string, pts []prose.Token) []Token {
	toks := make([]Token, 0, len(pts))
	pos := 0
	for _, pt := range pts {
		if pt.Text == "" {
			continue
		}
		i := strings.Index(text[pos:], pt.Text)
		if i < 0 {
			continue
		}
		start := pos + i
		end := start + len(pt.Text)
		toks = append(toks, Token{Text: text[start:end], Start: start, End: end, Tag: pt.Tag, Label: pt.Label})
		pos = end
	}
	return toks
}
