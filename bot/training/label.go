package training

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/intents"
)

// ErrUnknownIntent is wrapped by *UnknownIntentError.
var ErrUnknownIntent = errors.New("unknown intent")

// UnknownIntentError is a label naming an intent the model does not
// know. Nothing was stored; set LabelRequest.NewIntent (ImportOptions.
// NewIntents) to create the intent on purpose.
type UnknownIntentError struct {
	Intent string
	// Suggestions are the closest known intents, closest first.
	Suggestions []string
	// Where locates the label in an import ("file.csv:12"); "" otherwise.
	Where string
}

func (e *UnknownIntentError) Error() string {
	var b strings.Builder
	if e.Where != "" {
		b.WriteString(e.Where + ": ")
	}
	fmt.Fprintf(&b, "unknown intent %q", e.Intent)
	if len(e.Suggestions) > 0 {
		fmt.Fprintf(&b, " (closest known: %s)", strings.Join(e.Suggestions, ", "))
	}
	return b.String()
}

func (e *UnknownIntentError) Unwrap() error { return ErrUnknownIntent }

// intentNameRE is what a new intent may be called: the style of the
// built-in ones (order_status), so names cannot differ by case or
// spacing alone.
var intentNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// CheckIntentName validates the name of a new intent.
func CheckIntentName(name string) error {
	if !intentNameRE.MatchString(name) {
		return fmt.Errorf("%w: intent name %q: want lower-case letters, digits and underscores, starting with a letter, at most 64 bytes (like order_status)", crm.ErrInvalid, name)
	}
	return nil
}

// KnownIntents returns the intents a label may name without creating
// one, sorted: the base training data's labels, the intents of the
// labels stored so far, and intents.OOS.
func (w *Workbench) KnownIntents(ctx context.Context) ([]string, error) {
	labels, err := w.store.Labels(ctx)
	if err != nil {
		return nil, fmt.Errorf("known intents: %w", err)
	}
	return w.knownIntents(labels), nil
}

func (w *Workbench) knownIntents(labels []crm.Label) []string {
	known := append(w.data.Train.Labels(), intents.OOS)
	for _, l := range labels {
		known = append(known, l.Intent)
	}
	slices.Sort(known)
	return slices.Compact(known)
}

// LabelRequest is an analyst's verdict on messages or an utterance.
type LabelRequest struct {
	// MessageIDs are the labelled messages (an inbox group's, say); when
	// empty, Text is an utterance added by hand.
	MessageIDs []int64
	Text       string
	// Intent is the right intent, intents.OOS for out of scope.
	Intent string
	// StaffID is who labels; it must be a staff user.
	StaffID int64
	// NewIntent allows an intent that is not known yet: the label
	// creates it.
	NewIntent bool
}

