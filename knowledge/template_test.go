package knowledge_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/parley-chat/parley/knowledge"
)

func TestRender(t *testing.T) {
	vars := map[string]string{"order_id": "123456", "email": "ann@example.com", "PERSON": "Ann", "empty": ""}
	tests := []struct {
		answer  string
		want    string
		missing []string // want a *MissingValueError with these names
		bad     bool     // want a *TemplateError
	}{
		{answer: "No placeholders.", want: "No placeholders."},
		{answer: "Order {order_id} ships today.", want: "Order 123456 ships today."},
		{answer: "{PERSON}, order {order_id}: https://shop.example/track/{order_id}", want: "Ann, order 123456: https://shop.example/track/123456"},
		{answer: "{order_id}", want: "123456"},
		{answer: "Literal {{braces}} and {{order_id}}.", want: "Literal {braces} and {order_id}."},
		{answer: "{{{order_id}}}", want: "{123456}"},
		{answer: "}}{{", want: "}{"},
		{answer: "Missing {date} and {phone}, then {date} again.", missing: []string{"date", "phone"}},
		{answer: "An empty value counts as missing: {empty}.", missing: []string{"empty"}},
		{answer: "Mixed {order_id} {slot_1}.", missing: []string{"slot_1"}},
		{answer: "Unclosed {order_id", bad: true},
		{answer: "Lone } brace", bad: true},
		{answer: "Empty {} placeholder", bad: true},
		{answer: "Space {order id}", bad: true},
		{answer: "Digit first {1st}", bad: true},
		{answer: "Too long {" + strings.Repeat("a", knowledge.MaxPlaceholderBytes+1) + "}", bad: true},
	}
	for _, tt := range tests {
		a := knowledge.Article{ID: "x", Answer: tt.answer}
		got, err := a.Render(vars)
		var me *knowledge.MissingValueError
		var te *knowledge.TemplateError
		switch {
		case tt.missing != nil:
			if !errors.As(err, &me) || !slices.Equal(me.Names, tt.missing) || me.Article != "x" {
				t.Errorf("Render(%q) = %q, %v; want a MissingValueError for %v", tt.answer, got, err, tt.missing)
			} else {
				for _, n := range tt.missing {
					if !strings.Contains(err.Error(), "{"+n+"}") {
						t.Errorf("Render(%q): error %q does not name {%s}", tt.answer, err, n)
					}
				}
			}
		case tt.bad:
			if !errors.As(err, &te) {
				t.Errorf("Render(%q) = %q, %v; want a TemplateError", tt.answer, got, err)
			}
		case err != nil || got != tt.want:
			t.Errorf("Render(%q) = %q, %v; want %q", tt.answer, got, err, tt.want)
		}
	}
}

func TestPlaceholders(t *testing.T) {
	tests := []struct {
		answer string
		want   []string
	}{
		{"none", nil},
		{"{order_id} and {email}, {order_id} again", []string{"order_id", "email"}},
		{"{{escaped}} {GPE}", []string{"GPE"}},
		{"{a} then broken {", []string{"a"}}, // what came before the problem
	}
	for _, tt := range tests {
		if got := (knowledge.Article{Answer: tt.answer}).Placeholders(); !slices.Equal(got, tt.want) {
			t.Errorf("Placeholders(%q) = %v, want %v", tt.answer, got, tt.want)
		}
	}
}
