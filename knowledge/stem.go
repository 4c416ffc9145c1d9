package knowledge

// stem returns the Porter stem of a lower-case word (M. F. Porter, "An
// algorithm for suffix stripping", Program 14(3), 1980), following the
// author's reference implementation, including its two departures from
// the paper (-bli for -abli in step 2, and -logi). Words that are not
// all ASCII letters, or have fewer than three, come back unchanged.
//
// Porter's rules conflate the inflections and derivations customers and
// articles use for the same thing ("returns", "returned", "returning"
// all become "return"), at the price of some odd stems ("delivery" is
// "deliveri", "delivered" is "deliv"); a full lemmatizer would need a
// dictionary and measured no better on this kind of text in the
// literature than a stemmer for BM25.
func stem(w string) string {
	if len(w) <= 2 {
		return w
	}
	for i := 0; i < len(w); i++ {
		if w[i] < 'a' || w[i] > 'z' {
			return w
		}
	}
	s := porter{b: []byte(w), k: len(w) - 1}
	s.step1ab()
	if s.k > 0 {
		s.step1c()
		s.step2()
		s.step3()
		s.step4()
		s.step5()
	}
	return string(s.b[:s.k+1])
}

// porter holds the word being stemmed: b[0..k] is the current word, j a
// general offset into it set by ends.
type porter struct {
	b    []byte
	k, j int
}

// cons reports whether b[i] is a consonant ('y' is one after a vowel or
// at the start).
func (p *porter) cons(i int) bool {
	switch p.b[i] {
	case 'a', 'e', 'i', 'o', 'u':
		return false
	case 'y':
		return i == 0 || !p.cons(i-1)
	}
	return true
}

// m measures the consonant sequences in b[0..j]: with c a run of
// consonants and v a run of vowels, the word is [c](vc)^m[v].
func (p *porter) m() int {
	n, i := 0, 0
	for {
		if i > p.j {
			return n
		}
		if !p.cons(i) {
			break
		}
		i++
	}
	i++
	for {
		for {
			if i > p.j {
				return n
			}
			if p.cons(i) {
				break
			}
			i++
		}
		i++
		n++
		for {
			if i > p.j {
				return n
			}
			if !p.cons(i) {
				break
			}
			i++
		}
		i++
	}
}

// vowelInStem reports whether b[0..j] has a vowel.
func (p *porter) vowelInStem() bool {
	for i := 0; i <= p.j; i++ {
		if !p.cons(i) {
			return true
		}
	}
	return false
}

// doubleC reports whether b[j-1..j] is a double consonant.
func (p *porter) doubleC(j int) bool {
	return j >= 1 && p.b[j] == p.b[j-1] && p.cons(j)
}

// cvc reports whether b[i-2..i] is consonant-vowel-consonant with the
// last not w, x or y: the condition for restoring an e (hop(e), fil(e)).
func (p *porter) cvc(i int) bool {
	if i < 2 || !p.cons(i) || p.cons(i-1) || !p.cons(i-2) {
		return false
	}
	switch p.b[i] {
	case 'w', 'x', 'y':
		return false
	}
	return true
}

// ends reports whether b[0..k] ends with s, setting j to the offset
// before the suffix.
func (p *porter) ends(s string) bool {
	l := len(s)
	if l > p.k+1 || p.b[p.k] != s[l-1] {
		return false
	}
	if string(p.b[p.k-l+1:p.k+1]) != s {
		return false
	}
	p.j = p.k - l
	return true
}

// setTo replaces b[j+1..k] with s.
func (p *porter) setTo(s string) {
	p.b = append(p.b[:p.j+1], s...)
	p.k = p.j + len(s)
}

// r replaces the suffix with s when the stem has m() > 0.
func (p *porter) r(s string) {
	if p.m() > 0 {
		p.setTo(s)
	}
}

