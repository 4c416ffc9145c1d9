package segment

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Profile naming rules. A segment's trait is a feature whose segment
// mean, in z-scores of the population (of the log-transformed feature
// where Feature.Logged), is above +TraitThreshold ("high") or below
// -TraitThreshold ("low"). The name joins the words of the NameTraits
// most distinctive traits (largest |z| first), e.g. "high value,
// unhappy"; a segment with no trait is "typical". Each feature has its
// own words: recency high "lapsed", low "recent"; orders "frequent",
// "infrequent"; spend "high value", "low value"; tenure
// "long-standing", "new"; conversations "engaged", "quiet"; escalation
// rate "often escalated", "rarely escalated"; sentiment "happy",
// "unhappy"; purchase questions "purchase-minded", "support-minded".
// When two segments would share a name, the later (smaller) one takes
// its next trait too, and as a last resort its id in parentheses.
const (
	TraitThreshold = 0.5
	NameTraits     = 2
)

// Trait is one way a segment differs from the population.
type Trait struct {
	Feature Feature
	// Z is the segment's mean z-score of the feature.
	Z    float64
	Word string
}

// Profile describes one segment.
type Profile struct {
	// Segment is the id, "S1" for the largest segment, "S2", ....
	Segment string
	// Name is the readable profile, e.g. "high value, unhappy".
	Name  string
	Size  int
	Share float64 // of the population, in [0, 1]
	// Mean is the segment's mean of each feature in natural units
	// (Features.Raw), indexed by Feature.
	Mean []float64
	// Z is the segment's mean z-score of each feature.
	Z []float64
	// Traits are the features beyond the threshold, most distinctive
	// first.
	Traits []Trait
}

// profiles describes the k segments of labels (in [0, k), numbered by
// size).
func profiles(f *Features, labels []int, k int) []Profile {
	n, d := f.Raw.Dims()
	ps := make([]Profile, k)
	for s := range ps {
		ps[s] = Profile{Segment: fmt.Sprintf("S%d", s+1), Mean: make([]float64, d), Z: make([]float64, d)}
	}
	raw, _, _ := rowMajor(f.Raw)
	z, _, _ := rowMajor(f.Z)
	for i := 0; i < n; i++ {
		p := &ps[labels[i]]
		p.Size++
		for j := 0; j < d; j++ {
			p.Mean[j] += raw[i*d+j]
			p.Z[j] += z[i*d+j]
		}
	}
	used := make(map[string]bool, k)
	for s := range ps {
		p := &ps[s]
		p.Share = float64(p.Size) / float64(n)
		if p.Size > 0 {
			for j := 0; j < d; j++ {
				p.Mean[j] /= float64(p.Size)
				p.Z[j] /= float64(p.Size)
			}
		}
		p.Traits = traits(p.Z)
		p.Name = uniqueName(p.Traits, p.Segment, used)
		used[p.Name] = true
	}
	return ps
}

// traits returns the features of z beyond TraitThreshold, largest |z|
// first (ties: feature order).
func traits(z []float64) []Trait {
	var ts []Trait
	for j, v := range z {
		switch {
		case v > TraitThreshold:
			ts = append(ts, Trait{Feature: Feature(j), Z: v, Word: featureInfo[j].high})
		case v < -TraitThreshold:
			ts = append(ts, Trait{Feature: Feature(j), Z: v, Word: featureInfo[j].low})
		}
	}
	sort.SliceStable(ts, func(a, b int) bool { return math.Abs(ts[a].Z) > math.Abs(ts[b].Z) })
	return ts
}

// Name returns the profile name the traits give, without the
// uniqueness rule: the words of the first NameTraits traits, or
// "typical".
func Name(ts []Trait) string {
	return nameOf(ts, NameTraits)
}

func nameOf(ts []Trait, m int) string {
	if len(ts) == 0 {
		return "typical"
	}
	words := make([]string, 0, m)
	for _, t := range ts[:min(m, len(ts))] {
		words = append(words, t.Word)
	}
	return strings.Join(words, ", ")
}

func uniqueName(ts []Trait, id string, used map[string]bool) string {
	for m := NameTraits; ; m++ {
		name := nameOf(ts, m)
		if !used[name] {
			return name
		}
		if m >= len(ts) {
			return name + " (" + id + ")"
		}
	}
}