// Label stores one crm.Label per message (or one for Text), recording
// who labelled and when. The intent must be known (KnownIntents) unless
// NewIntent is set, and then must be a valid name; otherwise the error
// is an *UnknownIntentError and nothing is stored. The staff user must
// exist. Labels are stored in order; should the store fail on one (a
// message id that does not exist, say), the error names it and the
// labels stored before it, which are valid labels of real messages.
func (w *Workbench) Label(ctx context.Context, req LabelRequest) ([]crm.Label, error) {
	intent := strings.TrimSpace(req.Intent)
	if intent == "" {
		return nil, fmt.Errorf("label: %w: no intent", crm.ErrInvalid)
	}
	if req.StaffID <= 0 {
		return nil, fmt.Errorf("label: %w: no staff user (who is labelling?)", crm.ErrInvalid)
	}
	text := strings.TrimSpace(req.Text)
	if len(req.MessageIDs) == 0 && text == "" {
		return nil, fmt.Errorf("label: %w: no messages and no text", crm.ErrInvalid)
	}
	if len(req.MessageIDs) > 0 && text != "" {
		return nil, fmt.Errorf("label: %w: give messages or a text, not both", crm.ErrInvalid)
	}
	ids := slices.Clone(req.MessageIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) > 0 && ids[0] <= 0 {
		return nil, fmt.Errorf("label: %w: message id %d", crm.ErrInvalid, ids[0])
	}
	if _, err := w.store.Staff(ctx, req.StaffID); err != nil {
		return nil, fmt.Errorf("label: staff %d: %w", req.StaffID, err)
	}
	labels, err := w.store.Labels(ctx)
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	known := w.knownIntents(labels)
	if err := w.checkIntent(intent, known, req.NewIntent, ""); err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	var todo []crm.Label
	if len(ids) == 0 {
		todo = append(todo, crm.Label{Text: text, Intent: intent, StaffID: req.StaffID})
	}
	for _, id := range ids {
		todo = append(todo, crm.Label{MessageID: id, Intent: intent, StaffID: req.StaffID})
	}
	for _, l := range todo {
		if err := l.Validate(); err != nil {
			return nil, fmt.Errorf("label: %w", err)
		}
	}
	out := make([]crm.Label, 0, len(todo))
	for _, l := range todo {
		stored, err := w.store.AddLabel(ctx, l)
		if err != nil {
			what := "text"
			if l.MessageID != 0 {
				what = fmt.Sprintf("message %d", l.MessageID)
			}
			if len(out) > 0 {
				return out, fmt.Errorf("label %s: %w (labels %s were stored)", what, err, labelIDs(out))
			}
			return nil, fmt.Errorf("label %s: %w", what, err)
		}
		out = append(out, stored)
	}
	w.log.Info("labelled", "labels", len(out), "intent", intent, "staff", req.StaffID, "new_intent", !slices.Contains(known, intent))
	return out, nil
}

func labelIDs(ls []crm.Label) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = fmt.Sprint(l.ID)
	}
	return strings.Join(s, ", ")
}

// checkIntent accepts a known intent, or a new one when allowed.
func (w *Workbench) checkIntent(intent string, known []string, allowNew bool, where string) error {
	if slices.Contains(known, intent) {
		return nil
	}
	if !allowNew {
		return &UnknownIntentError{Intent: intent, Suggestions: closest(intent, known, 3), Where: where}
	}
	if err := CheckIntentName(intent); err != nil {
		if where != "" {
			return fmt.Errorf("%s: %w", where, err)
		}
		return err
	}
	return nil
}

// closest returns up to n known intents nearest to intent: by edit
// distance on the folded names, and intents sharing a word of it
// ("status" finds order_status, refund_status) before unrelated ones.
func closest(intent string, known []string, n int) []string {
	q := strings.ToLower(strings.TrimSpace(intent))
	qWords := strings.FieldsFunc(q, func(r rune) bool { return r == '_' || r == ' ' || r == '-' })
	type scored struct {
		name  string
		share bool
		dist  int
	}
	var cands []scored
	for _, k := range known {
		if k == intents.OOS {
			continue
		}
		share := false
		for _, w := range strings.Split(k, "_") {
			if slices.Contains(qWords, w) {
				share = true
			}
		}
		d := levenshtein(q, k)
		// Far-off names with nothing in common are no suggestion.
		if !share && d > max(2, len(q)/2) {
			continue
		}
		cands = append(cands, scored{k, share, d})
	}
	slices.SortFunc(cands, func(a, b scored) int {
		// A close spelling beats a shared word; then shared words; then distance.
		aClose, bClose := a.dist <= 2, b.dist <= 2
		if aClose != bClose {
			if aClose {
				return -1
			}
			return 1
		}
		if a.share != b.share {
			if a.share {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.dist, b.dist), strings.Compare(a.name, b.name))
	})
	out := make([]string, 0, n)
	for _, c := range cands[:min(n, len(cands))] {
		out = append(out, c.name)
	}
	return out
}

// levenshtein is the edit distance between a and b, in runes.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			sub := prev[j-1]
			if ra[i-1] != rb[j-1] {
				sub++
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, sub)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