// step1ab removes plurals and -ed or -ing.
func (p *porter) step1ab() {
	if p.b[p.k] == 's' {
		switch {
		case p.ends("sses"):
			p.k -= 2
		case p.ends("ies"):
			p.setTo("i")
		case p.b[p.k-1] != 's':
			p.k--
		}
	}
	if p.ends("eed") {
		if p.m() > 0 {
			p.k--
		}
	} else if (p.ends("ed") || p.ends("ing")) && p.vowelInStem() {
		p.k = p.j
		switch {
		case p.ends("at"):
			p.setTo("ate")
		case p.ends("bl"):
			p.setTo("ble")
		case p.ends("iz"):
			p.setTo("ize")
		case p.doubleC(p.k):
			p.k--
			switch p.b[p.k] {
			case 'l', 's', 'z':
				p.k++
			}
		default:
			p.j = p.k
			if p.m() == 1 && p.cvc(p.k) {
				p.setTo("e")
			}
		}
	}
	p.b = p.b[:p.k+1]
}

// step1c turns a terminal y into i when there is another vowel.
func (p *porter) step1c() {
	if p.ends("y") && p.vowelInStem() {
		p.b[p.k] = 'i'
	}
}

// suffixRule maps a suffix to its replacement.
type suffixRule struct{ from, to string }

// step2Rules and step3Rules are keyed by the penultimate (step 2) or
// last (step 3) letter, as in the reference implementation, and tried
// in order; the first suffix that matches ends the step.
var step2Rules = map[byte][]suffixRule{
	'a': {{"ational", "ate"}, {"tional", "tion"}},
	'c': {{"enci", "ence"}, {"anci", "ance"}},
	'e': {{"izer", "ize"}},
	'l': {{"bli", "ble"}, {"alli", "al"}, {"entli", "ent"}, {"eli", "e"}, {"ousli", "ous"}},
	'o': {{"ization", "ize"}, {"ation", "ate"}, {"ator", "ate"}},
	's': {{"alism", "al"}, {"iveness", "ive"}, {"fulness", "ful"}, {"ousness", "ous"}},
	't': {{"aliti", "al"}, {"iviti", "ive"}, {"biliti", "ble"}},
	'g': {{"logi", "log"}},
}

var step3Rules = map[byte][]suffixRule{
	'e': {{"icate", "ic"}, {"ative", ""}, {"alize", "al"}},
	'i': {{"iciti", "ic"}},
	'l': {{"ical", "ic"}, {"ful", ""}},
	's': {{"ness", ""}},
}

func (p *porter) applyRules(rules []suffixRule) {
	for _, r := range rules {
		if p.ends(r.from) {
			p.r(r.to)
			return
		}
	}
}

// step2 maps double suffixes to single ones (-ization to -ize).
func (p *porter) step2() {
	if p.k < 1 {
		return
	}
	p.applyRules(step2Rules[p.b[p.k-1]])
}

// step3 handles -ic-, -full, -ness and the like.
func (p *porter) step3() { p.applyRules(step3Rules[p.b[p.k]]) }

var step4Suffixes = map[byte][]string{
	'a': {"al"},
	'c': {"ance", "ence"},
	'e': {"er"},
	'i': {"ic"},
	'l': {"able", "ible"},
	'n': {"ant", "ement", "ment", "ent"},
	's': {"ism"},
	't': {"ate", "iti"},
	'u': {"ous"},
	'v': {"ive"},
	'z': {"ize"},
}

// step4 removes -ant, -ence and the like when the stem has m() > 1.
func (p *porter) step4() {
	if p.k < 1 {
		return
	}
	matched := false
	if p.b[p.k-1] == 'o' {
		// -ion only after s or t; otherwise -ou.
		if p.ends("ion") && p.j >= 0 && (p.b[p.j] == 's' || p.b[p.j] == 't') {
			matched = true
		} else if p.ends("ou") {
			matched = true
		}
	} else {
		for _, s := range step4Suffixes[p.b[p.k-1]] {
			if p.ends(s) {
				matched = true
				break
			}
		}
	}
	if matched && p.m() > 1 {
		p.k = p.j
	}
}

// step5 removes a final -e when m() > 1 (or m() == 1 and not *o), and
// -ll to -l when m() > 1.
func (p *porter) step5() {
	p.j = p.k
	if p.b[p.k] == 'e' {
		a := p.m()
		if a > 1 || a == 1 && !p.cvc(p.k-1) {
			p.k--
		}
	}
	if p.b[p.k] == 'l' && p.doubleC(p.k) {
		p.j = p.k
		if p.m() > 1 {
			p.k--
		}
	}
}
